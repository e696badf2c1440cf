import { describe, it } from 'node:test';
import { cache } from '../src/index.js';
import { useEtcdFleet } from '../test/helpers/fleet.js';
import { waitFor } from '../test/helpers/processes.js';
import { startRota } from '../test/helpers/rota-process.js';
describe('r2', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  it('runs', async () => {
    for (const id of ['n1', 'n2']) fleet.nodes.push(await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', id, '--ttl', '5', '--log-level', 'debug']));
    const c = await cache({ store: fleet.store });
    const ids = Array.from({ length: 1000 }, (_, i) => `id-${i}`);
    await c.init('r2', ids, { replicas: 2 });
    await waitFor(async () => (await c.describe('r2')).workers.n2?.holds === 1000 && (await c.describe('r2')).moving === 0, 20000, 'placed');
    for (const conc of [1, 2, 4, 8, 16, 32]) {
      let ok = 0, err = 0; const t0 = Date.now();
      await Promise.all(Array.from({ length: conc }, async () => { while (Date.now() - t0 < 1000) { try { await c.set('r2', ids[Math.floor(Math.random() * 1000)], Buffer.alloc(1024, 'a')); ok++; } catch (e) { err++; } } }));
      console.log('conc', conc, 'ok', ok, 'err', err);
      if (err) {
        for (const n of fleet.nodes) {
          const t = Date.now();
          const r = await fetch(`${n.api}/internal/caches/${n.id}/r2/id-0/digest`, { method: 'POST', signal: AbortSignal.timeout(3000) }).then((r) => `${r.status} ${r.headers.get('x-rota-meta')}`).catch((e) => String(e));
          console.log('digest', n.id, r, Date.now() - t, 'ms');
          const h = await fetch(`${n.api}/healthz`, { signal: AbortSignal.timeout(3000) }).then((r) => r.status).catch((e) => String(e));
          console.log('healthz', n.id, h);
          for (const op of ['prepare', 'get', 'digest']) {
            const t3 = Date.now();
            const q = await fetch(`${n.api}/internal/caches/${n.id}/r2/id-0/${op}`, { method: 'POST', headers: { 'x-rota-meta': JSON.stringify({ epoch: 1 }) }, signal: AbortSignal.timeout(3000) }).then(async (r) => `${r.status} ${r.headers.get('x-rota-meta')}`).catch((e) => String(e));
            console.log('internal', op, n.id, q, Date.now() - t3, 'ms');
          }
          for (const i of [0, 1]) {
            const t2 = Date.now();
            const p = await fetch(`${n.api}/caches/r2/id-${i}`, { method: 'PUT', body: 'x', headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(5000) }).then(async (r) => `${r.status} ${await r.text()}`).catch((e) => String(e));
            const o = await fetch(`${n.api}/caches/r2/id-${i}/nodes`).then((r) => r.text());
            console.log('put via', n.id, `id-${i}`, p, Date.now() - t2, 'ms', o.slice(0, 120));
          }
        }
        break;
      }
    }
    for (const n of fleet.nodes) console.log(n.id, n.lines.slice(-8).join('\n'));
    await c.close();
  });
});
