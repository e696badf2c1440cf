// Properties of the task planner: slots never overflow, no free slot is left while a task waits
// for it, oldest first, draining workers get nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { selects } from '../../src/engine/model.js';
import { planTasks, type QueuedTask, type SlotWorker } from '../../src/engine/tasks/task-planner.js';

const browser = fc.constantFrom('chromium', 'firefox', 'webkit');
const caseArb = fc
  .record({
    workers: fc.array(fc.record({ capacity: fc.integer({ min: 0, max: 4 }), labels: fc.record({ browser }, { requiredKeys: [] }), draining: fc.boolean() }), { maxLength: 6 }),
    tasks: fc.array(fc.record({ selector: fc.oneof(fc.constant({}), fc.record({ browser })), order: fc.integer({ min: 0, max: 1000 }) }), { maxLength: 40 }),
    busy: fc.array(fc.integer({ min: 0, max: 5 }), { minLength: 6, maxLength: 6 }),
  })
  .map(({ workers, tasks, busy }) => ({
    workers: workers.map((w, i) => ({ ...w, id: `w${i}` })) as SlotWorker[],
    tasks: tasks.map((t, i) => ({ ...t, id: `t${i}` })) as QueuedTask[],
    busy: new Map(workers.map((_, i) => [`w${i}`, busy[i]])),
  }));

describe('task planner properties', () => {
  it('never overflows slots, leaves no usable slot idle, serves the oldest first, skips draining workers', () => {
    fc.assert(
      fc.property(caseArb, ({ workers, tasks, busy }) => {
        const plan = planTasks(workers, tasks, busy);
        const used = new Map(busy);
        const byId = new Map(workers.map((w) => [w.id, w]));
        for (const [task, w] of plan) {
          const worker = byId.get(w)!;
          assert.ok(!worker.draining, `draining ${w} got ${task}`);
          assert.ok(selects(tasks.find((t) => t.id === task)!.selector, worker.labels), `${task} on ineligible ${w}`);
          used.set(w, (used.get(w) ?? 0) + 1);
        }
        for (const w of workers) {
          const added = [...plan.values()].filter((x) => x === w.id).length;
          assert.ok(added === 0 || used.get(w.id)! <= w.capacity, `${w.id} over capacity`);
        }
        for (const t of tasks) {
          if (plan.has(t.id)) continue;
          // Waiting: no eligible worker has a free slot left...
          for (const w of workers) {
            if (w.draining || !selects(t.selector, w.labels)) continue;
            assert.ok((used.get(w.id) ?? 0) >= w.capacity, `${t.id} waits while ${w.id} has a free slot`);
          }
          // ...and no younger task with the same selector got one.
          for (const u of tasks) {
            if (plan.has(u.id) && JSON.stringify(u.selector) === JSON.stringify(t.selector)) {
              assert.ok(u.order < t.order || (u.order === t.order && u.id < t.id), `${u.id} ran before the older ${t.id}`);
            }
          }
        }
      }),
      { numRuns: 3000 },
    );
  });

  it('fills the least busy worker first', () => {
    const workers = [
      { id: 'a', capacity: 4, labels: {}, draining: false },
      { id: 'b', capacity: 4, labels: {}, draining: false },
    ];
    const tasks = Array.from({ length: 4 }, (_, i) => ({ id: `t${i}`, selector: {}, order: i }));
    const plan = planTasks(workers, tasks, new Map([['a', 2]]));
    assert.deepEqual([...plan.values()].sort(), ['a', 'b', 'b', 'b']);
  });

  it('sends a task that needs browser=firefox only to a worker labelled so', () => {
    const workers = [
      { id: 'a', capacity: 4, labels: { browser: 'chromium' }, draining: false },
      { id: 'b', capacity: 1, labels: { browser: 'firefox' }, draining: false },
    ];
    const tasks = [0, 1, 2].map((i) => ({ id: `ff${i}`, selector: { browser: 'firefox' }, order: i }));
    const plan = planTasks(workers, tasks, new Map());
    assert.deepEqual([...plan], [['ff0', 'b']]);
  });
});
