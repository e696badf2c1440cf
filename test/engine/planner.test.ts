// Properties of the planner over thousands of random fleets, items and current assignments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { selects } from '../../src/engine/model.js';
import { planAssignments, type PlanItem, type PlanWorker } from '../../src/engine/planner.js';

interface Case {
  workers: PlanWorker[];
  items: PlanItem[];
  current: Map<string, string>;
}

const zone = fc.constantFrom('a', 'b', 'c');
const workerArb = (opts: { capacities: boolean; labels: boolean }) =>
  fc.record({
    capacity: opts.capacities ? fc.integer({ min: 1, max: 4 }) : fc.constant(1),
    labels: opts.labels ? fc.record({ zone }, { requiredKeys: [] }) : fc.constant({}),
    draining: fc.boolean().map((b) => b && Math.random() < 0.3),
  });

function caseArb(opts: { capacities: boolean; labels: boolean; weights: boolean }): fc.Arbitrary<Case> {
  return fc
    .record({
      workers: fc.array(workerArb(opts), { maxLength: 8 }),
      items: fc.array(
        fc.record({
          weight: opts.weights ? fc.integer({ min: 1, max: 3 }) : fc.constant(1),
          selector: opts.labels ? fc.oneof(fc.constant({}), fc.record({ zone })) : fc.constant({}),
        }),
        { maxLength: 60 },
      ),
      owners: fc.array(fc.integer({ min: -2, max: 9 }), { maxLength: 60 }),
    })
    .map(({ workers, items, owners }) => {
      const ws = workers.map((w, i) => ({ ...w, id: `w${i}` }));
      const is = items.map((it, i) => ({ ...it, id: `item-${String(i).padStart(3, '0')}` }));
      const current = new Map<string, string>();
      is.forEach((it, i) => {
        const o = owners[i] ?? -1;
        if (o >= 0) current.set(it.id, `w${o}`); // w8, w9 may not exist: a dead worker
      });
      return { workers: ws, items: is, current };
    });
}

const eligible = (w: PlanWorker, item: PlanItem) => !w.draining && w.capacity > 0 && selects(item.selector, w.labels);

function loads(c: Case, assignments: Map<string, string>): Map<string, number> {
  const l = new Map(c.workers.map((w) => [w.id, 0]));
  const weight = new Map(c.items.map((i) => [i.id, i.weight]));
  for (const [item, w] of assignments) l.set(w, l.get(w)! + weight.get(item)!);
  return l;
}

/** Every item with an eligible worker has exactly one, eligible; the others are reported. */
function assertComplete(c: Case, plan: ReturnType<typeof planAssignments>): void {
  const byId = new Map(c.workers.map((w) => [w.id, w]));
  for (const item of c.items) {
    const canRun = c.workers.some((w) => eligible(w, item));
    const to = plan.assignments.get(item.id);
    if (!canRun) {
      assert.equal(to, undefined, `${item.id} has no eligible worker but got ${to}`);
      assert.ok(plan.unassignable.includes(item.id));
      continue;
    }
    assert.ok(to, `${item.id} is not assigned`);
    assert.ok(eligible(byId.get(to)!, item), `${item.id} went to ${to}, which may not run it`);
  }
  assert.equal(plan.assignments.size + plan.unassignable.length, c.items.length);
}

/** No single move of one item to another eligible worker lowers the relative load it leaves. */
function assertBalanced(c: Case, plan: ReturnType<typeof planAssignments>): void {
  const l = loads(c, plan.assignments);
  const byId = new Map(c.workers.map((w) => [w.id, w]));
  for (const item of c.items) {
    const from = plan.assignments.get(item.id);
    if (!from) continue;
    const a = byId.get(from)!;
    for (const b of c.workers) {
      if (b.id === from || !eligible(b, item)) continue;
      const improves = (l.get(b.id)! + item.weight) * a.capacity < l.get(from)! * b.capacity;
      assert.ok(!improves, `moving ${item.id} (w${item.weight}) from ${from} (${l.get(from)}/${a.capacity}) to ${b.id} (${l.get(b.id)}/${b.capacity}) would improve balance`);
    }
  }
}

/** Moves made = Σ max(0, kept-able load - final load) + items without a valid worker. */
function assertNoNeedlessMoves(c: Case, plan: ReturnType<typeof planAssignments>): void {
  const byId = new Map(c.workers.map((w) => [w.id, w]));
  const validBefore = new Map<string, number>();
  let unplaced = 0;
  for (const item of c.items) {
    if (!plan.assignments.has(item.id)) continue;
    const w = byId.get(c.current.get(item.id) ?? '');
    if (w && eligible(w, item)) validBefore.set(w.id, (validBefore.get(w.id) ?? 0) + 1);
    else unplaced++;
  }
  const after = loads(c, plan.assignments);
  let minimum = unplaced;
  for (const [w, n] of validBefore) minimum += Math.max(0, n - after.get(w)!);
  const changed = [...plan.assignments].filter(([id, w]) => c.current.get(id) !== w).length;
  assert.equal(changed, minimum, `made ${changed} moves where ${minimum} are needed`);
  assert.equal(plan.moved.length + plan.placed.length, changed);
}

