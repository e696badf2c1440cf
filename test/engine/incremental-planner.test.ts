// Properties of the planner kept between rounds: after any sequence of items added, changed and
// removed, its plan is complete and balanced like a plan from scratch, each delta says exactly what
// changed, and without selectors it moves nothing balance does not require.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { IncrementalPlanner } from '../../src/engine/incremental-planner.js';
import type { PlanItem } from '../../src/engine/planner.js';
import { assertBalanced, assertComplete, assertNoNeedlessMoves, caseArb, zone, type Case } from '../helpers/plan-checks.js';

type Op = { kind: 'add'; weight: number; selector: Record<string, string> } | { kind: 'remove'; pick: number } | { kind: 'change'; pick: number; weight: number; selector: Record<string, string> };

const opsArb = (o: { labels: boolean; weights: boolean }) =>
  fc.array(
    fc.oneof(
      fc.record({ kind: fc.constant('add' as const), weight: o.weights ? fc.integer({ min: 1, max: 3 }) : fc.constant(1), selector: o.labels ? fc.oneof(fc.constant({}), fc.record({ zone })) : fc.constant({}) }),
      fc.record({ kind: fc.constant('remove' as const), pick: fc.nat() }),
      fc.record({ kind: fc.constant('change' as const), pick: fc.nat(), weight: o.weights ? fc.integer({ min: 1, max: 3 }) : fc.constant(1), selector: o.labels ? fc.oneof(fc.constant({}), fc.record({ zone })) : fc.constant({}) }),
    ),
    { maxLength: 25 },
  );

/** Runs `ops` (each as one update of 1–3 changes) and checks every step with `check(before, after)`. */
function walk(c: Case, ops: Op[], check: (step: Case, plan: { assignments: Map<string, string>; unassignable: string[]; moved: string[]; placed: string[] }) => void): void {
  const planner = new IncrementalPlanner();
  const first = planner.reset(c.workers, c.items, c.current);
  const items = new Map(c.items.map((i) => [i.id, i]));
  const mirror = new Map(first.assignments);
  let next = c.items.length;
  for (let at = 0; at < ops.length; ) {
    const group = ops.slice(at, at + 1 + (at % 3));
    at += group.length;
    const upserts: PlanItem[] = [];
    const removals: string[] = [];
    const ids = () => [...items.keys()].filter((id) => !removals.includes(id) && !upserts.some((u) => u.id === id));
    for (const op of group) {
      if (op.kind === 'add') upserts.push({ id: `new-${next++}`, weight: op.weight, selector: op.selector });
      else {
        const pool = ids();
        if (pool.length === 0) continue;
        const id = pool[op.pick % pool.length];
        if (op.kind === 'remove') removals.push(id);
        else upserts.push({ id, weight: op.weight, selector: op.selector });
      }
    }
    const before = new Map(mirror);
    const delta = planner.update(upserts, removals);
    for (const id of removals) items.delete(id);
    for (const u of upserts) items.set(u.id, u);
    // The delta, applied to what was, gives exactly the planner's plan.
    for (const id of delta.unassign) mirror.delete(id);
    for (const [id, w] of delta.assign) mirror.set(id, w);
    for (const id of removals) assert.ok(!mirror.has(id), `${id} was removed but keeps a worker`);
    for (const id of items.keys()) assert.equal(mirror.get(id), planner.assignment(id), `the delta disagrees with the plan about ${id}`);
    assert.deepEqual([...delta.moved].sort(), [...delta.assign.keys()].filter((id) => before.has(id)).sort());
    const step: Case = { workers: c.workers, items: [...items.values()], current: before };
    check(step, { assignments: mirror, unassignable: planner.unassignableIds(), moved: delta.moved, placed: delta.placed });
  }
}

const runs = Number(process.env.PLANNER_RUNS ?? 1000);

