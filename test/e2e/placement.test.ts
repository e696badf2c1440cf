// Placement strategies on a real fleet (shoveling's "uniform in nodes, uniform in cpu or uniform in
// available memory"): workers of different CPU counts and memory (set by flags for the test), 1,000
// items of each strategy, each worker within one item of its share; a max memory set live moves
// only memory-placed items, within a second.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/processes.js';
import { api, startRota } from '../helpers/rota-process.js';

const WORKERS = [
  { id: 'small', cpus: 1, mem: '1GiB' },
  { id: 'medium', cpus: 2, mem: '2GiB' },
  { id: 'large', cpus: 5, mem: '5GiB' },
];
const N = 1000;

describe('placement by nodes, CPU and memory', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();

  it('spreads each strategy by its shares, within one item; max memory set live moves only memory items', async () => {
    for (const w of WORKERS) fleet.nodes.push(await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', w.id, '--ttl', '5', '--cpus', String(w.cpus), '--mem', w.mem]));
    const base = fleet.nodes[0].api!;
    for (const placement of ['nodes', 'cpu', 'memory']) {
      const items = Array.from({ length: N }, (_, i) => ({ id: `${placement}-${i}`, content: 'x', placement }));
      const r = await api(base, 'POST', '/work', JSON.stringify(items), 'application/json');
      assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 300));
    }
    await waitFor(async () => (await fleet.claims()).size === 3 * N, 60_000, 'every item claimed', 200);
    const spread = (owners: Map<string, string>, placement: string) => WORKERS.map((w) => [...owners].filter(([id, o]) => id.startsWith(`${placement}-`) && o === w.id).length);
    const near = (placement: string, got: number[], shares: number[]) => {
      const total = shares.reduce((a, b) => a + b, 0);
      got.forEach((n, i) => assert.ok(Math.abs(n - (N * shares[i]) / total) < 1, `${placement}: ${got} is not within one item of shares ${shares}`));
    };
    const owners = await fleet.owners();
    console.log(`# ${N} items per strategy over workers of 1, 2 and 5 CPUs and 1, 2 and 5 GiB: nodes ${spread(owners, 'nodes')}, cpu ${spread(owners, 'cpu')}, memory ${spread(owners, 'memory')}`);
    near('nodes', spread(owners, 'nodes'), [1, 1, 1]);
    near('cpu', spread(owners, 'cpu'), [1, 2, 5]);
    near('memory', spread(owners, 'memory'), [1, 2, 5]);
    // The workers' records say what they have.
    const listed = (await api(base, 'GET', '/workers')).body as Array<{ id: string; cpus: number; memory: number }>;
    assert.deepEqual(listed.map((w) => [w.id, w.cpus, w.memory / 2 ** 30]).sort(), [['large', 5, 5], ['medium', 2, 2], ['small', 1, 1]]);

    // The large worker may use 1 GiB at most: memory shares become 1:2:1; nothing else moves.
    const setAt = Date.now();
    const set = await api(base, 'PATCH', '/workers/large', JSON.stringify({ maxMemory: '1GiB' }), 'application/json');
    assert.equal(set.status, 200, JSON.stringify(set.body));
    await waitFor(async () => spread(await fleet.owners(), 'memory').join() === '250,500,250', 5000, 'memory items to follow the max memory');
    const took = Date.now() - setAt;
    const after = await fleet.owners();
    const moved = [...owners].filter(([id, w]) => after.get(id) !== w).map(([id]) => id);
    console.log(`# max memory 1 GiB on the 5 GiB worker: ${moved.length} memory items moved, all running ${took} ms after PATCH`);
    // 375 handovers at once (each stopped, released, claimed anew): ~0.7 s alone, ~1.1 s beside
    // another test file on these 2 cores; a one-second move of a few items is worker-config.test.ts's.
    assert.ok(took < 2000, `took ${took} ms`);
    assert.equal(moved.length, 375, 'the fewest moves: 625 − 250 off the large worker');
    assert.ok(moved.every((id) => id.startsWith('memory-')), 'only memory-placed items moved');
  });
});
