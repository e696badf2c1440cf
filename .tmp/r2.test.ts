import { describe, it } from 'node:test';
import { cache } from '../src/index.js';
import { useEtcdFleet } from '../test/helpers/fleet.js';
import { waitFor } from '../test/helpers/processes.js';
import { startRota } from '../test/helpers/rota-process.js';
describe('r2', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  it('runs', async () => {
    for (const id of ['n1', 'n2']) fleet.nodes.push(await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', id, '--ttl', '5']));
    const c = await cache({ store: fleet.store });
    const ids = Array.from({ length: 1000 }, (_, i) => `id-${i}`);
    await c.init('r2', ids, { replicas: 2 });
    await waitFor(async () => (await c.describe('r2')).workers.n2?.holds === 1000 && (await c.describe('r2')).moving === 0, 20000, 'placed');
    let ok = 0, err = 0; const t0 = Date.now(); const errs = new Set<string>();
    await Promise.all(Array.from({ length: 32 }, async () => { while (Date.now() - t0 < 3000) { try { await c.set('r2', ids[Math.floor(Math.random() * 1000)], Buffer.alloc(1024, 'a')); ok++; } catch (e) { err++; errs.add((e as Error).message.slice(0, 200)); } } }));
    console.log('ok', ok, 'err', err, [...errs].slice(0, 2));
    for (const n of fleet.nodes) console.log(n.id, n.lines.filter((l) => /warn|error/i.test(l)).slice(-5).join('\n'));
    await c.close();
  });
});
