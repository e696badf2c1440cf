import { cache, EtcdStore } from '../src/index.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { waitFor } from '../test/helpers/processes.js';
import { startRota, type RotaProcess } from '../test/helpers/rota-process.js';
import { benchValue } from '../bench/cache-values.js';
const MIB = 2 ** 20, N = Number(process.env.N ?? 128);
const etcd = await startEtcd({ fast: false });
const store = new EtcdStore({ endpoints: etcd.endpoints });
const nodes: RotaProcess[] = [];
const c = await cache({ store });
try {
  for (const id of ['n1', 'n2']) nodes.push(await startRota(['node', '--etcd', etcd.endpoints[0], '--id', id, '--ttl', '5', '--log-level', 'debug']));
  const ids = Array.from({ length: N }, (_, i) => `m-${i}`);
  await c.init('mig', ids, { replicas: 2 });
  await new Promise((r) => setTimeout(r, 1500));
  let next = 0;
  await Promise.all(Array.from({ length: 8 }, async () => { while (next < ids.length) { const i = next++; await c.set('mig', ids[i], benchValue(MIB, i)); } }));
  const log: Array<[number, number, string]> = [];
  let writing = true;
  const small = benchValue(1024, 7);
  const t00 = Date.now();
  const appenders = Array.from({ length: 4 }, async () => { while (writing) { const id = ids[Math.floor(Math.random() * ids.length)]; const t = Date.now(); try { await c.append('mig', id, small); } catch {} log.push([t - t00, Date.now() - t, id]); } });
  await new Promise((r) => setTimeout(r, 500));
  const tj = Date.now() - t00;
  nodes.push(await startRota(['node', '--etcd', etcd.endpoints[0], '--id', 'n3', '--ttl', '5', '--log-level', 'debug']));
  await waitFor(async () => (await c.describe('mig')).moving === 0 && ((await c.describe('mig')).workers.n3?.holds ?? 0) > N / 2, 120000, 'moved', 50);
  writing = false; await Promise.all(appenders);
  console.log('join at', tj, 'ms; done at', Date.now() - t00);
  for (const [t, d, id] of log.sort((a, b) => b[1] - a[1]).slice(0, 6)) {
    console.log(`stall ${d} ms at ${t} on ${id}`);
    for (const n of nodes) for (const l of n.lines) if (l.includes(`id=${id} `) || l.endsWith(`id=${id}`)) console.log('   ', n.id, l.slice(11, 200));
  }
} finally { await c.close(); for (const n of nodes) await n.stop(); await store.close(); await etcd.stop(); }
