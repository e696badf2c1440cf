// The cache partition planner: distinct holders, an owner each, every worker within one of its share
// of the copies and of the ownerships, sticky, and a joining worker takes only its share.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { copyQuotas, planPartitions, type PartitionWorker } from '../../src/engine/caches/partition-planner.js';
import { shareOf, type Placement } from '../../src/engine/fleet/placement.js';

const GIB = 2 ** 30;
const workersArb = fc.array(
  fc.record({ capacity: fc.integer({ min: 1, max: 4 }), cpus: fc.integer({ min: 1, max: 8 }), memoryAvailable: fc.integer({ min: 1, max: 16 }).map((g) => g * GIB), host: fc.constantFrom('h1', 'h2', 'h3'), draining: fc.boolean().map((b) => b && Math.random() < 0.2) }),
  { minLength: 1, maxLength: 7 },
).map((ws) => ws.map((w, i): PartitionWorker => ({ ...w, id: `w${i}`, labels: {} })));
/** Every worker on a host of its own: balance is then the only rule. */
const ownHosts = workersArb.map((ws) => ws.map((w) => ({ ...w, host: w.id })));
const caseArb = fc.record({
  workers: ownHosts,
  partitions: fc.integer({ min: 0, max: 120 }).map((n) => Array.from({ length: n }, (_, i) => `p${String(i).padStart(3, '0')}`)),
  copies: fc.integer({ min: 1, max: 3 }),
  placement: fc.constantFrom<Placement>('nodes', 'cpu', 'memory', 'capacity'),
});

function counts(holders: Map<string, string[]>, ids: string[]) {
  const copies = new Map(ids.map((id) => [id, 0]));
  const owners = new Map(ids.map((id) => [id, 0]));
  for (const hs of holders.values()) {
    hs.forEach((w) => copies.set(w, copies.get(w)! + 1));
    if (hs[0]) owners.set(hs[0], owners.get(hs[0])! + 1);
  }
  return { copies, owners };
}

