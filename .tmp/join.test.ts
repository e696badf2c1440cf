import { describe, it } from 'node:test';
import { cache } from '../src/index.js';
import { useEtcdFleet } from '../test/helpers/fleet.js';
import { waitFor } from '../test/helpers/processes.js';
import { startRota } from '../test/helpers/rota-process.js';
import { settled, type StoredPlacement } from '../test/helpers/shuffle.js';
const IDS = Array.from({ length: 1000 }, (_, i) => `part-${i}`);
describe('join timeline', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  const placements = async () => (await fleet.store.range('/work/caches/shuffle/', { prefix: true })).kvs.map((kv) => JSON.parse(kv.value) as StoredPlacement);
  const node = (id: string) => startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', id, '--ttl', '3', '--log-level', 'debug'], { env: { ROTA_X: '1' } });
  it('runs', async () => {
    for (const id of ['s1', 's2', 's3']) fleet.nodes.push(await node(id));
    const c = await cache({ store: fleet.store });
    await c.init('shuffle', IDS, { strategy: 'nodes', replicas: 2 });
    await waitFor(async () => settled(await placements(), ['s1', 's2', 's3'], 2), 20_000, 'placed');
    // no writes
    const t0 = Date.now();
    fleet.nodes.push(await node('s4'));
    console.log('started s4', Date.now() - t0);
    for (;;) {
      const ps = await placements();
      const next = ps.filter((p) => p.next).length, prev = ps.filter((p) => p.prev).length, s4 = ps.filter((p) => p.holders.includes('s4')).length;
      console.log(Date.now() - t0, 'next', next, 'prev', prev, 's4 holds', s4);
      if (settled(ps, ['s1', 's2', 's3', 's4'], 2)) break;
      if (Date.now() - t0 > 8000) { for (const n of fleet.nodes) console.log(n.id, n.lines.filter((l) => /WARN|ERROR|switched/.test(l)).slice(-4).join('\n')); const p = ps.find((x) => x.next); console.log(JSON.stringify(p)); break; }
      await new Promise((r) => setTimeout(r, 250));
    }
    await c.close();
  });
});
