// What the leader writes for a partition (placement-step.ts), as properties: a live holder never
// loses its copy before a switch, new workers only ever enter through `next` (they copy first), a
// dead holder is dropped at once, the epoch moves exactly when the holders change, and a step
// applied again on its own result changes nothing more.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import type { PartitionPlacement } from '../../src/engine/caches/cache-model.js';
import { keepsCopy, placementStep, switchToNext } from '../../src/engine/caches/placement-step.js';

const WORKERS = ['a', 'b', 'c', 'd', 'e'];
const distinct = (max: number) => fc.uniqueArray(fc.constantFrom(...WORKERS), { maxLength: max });
const caseArb = fc.record({
  holders: distinct(3),
  epoch: fc.integer({ min: 0, max: 50 }),
  next: fc.option(distinct(3), { nil: undefined }),
  prev: fc.option(distinct(3), { nil: undefined }),
  plan: distinct(3),
  dead: fc.subarray(WORKERS),
});

describe('placementStep', () => {
  it('keeps every live copy, lets new workers in only through next, drops the dead at once, bumps the epoch exactly on a change of holders', () => {
    fc.assert(
      fc.property(caseArb, ({ holders, epoch, next, prev, plan, dead }) => {
        const live = (w: string) => !dead.includes(w);
        const current: PartitionPlacement = { holders, epoch, ...(next ? { next } : {}), ...(prev?.length ? { prev } : {}) };
        const livePlan = plan.filter(live);
        const step = placementStep(current, livePlan, live);
        if (livePlan.length === 0) return assert.equal(step, undefined, 'no worker to place on: nothing changes');
        const after = step ?? current;
        assert.equal(after.epoch, current.epoch + (after.holders.join() === holders.join() ? 0 : 1), 'the epoch moves exactly when the holders change');
        const survivors = holders.filter(live);
        if (survivors.length === 0) {
          // A live holder of an unfinished earlier switch (prev) has the data: it holds the id again, nothing is dropped.
          const keepers = (prev ?? []).filter(live);
          if (keepers.length) {
            assert.deepEqual([...after.holders].sort(), [...keepers].sort());
            for (const w of keepers) assert.ok(keepsCopy(after, w), `${w} of prev lost its copy`);
            // The next step heads for the plan; until a take-over clears prev, no keeper drops its copy.
            const again = placementStep(after, livePlan, live) ?? after;
            for (const w of keepers) assert.ok(keepsCopy(again, w), `${w} lost its copy at the second step`);
            return;
          }
          return assert.deepEqual(after.holders, holders.length === 0 && livePlan.join() === '' ? holders : livePlan);
        }
        // Nothing is dropped before the new holders have it: each surviving holder keeps its copy.
        for (const w of survivors) assert.ok(keepsCopy(after, w), `${w} lost its copy`);
        // A worker without the data never becomes a holder by the leader's hand.
        for (const w of after.holders) assert.ok(holders.includes(w), `${w} became a holder without copying first`);
        // The dead are out at once.
        for (const w of after.holders) assert.ok(live(w), `dead ${w} still holds`);
        // The owner is the planned one whenever it holds the data.
        if (survivors.includes(livePlan[0]) && after.holders.join() !== holders.join()) assert.equal(after.holders[0], livePlan[0]);
        // Where it is heading is the plan: reached, or wished for in next.
        assert.ok(after.holders.join() === livePlan.join() || after.next?.join() === livePlan.join(), 'heading for the plan');
        // Applied again, the step changes nothing more (only the owner's switch moves it on).
        const again = placementStep(after, livePlan, live);
        assert.ok(again === undefined, `a second step changed ${JSON.stringify(after)} to ${JSON.stringify(again)}`);
      }),
      { numRuns: 3000 },
    );
  });

  it('the owner’s switch makes next the holders, a new epoch, and keeps the old holders in prev until it has brought the new ones in line', () => {
    const p: PartitionPlacement = { holders: ['a', 'b'], epoch: 4, next: ['c', 'a'], prev: ['d'] };
    const s = switchToNext(p);
    assert.deepEqual(s, { holders: ['c', 'a'], epoch: 5, prev: ['d', 'a', 'b'] });
    for (const w of ['a', 'b', 'c', 'd']) assert.ok(keepsCopy(s, w));
    assert.ok(!keepsCopy({ holders: ['c', 'a'], epoch: 5 }, 'b'), 'once prev is cleared, b drops its copy');
  });
});
