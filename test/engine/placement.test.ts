// Placement strategies: each group of services shares the fleet by its strategy, within one item of
// every worker's share; a worker's changed share moves only what balance asks; memory that drifts a
// little moves nothing (hysteresis).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { memoryInForce, shareOf, type Placement } from '../../src/engine/fleet/placement.js';
import { GroupedPlanner, planGrouped } from '../../src/engine/grouped-planner.js';
import type { PlanItem, PlanWorker } from '../../src/engine/planner.js';

const GIB = 2 ** 30;
const workerArb = fc.record({
  capacity: fc.integer({ min: 1, max: 8 }),
  cpus: fc.integer({ min: 1, max: 32 }),
  memoryAvailable: fc.integer({ min: 1, max: 64 }).map((g) => g * GIB),
  maxMemory: fc.option(fc.integer({ min: 1, max: 64 }).map((g) => g * GIB), { nil: undefined }),
});
const fleetArb = fc.array(workerArb, { minLength: 1, maxLength: 6 }).map((ws) => ws.map((w, i): PlanWorker => ({ id: `w${i}`, labels: {}, draining: false, ...w })));
const placementArb = fc.constantFrom<Placement>('capacity', 'nodes', 'cpu', 'memory');

/** Each worker's count of `items` against its share under `placement`: the largest gap. */
function worstGap(fleet: PlanWorker[], assignments: ReadonlyMap<string, string>, items: PlanItem[], placement: Placement): number {
  const total = fleet.reduce((n, w) => n + shareOf(placement, w), 0);
  const count = new Map<string, number>();
  for (const item of items) {
    const w = assignments.get(item.id)!;
    count.set(w, (count.get(w) ?? 0) + 1);
  }
  return Math.max(...fleet.map((w) => Math.abs((count.get(w.id) ?? 0) - (items.length * shareOf(placement, w)) / total)));
}

describe('placement strategies', () => {
  it('property: every strategy gives each worker its share of its group, within one item', () => {
    fc.assert(
      fc.property(fleetArb, fc.uniqueArray(fc.tuple(placementArb, fc.integer({ min: 0, max: 200 })), { minLength: 1, maxLength: 4, selector: ([p]) => p }), (fleet, groups) => {
        const items: PlanItem[] = groups.flatMap(([placement, n], g) => Array.from({ length: n }, (_, i) => ({ id: `g${g}-${i}`, weight: 1, selector: {}, placement })));
        const plan = planGrouped(fleet, items, new Map());
        assert.equal(plan.assignments.size, items.length);
        groups.forEach(([placement], g) => {
          const mine = items.filter((i) => i.id.startsWith(`g${g}-`));
          const gap = worstGap(fleet, plan.assignments, mine, placement);
          assert.ok(gap < 1 + 1e-9, `${placement}: a worker is ${gap.toFixed(2)} items from its share`);
        });
      }),
    );
  });

  it('nodes ignores capacity, cpu follows CPUs, memory follows available memory capped by max memory', () => {
    const fleet: PlanWorker[] = [
      { id: 'a', capacity: 5, labels: {}, draining: false, cpus: 1, memoryAvailable: 1 * GIB },
      { id: 'b', capacity: 1, labels: {}, draining: false, cpus: 2, memoryAvailable: 2 * GIB },
      { id: 'c', capacity: 1, labels: {}, draining: false, cpus: 5, memoryAvailable: 5 * GIB, maxMemory: 1 * GIB },
    ];
    const count = (placement: Placement) => {
      const items = Array.from({ length: 800 }, (_, i) => ({ id: `i${i}`, weight: 1, selector: {}, placement }));
      const plan = planGrouped(fleet, items, new Map());
      return ['a', 'b', 'c'].map((w) => [...plan.assignments.values()].filter((x) => x === w).length);
    };
    const near = (got: number[], quotas: number[]) => got.forEach((n, i) => assert.ok(Math.abs(n - quotas[i]) < 1, `${got} against ${quotas}`));
    near(count('capacity'), [800 * (5 / 7), 800 / 7, 800 / 7]);
    near(count('nodes'), [800 / 3, 800 / 3, 800 / 3]);
    assert.deepEqual(count('cpu'), [100, 200, 500]);
    assert.deepEqual(count('memory'), [200, 400, 200]);
  });

  it('property: a worker whose share changes moves only what balance asks, in its group alone', () => {
    fc.assert(
      fc.property(fleetArb, fc.integer({ min: 0, max: 300 }), fc.integer({ min: 1, max: 32 }), (fleet, n, cpus) => {
        const items: PlanItem[] = [
          ...Array.from({ length: n }, (_, i) => ({ id: `c${i}`, weight: 1, selector: {}, placement: 'cpu' as const })),
          ...Array.from({ length: n }, (_, i) => ({ id: `n${i}`, weight: 1, selector: {}, placement: 'nodes' as const })),
        ];
        const planner = new GroupedPlanner();
        const first = planGrouped(fleet, items, new Map());
        planner.adopt(fleet, items, first.assignments);
        const changed = fleet.map((w, i) => (i === 0 ? { ...w, cpus } : w));
        const plan = planGrouped(changed, items, first.assignments);
        const moved = items.filter((i) => plan.assignments.get(i.id) !== first.assignments.get(i.id));
        assert.ok(moved.every((i) => i.placement === 'cpu'), 'an item of another strategy moved');
        // The fewest moves: each worker over its new count gives exactly its excess.
        const countOf = (a: ReadonlyMap<string, string>) => (w: string) => items.filter((i) => i.placement === 'cpu' && a.get(i.id) === w).length;
        const excess = fleet.reduce((sum, w) => sum + Math.max(0, countOf(first.assignments)(w.id) - countOf(plan.assignments)(w.id)), 0);
        assert.equal(moved.length, excess);
      }),
    );
  });

  it('property: memory readings move the figure in force only when a share shifts by more than one item', () => {
    fc.assert(
      fc.property(fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 1, max: 100_000 }), fc.integer({ min: 0, max: 500_000 }), fc.integer({ min: 0, max: 10_000 }), (inForce, reading, others, items) => {
        const total = inForce + others;
        const kept = memoryInForce(inForce, reading, total, items);
        const shift = Math.abs(reading / (others + reading) - inForce / total) * items;
        if (shift <= 1) assert.equal(kept, inForce);
        else assert.equal(kept, reading);
      }),
    );
    // 0.2 % drift of one of four equal workers, 1,000 items: a shift of 0.4 item, nothing moves.
    assert.equal(memoryInForce(4096, 4096 * 1.002, 4 * 4096, 1000), 4096);
    // Half the memory gone: the figure follows.
    assert.equal(memoryInForce(4096, 2048, 4 * 4096, 1000), 2048);
  });
});
