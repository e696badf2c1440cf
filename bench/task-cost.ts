// npm run bench:task-cost — where a task's etcd writes go: N no-op tasks on 2 rota node processes
// (etcd with fsync), every write under the prefix counted by key family (registry, specs, assign,
// active, results, attempts…) from one watch, beside etcd's own counters. A diagnostic for the
// per-task targets of bench:tasks (≤ 3 key writes, ≤ 1 range read, ≤ 4 watch events).
import { etcdRota, keys } from './task-systems.js';
import { EtcdStore } from '../src/store/index.js';
import { printTable, round, writeResults } from './lib.js';

const N = Number(process.env.BENCH_TASKS ?? 5000);
const sys = await etcdRota(2, 50);
const watchStore = new EtcdStore({ endpoints: [sys.etcdUrl!] });
const counts = new Map<string, number>();
const w = watchStore.watch(keys.prefix, { prefix: true });
w.on('events', (b) => {
  for (const ev of b.events) {
    const family = ev.kv.key.slice(keys.prefix.length).split('/')[0];
    const k = `${family} ${ev.type}`;
    counts.set(k, (counts.get(k) ?? 0) + 1);
  }
});
await w.ready;
let done = 0;
let all!: () => void;
const finished = new Promise<void>((r) => (all = r));
sys.onFinished(() => ++done === N && all());
const before = await sys.etcdMetrics!();
for (let i = 0; i < N; i += 1000) await sys.submitBulk(Array.from({ length: Math.min(1000, N - i) }, () => ({})));
await finished;
await new Promise((r) => setTimeout(r, 1500)); // batches let go of after their last end
const after = await sys.etcdMetrics!();
await w.close();
await watchStore.close();
await sys.close();
const rows = [...counts].sort().map(([k, n]) => [k, n, round(n / N, 3)]);
console.log(`\nwrites by key family over ${N} no-op tasks (2 node processes × 50 slots, etcd with fsync)\n`);
printTable(['key family and write', 'count', 'per task'], rows);
const perTask = Object.fromEntries(Object.keys(after).map((k) => [k, round((after[k] - before[k]) / N, 2)]));
console.log('\netcd counters per task:', JSON.stringify(perTask));
writeResults('task-cost', { tasks: N, byFamily: Object.fromEntries(counts), perTask });