describe('cache partition planner', () => {
  it('property: distinct live holders, each worker within one of its share of copies and of ownerships, and sticky', () => {
    fc.assert(
      fc.property(caseArb, ({ workers, partitions, copies, placement }) => {
        const live = workers.filter((w) => !w.draining);
        const plan = planPartitions(workers, partitions, copies, new Map(), placement);
        const n = Math.min(copies, live.length);
        for (const p of partitions) {
          const hs = plan.get(p)!;
          assert.equal(hs.length, n, `${p} has ${hs.length} holders, not ${n}`);
          assert.equal(new Set(hs).size, hs.length, `${p} has a worker twice`);
          assert.ok(hs.every((h) => live.some((w) => w.id === h)), `${p} is on a worker that may not hold it`);
        }
        const shares = live.map((w) => shareOf(placement, w));
        const qCopies = copyQuotas(shares, n * partitions.length, partitions.length);
        const qOwners = copyQuotas(shares, partitions.length, partitions.length);
        const { copies: c, owners: o } = counts(plan, live.map((w) => w.id));
        live.forEach((w, i) => {
          assert.ok(Math.abs(c.get(w.id)! - qCopies[i]) < 1 + 1e-9, `${w.id} holds ${c.get(w.id)} copies, its share is ${qCopies[i].toFixed(2)}`);
          assert.ok(Math.abs(o.get(w.id)! - qOwners[i]) < 1 + 1e-9, `${w.id} owns ${o.get(w.id)}, its share is ${qOwners[i].toFixed(2)}`);
        });
        assert.deepEqual(planPartitions(workers, partitions, copies, plan, placement), plan, 'a balanced plan comes back unchanged');
      }),
      { numRuns: 400 },
    );
  });

  it('property: a worker that joins takes its share by single moves, no copy moving twice', () => {
    fc.assert(
      fc.property(caseArb, ({ workers, partitions, copies, placement }) => {
        const before = planPartitions(workers, partitions, copies, new Map(), placement);
        const joiner: PartitionWorker = { id: 'zz-new', capacity: 2, cpus: 2, memoryAvailable: 4 * GIB, labels: {}, draining: false, host: 'h9' };
        const live = [...workers.filter((w) => !w.draining), joiner];
        const n = Math.min(copies, live.length);
        const after = planPartitions([...workers, joiner], partitions, copies, before, placement);
        let moved = 0;
        for (const p of partitions) moved += after.get(p)!.filter((w) => !before.get(p)!.includes(w)).length;
        // No copy moves twice: every copy that arrives somewhere left a worker that now holds fewer,
        // or is a copy the partition lacked (copies rise when the fleet had fewer workers than copies).
        const held = (plan: Map<string, string[]>, id: string) => [...plan.values()].filter((hs) => hs.includes(id)).length;
        const left = live.reduce((sum, w) => sum + Math.max(0, held(before, w.id) - held(after, w.id)), 0);
        const added = partitions.reduce((sum, p) => sum + after.get(p)!.length - before.get(p)!.length, 0);
        assert.equal(moved, left + added, `moved ${moved}: ${left} left a worker, ${added} are new`);
        const q = copyQuotas(live.map((w) => shareOf(placement, w)), n * partitions.length, partitions.length);
        assert.ok(held(after, 'zz-new') <= Math.ceil(q[live.length - 1]), 'the joiner takes at most its share');
      }),
      { numRuns: 300 },
    );
  });

  it('property: after workers die or join, every partition is owned by a worker that held it before (it has the data) while one still holds it', () => {
    fc.assert(
      fc.property(caseArb, fc.array(fc.nat(), { maxLength: 3 }), fc.boolean(), ({ workers, partitions, copies, placement }, dead, join) => {
        const before = planPartitions(workers, partitions, copies, new Map(), placement);
        const gone = new Set(dead.map((d) => workers[d % workers.length].id));
        const next = workers.filter((w) => !gone.has(w.id));
        if (join) next.push({ id: 'zz-new', capacity: 3, cpus: 4, memoryAvailable: 8 * GIB, labels: {}, draining: false, host: 'zz-new' });
        const after = planPartitions(next, partitions, copies, before, placement);
        for (const p of partitions) {
          const survivors = before.get(p)!.filter((w) => !gone.has(w));
          // (A single copy that moves is the one case where the owner is new: the data is copied to it first.)
          if (after.get(p)!.some((w) => survivors.includes(w))) assert.ok(survivors.includes(after.get(p)![0]), `${p}: owned by ${after.get(p)![0]}, not by one of ${survivors}`);
        }
      }),
      { numRuns: 300 },
    );
  });

  it('property: a partition\'s copies span as many hosts as they can, whatever the balance costs', () => {
    fc.assert(
      fc.property(workersArb, fc.integer({ min: 1, max: 60 }), fc.integer({ min: 1, max: 3 }), fc.constantFrom<Placement>('nodes', 'cpu'), (workers, count, copies, placement) => {
        const partitions = Array.from({ length: count }, (_, i) => `p${i}`);
        const live = workers.filter((w) => !w.draining);
        const hosts = new Set(live.map((w) => w.host)).size;
        const n = Math.min(copies, live.length);
        const plan = planPartitions(workers, partitions, copies, new Map(), placement);
        const hostOf = new Map(live.map((w) => [w.id, w.host]));
        for (const [p, hs] of plan) assert.equal(new Set(hs.map((h) => hostOf.get(h))).size, Math.min(n, hosts), `${p}: ${hs} on ${hs.map((h) => hostOf.get(h))}`);
      }),
      { numRuns: 300 },
    );
  });

  it('puts the copies of a partition on distinct hosts when there are hosts enough', () => {
    const workers: PartitionWorker[] = ['a1', 'a2', 'b1', 'b2'].map((id) => ({ id, capacity: 1, labels: {}, draining: false, host: id[0] }));
    const plan = planPartitions(workers, Array.from({ length: 40 }, (_, i) => `p${i}`), 2, new Map(), 'nodes');
    for (const [p, hs] of plan) assert.notEqual(hs[0][0], hs[1][0], `${p}: both copies on host ${hs[0][0]}`);
  });

  it('water-fills copy quotas: no worker is asked for more than one copy of each partition', () => {
    assert.deepEqual(copyQuotas([10, 1, 1], 20, 10), [10, 5, 5]);
    assert.deepEqual(copyQuotas([1, 1], 4, 10), [2, 2]);
  });
});
