// npm run bench:tasks — finite tasks to recorded results, every system in one run on this machine:
// rota on etcd (fsync on, as shipped) and on the embedded store with a data directory (as `npm
// start` runs it), against BullMQ on Redis without persistence and with AOF (appendfsync everysec,
// as it runs in production). Tasks are submitted through each system's client library, as a user
// would. Rows: 20,000 no-op tasks with 2 workers × 50 slots (submitted in bulk); submit→result
// latency with tasks submitted one at a time at a steady 200/s; the makespan of 400 tasks sleeping
// 50–250 ms on 4 workers × 4 slots against the ideal; and, on etcd, what a task costs etcd.
import { percentiles, printTable, round, writeResults } from './lib.js';
import { bullmq, embeddedRota, etcdRota, type TaskSystem } from './task-systems.js';

const N = Number(process.env.BENCH_TASKS ?? 20_000);
const SLOTS = 50;
const RATE = 200;
const STEADY_SECONDS = Number(process.env.BENCH_STEADY_SECONDS ?? 10);

/** Finish times by id, including finishes heard before the submit call returned. */
function finishLog(sys: TaskSystem) {
  const finishedAt = new Map<string, number>();
  const waiting = new Map<string, (at: number) => void>();
  sys.onFinished((id) => {
    const at = performance.now();
    const w = waiting.get(id);
    if (w) (waiting.delete(id), w(at));
    else finishedAt.set(id, at);
  });
  return {
    /** Resolves with when `id` finished. */
    when: (id: string) => {
      const at = finishedAt.get(id);
      return at !== undefined ? Promise.resolve(at) : new Promise<number>((r) => waiting.set(id, r));
    },
  };
}

async function throughput(sys: TaskSystem) {
  const log = finishLog(sys);
  const start = performance.now();
  const before = await sys.etcdMetrics?.();
  const ids: string[] = [];
  for (let i = 0; i < N; i += 2000) ids.push(...(await sys.submitBulk(Array.from({ length: Math.min(2000, N - i) }, () => ({})))));
  const ends = await Promise.all(ids.map((id) => log.when(id)));
  const seconds = (Math.max(...ends) - start) / 1000;
  const after = await sys.etcdMetrics?.();
  const perTask = before && after ? Object.fromEntries(Object.keys(after).map((k) => [k, round((after[k] - before[k]) / N, 2)])) : undefined;
  return { system: sys.name, tasksPerSec: Math.round(N / seconds), seconds: round(seconds), perTask };
}

async function steadyRate(sys: TaskSystem) {
  const log = finishLog(sys);
  const latencies: Array<Promise<number>> = [];
  const total = RATE * STEADY_SECONDS;
  const start = performance.now();
  for (let i = 0; i < total; i++) {
    const due = start + (i * 1000) / RATE;
    const wait = due - performance.now();
    if (wait > 0) await new Promise((r) => setTimeout(r, wait));
    const at = performance.now();
    latencies.push(sys.submitOne().then(async (id) => (await log.when(id)) - at));
  }
  const all = await Promise.all(latencies);
  return { system: sys.name, ...percentiles(all), achievedPerSec: Math.round(total / ((performance.now() - start) / 1000)) };
}

// Same durations for every system: a seeded sequence.
let seed = 42;
const durations = Array.from({ length: 400 }, () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return 50 + (seed % 201);
});

async function makespan(sys: TaskSystem) {
  const log = finishLog(sys);
  const start = performance.now();
  const ids = await sys.submitBulk(durations.map((d) => ({ sleep: d / 1000 })));
  const ends = await Promise.all(ids.map((id) => log.when(id)));
  const ms = Math.max(...ends) - start;
  const ideal = durations.reduce((a, b) => a + b, 0) / 16 + Math.max(...durations);
  return { system: sys.name, makespanMs: Math.round(ms), idealMs: Math.round(ideal), ratio: round(ms / ideal) };
}

async function run<T>(make: () => Promise<TaskSystem>, measure: (s: TaskSystem) => Promise<T>): Promise<T> {
  const sys = await make();
  try {
    console.error(`running: ${sys.name}`);
    return await measure(sys);
  } finally {
    await sys.close();
  }
}

const systems = (workers: number, slots: number, mode: 'noop' | 'sleep') => [
  () => etcdRota(workers, slots),
  () => embeddedRota(workers, slots),
  () => bullmq(workers, slots, mode, true),
  () => bullmq(workers, slots, mode, false),
];
const bulk = [];
for (const make of systems(2, SLOTS, 'noop')) bulk.push(await run(make, throughput));
const steady = [];
for (const make of systems(2, SLOTS, 'noop')) steady.push(await run(make, steadyRate));
const spans = [];
for (const make of systems(4, 4, 'sleep')) spans.push(await run(make, makespan));

const [aof, plain] = [bulk[2], bulk[3]];
const target = (i: number) => (i === 0 ? '≥ 1.0× with AOF' : i === 1 ? '≥ 2.0× without' : 'peer');
console.log(`\ntask benchmark: ${N} no-op tasks, 2 workers × ${SLOTS} slots, submitted in bulk through each client library\n`);
printTable(
  ['system', 'tasks/s', '÷ BullMQ AOF', '÷ BullMQ no persistence', 'target', 'total s'],
  bulk.map((t, i) => [t.system, t.tasksPerSec, round(t.tasksPerSec / aof.tasksPerSec), round(t.tasksPerSec / plain.tasksPerSec), target(i), t.seconds]),
);
const cost = bulk[0].perTask!;
console.log(`\nwhat one task costs etcd (its own /metrics over the ${N} tasks above; targets under load: ≤ 3 key writes, ≤ 1 range read, ≤ 4 watch events)\n`);
printTable(['key writes (puts + deletes)', 'puts', 'deletes', 'txns', 'range reads', 'watch events'], [[round(cost.put + cost.delete, 2), cost.put, cost.delete, cost.txn, cost.range, cost.events]]);
const peerP50 = Math.min(steady[2].p50, steady[3].p50);
console.log(`\nsubmit→result latency: one task at a time at a steady ${RATE}/s for ${STEADY_SECONDS} s (target: p50 ≤ 2× BullMQ's)\n`);
printTable(['system', 'p50 ms', 'p99 ms', '÷ BullMQ p50', 'submitted /s'], steady.map((s) => [s.system, s.p50, s.p99, round(s.p50 / peerP50), s.achievedPerSec]));
console.log(`\nmakespan: 400 tasks sleeping 50–250 ms (a child process each), 4 workers × 4 slots; ideal = total work / 16 + longest task (target ≤ 1.05×)\n`);
printTable(['system', 'makespan ms', 'ideal ms', 'makespan ÷ ideal'], spans.map((m) => [m.system, m.makespanMs, m.idealMs, m.ratio]));
const file = writeResults('tasks', { tasks: N, slots: SLOTS, bulk, etcdCostPerTask: cost, steady: { rate: RATE, seconds: STEADY_SECONDS, rows: steady }, makespan: spans });
console.log(`\nwritten to ${file}`);
