// Properties of the planner over thousands of random fleets, items and current assignments.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { planAssignments } from '../../src/engine/planner.js';
import { assertBalanced, assertComplete, assertNoNeedlessMoves, caseArb, loads } from '../helpers/plan-checks.js';

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
