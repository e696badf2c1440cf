// npm run bench:store — the store contract's rates and latencies on both backends, side by side:
// the embedded store (data dir, fsync) and a real one-member etcd (fsync), in one run.
import { randomUUID } from 'node:crypto';
import { EmbeddedStore, EtcdStore, type Store } from '../src/store/index.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { tempDir } from '../test/helpers/processes.js';
import { measure, percentiles, printTable, round, writeResults } from './lib.js';

const N = Number(process.env.BENCH_OPS ?? 5000);
const VALUE = 'x'.repeat(100);

interface Row {
  metric: string;
  opsPerSec: number;
  p50: number;
  p99: number;
}

async function benchStore(store: Store): Promise<Row[]> {
  const p = `/bench/${randomUUID().slice(0, 8)}/`;
  const rows: Row[] = [];
  const add = (metric: string, r: { opsPerSec: number; p50: number; p99: number }) => rows.push({ metric, ...r });
  add('put, 1 in flight', await measure(Math.min(N, 2000), 1, (i) => store.put(`${p}seq/${i}`, VALUE)));
  add('put, 64 in flight', await measure(N, 64, (i) => store.put(`${p}par/${i}`, VALUE)));
  add(
    'txn create-if-absent, 64 in flight',
    await measure(N, 64, (i) =>
      store.txn({
        compare: [{ key: `${p}claim/${i}`, target: 'create', op: '==', value: 0 }],
        success: [{ type: 'put', key: `${p}claim/${i}`, value: VALUE }],
      }),
    ),
  );
  add('get one key, 64 in flight', await measure(N, 64, (i) => store.get(`${p}par/${i % N}`)));
  for (let i = 0; i < 100; i++) await store.put(`${p}hundred/${i}`, VALUE);
  add('range of 100 keys, 16 in flight', await measure(Math.round(N / 5), 16, () => store.range(`${p}hundred/`, { prefix: true })));
  add('watch delivery, 64 puts in flight', await watchDelivery(store, `${p}watch/`));
  return rows;
}

/** Events/s through a prefix watch and the latency from put sent to event received. */
async function watchDelivery(store: Store, prefix: string) {
  const sentAt = new Map<string, number>();
  const latencies: number[] = [];
  const watch = store.watch(prefix, { prefix: true });
  await watch.ready;
  let done!: () => void;
  const all = new Promise<void>((r) => (done = r));
  watch.on('events', (b) => {
    const now = performance.now();
    for (const ev of b.events) latencies.push(now - sentAt.get(ev.kv.key)!);
    if (latencies.length >= N) done();
  });
  const started = performance.now();
  await measure(N, 64, async (i) => {
    const key = `${prefix}${i}`;
    sentAt.set(key, performance.now());
    await store.put(key, VALUE);
  });
  await all;
  const seconds = (performance.now() - started) / 1000;
  await watch.close();
  return { opsPerSec: Math.round(N / seconds), ...percentiles(latencies) };
}

const tmp = tempDir('bench-store');
const embedded = await EmbeddedStore.open({ dir: tmp.dir });
const etcdServer = await startEtcd({ fsync: true });
const etcd = new EtcdStore({ endpoints: etcdServer.endpoints });
try {
  console.log(`store benchmark: ${N} operations per row, 100-byte values; embedded (data dir, fsync) vs etcd 3.4 (one member, fsync)\n`);
  const e = await benchStore(embedded);
  const d = await benchStore(etcd);
  const rows = e.map((r, i) => [
    r.metric,
    r.opsPerSec,
    d[i].opsPerSec,
    round(r.opsPerSec / d[i].opsPerSec, 1),
    `${r.p50} / ${r.p99}`,
    `${d[i].p50} / ${d[i].p99}`,
  ]);
  printTable(['operation', 'embedded ops/s', 'etcd ops/s', 'embedded ÷ etcd', 'embedded p50/p99 ms', 'etcd p50/p99 ms'], rows);
  const file = writeResults('store', { operations: N, embedded: e, etcd: d });
  console.log(`\nwritten to ${file}`);
} finally {
  await etcd.close();
  await embedded.close();
  await etcdServer.stop();
  tmp.remove();
}