describe('planner properties', () => {
  it('assigns every runnable item to exactly one eligible worker, balanced, draining workers get nothing', () => {
    fc.assert(
      fc.property(caseArb({ capacities: true, labels: true, weights: true }), (c) => {
        const plan = planAssignments(c.workers, c.items, c.current);
        assertComplete(c, plan);
        assertBalanced(c, plan);
        const draining = new Set(c.workers.filter((w) => w.draining).map((w) => w.id));
        for (const w of plan.assignments.values()) assert.ok(!draining.has(w), `draining ${w} got an item`);
      }),
      { numRuns: Number(process.env.PLANNER_RUNS ?? 3000) },
    );
  });

  it('is deterministic: the same fleet and items in any order give the same plan', () => {
    fc.assert(
      fc.property(caseArb({ capacities: true, labels: true, weights: true }), fc.integer(), (c, seed) => {
        const shuffle = <T>(xs: T[]) => xs.map((x, i) => ({ x, k: Math.sin(seed + i) })).sort((a, b) => a.k - b.k).map((e) => e.x);
        const a = planAssignments(c.workers, c.items, c.current);
        const b = planAssignments(shuffle(c.workers), shuffle(c.items), new Map(shuffle([...c.current])));
        assert.deepEqual([...b.assignments].sort(), [...a.assignments].sort());
      }),
      { numRuns: Number(process.env.PLANNER_RUNS ?? 2000) },
    );
  });

  it('is sticky: planning again from its own plan moves nothing', () => {
    fc.assert(
      fc.property(caseArb({ capacities: true, labels: true, weights: true }), (c) => {
        const first = planAssignments(c.workers, c.items, c.current);
        const again = planAssignments(c.workers, c.items, first.assignments);
        assert.deepEqual(again.moved, []);
        assert.deepEqual(again.placed, []);
        assert.deepEqual([...again.assignments].sort(), [...first.assignments].sort());
      }),
      { numRuns: Number(process.env.PLANNER_RUNS ?? 2000) },
    );
  });

  it('without selectors, moves only what balance requires (any capacities)', () => {
    fc.assert(
      fc.property(caseArb({ capacities: true, labels: false, weights: false }), (c) => {
        const plan = planAssignments(c.workers, c.items, c.current);
        assertComplete(c, plan);
        assertBalanced(c, plan);
        assertNoNeedlessMoves(c, plan);
      }),
      { numRuns: Number(process.env.PLANNER_RUNS ?? 3000) },
    );
  });

  it('with equal capacities, moves the minimum: the fuller workers keep the extra items', () => {
    fc.assert(
      fc.property(caseArb({ capacities: false, labels: false, weights: false }), (c) => {
        const plan = planAssignments(c.workers, c.items, c.current);
        const live = c.workers.filter((w) => !w.draining);
        if (live.length === 0) return;
        // The optimum, computed independently: floor/ceil quotas, ceilings to the fullest workers.
        const before = live.map((w) => [...c.current].filter(([, o]) => o === w.id).length).sort((a, b) => b - a);
        const total = c.items.length;
        const base = Math.floor(total / live.length);
        const extra = total % live.length;
        const kept = before.reduce((sum, n, i) => sum + Math.min(n, base + (i < extra ? 1 : 0)), 0);
        const changed = [...plan.assignments].filter(([id, w]) => c.current.get(id) !== w).length;
        assert.equal(changed, total - kept);
      }),
      { numRuns: Number(process.env.PLANNER_RUNS ?? 3000) },
    );
  });

  it('the etcd allocator walkthrough: 4 items on one worker, two join, 2/1/1 with 2 moves', () => {
    const items = ['a', 'b', 'c', 'd'].map((id) => ({ id, weight: 1, selector: {} }));
    const one = [{ id: 'w1', capacity: 1, labels: {}, draining: false }];
    const first = planAssignments(one, items, new Map());
    assert.deepEqual(first.placed, ['a', 'b', 'c', 'd']);
    const three = [...one, { id: 'w2', capacity: 1, labels: {}, draining: false }, { id: 'w3', capacity: 1, labels: {}, draining: false }];
    const second = planAssignments(three, items, first.assignments);
    assert.equal(second.moved.length, 2);
    assert.deepEqual([...loads({ workers: three, items, current: new Map() }, second.assignments).values()].sort(), [1, 1, 2]);
  });
});
