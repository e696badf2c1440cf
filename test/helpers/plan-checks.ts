// Properties every plan must have, shared by the planner's tests: random fleets, items and current
// assignments, and checks of completeness, balance and needless moves against the definitions.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import { selects } from '../../src/engine/model.js';
import type { PlanItem, PlanWorker } from '../../src/engine/planner.js';

/** What a plan is checked against: its assignments and the items no worker may run. */
export interface PlanLike {
  assignments: ReadonlyMap<string, string>;
  unassignable: string[];
  moved?: string[];
  placed?: string[];
}

export interface Case {
  workers: PlanWorker[];
  items: PlanItem[];
  current: Map<string, string>;
}

export const zone = fc.constantFrom('a', 'b', 'c');
const workerArb = (opts: { capacities: boolean; labels: boolean }) =>
  fc.record({
    capacity: opts.capacities ? fc.integer({ min: 1, max: 4 }) : fc.constant(1),
    labels: opts.labels ? fc.record({ zone }, { requiredKeys: [] }) : fc.constant({}),
    draining: fc.boolean().map((b) => b && Math.random() < 0.3),
  });

export function caseArb(opts: { capacities: boolean; labels: boolean; weights: boolean }): fc.Arbitrary<Case> {
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

export const eligible = (w: PlanWorker, item: PlanItem) => !w.draining && w.capacity > 0 && selects(item.selector, w.labels);

export function loads(c: Case, assignments: ReadonlyMap<string, string>): Map<string, number> {
  const l = new Map(c.workers.map((w) => [w.id, 0]));
  const weight = new Map(c.items.map((i) => [i.id, i.weight]));
  for (const [item, w] of assignments) l.set(w, l.get(w)! + weight.get(item)!);
  return l;
}

/** Every item with an eligible worker has exactly one, eligible; the others are reported. */
export function assertComplete(c: Case, plan: PlanLike): void {
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

/**
 * No single move of one item to another eligible worker improves the plan: its excess over its quota
 * (load − λ·capacity, λ = placed load ÷ live capacity) would stay below the excess of the worker it
 * leaves (see src/engine/balance.ts); and without selectors every worker is within one item
 * (of the heaviest weight) of its quota.
 */
export function assertBalanced(c: Case, plan: PlanLike): void {
  const l = loads(c, plan.assignments);
  const byId = new Map(c.workers.map((w) => [w.id, w]));
  const live = c.workers.filter((w) => !w.draining && w.capacity > 0);
  const placed = [...l.values()].reduce((a, b) => a + b, 0);
  const lambda = placed / Math.max(1, live.reduce((n, w) => n + w.capacity, 0));
  const excess = (w: PlanWorker) => l.get(w.id)! - lambda * w.capacity;
  for (const item of c.items) {
    const from = plan.assignments.get(item.id);
    if (!from) continue;
    const a = byId.get(from)!;
    for (const b of c.workers) {
      if (b.id === from || !eligible(b, item)) continue;
      const improves = excess(b) + item.weight < excess(a) - 1e-9;
      assert.ok(!improves, `moving ${item.id} (w${item.weight}) from ${from} (${l.get(from)}/${a.capacity}) to ${b.id} (${l.get(b.id)}/${b.capacity}) would improve balance`);
    }
  }
  if (c.items.every((i) => Object.keys(i.selector).length === 0)) {
    const heaviest = Math.max(1, ...c.items.map((i) => i.weight));
    for (const w of live) assert.ok(Math.abs(excess(w)) < heaviest + 1e-9, `${w.id} holds ${l.get(w.id)}, ${excess(w).toFixed(2)} from its quota ${(lambda * w.capacity).toFixed(2)}`);
  }
}

/** Moves made = Σ max(0, kept-able load - final load) + items without a valid worker. */
export function assertNoNeedlessMoves(c: Case, plan: PlanLike): void {
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
  if (plan.moved && plan.placed) assert.equal(plan.moved.length + plan.placed.length, changed);
}