describe('incremental planner properties', () => {
  it('after any adds, changes and removals: every runnable item on one eligible worker, balanced', () => {
    fc.assert(
      fc.property(caseArb({ capacities: true, labels: true, weights: true }), opsArb({ labels: true, weights: true }), (c, ops) => {
        walk(c, ops, (step, plan) => {
          assertComplete(step, plan);
          assertBalanced(step, plan);
        });
      }),
      { numRuns: runs },
    );
  });

  it('without selectors, each round moves only what balance requires (any capacities)', () => {
    fc.assert(
      fc.property(caseArb({ capacities: true, labels: false, weights: false }), opsArb({ labels: false, weights: false }), (c, ops) => {
        walk(c, ops, (step, plan) => {
          assertComplete(step, plan);
          assertBalanced(step, plan);
          assertNoNeedlessMoves(step, plan);
        });
      }),
      { numRuns: runs },
    );
  });

  it('equal capacities: one item added moves nothing else, one removed moves at most one', () => {
    fc.assert(
      fc.property(caseArb({ capacities: false, labels: false, weights: false }), fc.boolean(), fc.nat(), (c, add, pick) => {
        const planner = new IncrementalPlanner();
        planner.reset(c.workers, c.items, c.current);
        if (add || c.items.length === 0) {
          const delta = planner.update([{ id: 'extra', weight: 1, selector: {} }], []);
          assert.deepEqual(delta.moved, [], 'an added item moves nothing else');
        } else {
          const delta = planner.update([], [c.items[pick % c.items.length].id]);
          assert.ok(delta.moved.length <= 1, `a removal moved ${delta.moved.length}`);
        }
      }),
      { numRuns: runs },
    );
  });

  it('workers joining and leaving: complete, balanced, and (without selectors) only a leaver\'s items and a joiner\'s share move', () => {
    const workerOps = fc.array(fc.oneof(fc.record({ join: fc.constant(true as const), capacity: fc.integer({ min: 1, max: 3 }) }), fc.record({ join: fc.constant(false as const), pick: fc.nat() })), { minLength: 1, maxLength: 8 });
    const check = (labels: boolean) =>
      fc.property(caseArb({ capacities: true, labels, weights: labels }), workerOps, (c, ops) => {
        const planner = new IncrementalPlanner();
        const mirror = new Map(planner.reset(c.workers, c.items, c.current).assignments);
        let workers = c.workers;
        let next = 0;
        for (const op of ops) {
          if (op.join) workers = [...workers, { id: `joiner-${next++}`, capacity: op.capacity, labels: labels ? { zone: ['a', 'b', 'c'][next % 3] } : {}, draining: false }];
          else if (workers.length > 1) workers = workers.filter((_, i) => i !== op.pick % workers.length);
          const before = new Map(mirror);
          const delta = planner.updateWorkers(workers);
          assert.ok(delta, 'joins and leaves are followed without a plan from scratch');
          assert.equal(planner.planned(workers), true);
          for (const id of delta.unassign) mirror.delete(id);
          for (const [id, w] of delta.assign) mirror.set(id, w);
          for (const item of c.items) assert.equal(mirror.get(item.id), planner.assignment(item.id), `the delta disagrees with the plan about ${item.id}`);
          const step: Case = { workers, items: c.items, current: before };
          const plan = { assignments: mirror, unassignable: planner.unassignableIds(), moved: delta.moved, placed: delta.placed };
          assertComplete(step, plan);
          assertBalanced(step, plan);
          if (!labels) assertNoNeedlessMoves(step, plan);
        }
      });
    fc.assert(check(false), { numRuns: runs });
    fc.assert(check(true), { numRuns: runs });
  });

  it('a change of a worker\'s capacity, labels or draining is left to a plan from scratch', () => {
    const planner = new IncrementalPlanner();
    const workers = [{ id: 'w1', capacity: 1, labels: {}, draining: false }, { id: 'w2', capacity: 1, labels: {}, draining: false }];
    planner.reset(workers, [{ id: 'a', weight: 1, selector: {} }], new Map());
    assert.equal(planner.updateWorkers([{ ...workers[0], capacity: 2 }, workers[1]]), undefined);
    assert.equal(planner.updateWorkers([{ ...workers[0], draining: true }, workers[1]]), undefined);
    assert.equal(planner.updateWorkers([{ ...workers[0], labels: { zone: 'a' } }, workers[1]]), undefined);
  });

  it('knows when the fleet changed: a plan is only kept for the workers it was made for', () => {
    const planner = new IncrementalPlanner();
    const workers = [{ id: 'w1', capacity: 1, labels: {}, draining: false }];
    assert.equal(planner.planned(workers), false);
    planner.reset(workers, [{ id: 'a', weight: 1, selector: {} }], new Map());
    assert.equal(planner.planned([{ ...workers[0] }]), true);
    assert.equal(planner.planned([{ ...workers[0], capacity: 2 }]), false);
    assert.equal(planner.planned([{ ...workers[0], draining: true }]), false);
    assert.equal(planner.planned([...workers, { id: 'w2', capacity: 1, labels: {}, draining: false }]), false);
  });
});
