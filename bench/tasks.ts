// npm run bench:tasks — finite tasks to recorded results: 20,000 no-op tasks with 2 workers on
// the embedded store, on etcd, and on BullMQ with Redis (same count and concurrency, one run);
// then a makespan test: 400 tasks sleeping 50–250 ms on 4 workers × 4 slots, against the ideal.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { Queue, QueueEvents } from 'bullmq';
import { Keys } from '../src/engine/keys.js';
import { silentLogger } from '../src/engine/log.js';
import { encodeSpec, specOf } from '../src/engine/model.js';
import { RotaNode } from '../src/engine/node.js';
import { logProcessor } from '../src/engine/processors/log-processor.js';
import { EmbeddedStore, EtcdStore, type Store } from '../src/store/index.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { freePort, spawnTracked, stopChild, tempDir, waitFor } from '../test/helpers/processes.js';
import { startRota, type RotaProcess } from '../test/helpers/rota-process.js';
import { percentiles, printTable, round, writeResults } from './lib.js';

const N = Number(process.env.BENCH_TASKS ?? 20_000);
const SLOTS = 50;
const keys = new Keys('/work/');

interface Throughput {
  system: string;
  tasksPerSec: number;
  p50: number;
  p99: number;
  seconds: number;
}

/** A set of workers on one system that runs tasks submitted with `submit`. */
interface TaskSystem {
  name: string;
  /** Submits tasks (a batch); resolves when they are accepted. */
  submit(batch: Array<{ id: string; sleep?: number }>): Promise<void>;
  /** Calls back with each finished task id. */
  onFinished(fn: (id: string) => void): void;
  close(): Promise<void>;
}

async function measureThroughput(sys: TaskSystem, count: number, batchSize: number): Promise<Throughput> {
  const submitted = new Map<string, number>();
  const latencies: number[] = [];
  let finished = 0;
  let last = 0;
  sys.onFinished((id) => {
    const t = submitted.get(id);
    if (t === undefined) return;
    submitted.delete(id);
    last = performance.now();
    latencies.push(last - t);
    finished++;
  });
  const start = performance.now();
  for (let i = 0; i < count; i += batchSize) {
    const batch = Array.from({ length: Math.min(batchSize, count - i) }, (_, j) => ({ id: `t${String(i + j).padStart(6, '0')}` }));
    const at = performance.now();
    for (const t of batch) submitted.set(t.id, at);
    await sys.submit(batch);
  }
  await waitFor(() => finished >= count, 600_000, `${count} results on ${sys.name}`, 50);
  const seconds = (last - start) / 1000;
  return { system: sys.name, tasksPerSec: Math.round(count / seconds), ...percentiles(latencies), seconds: round(seconds) };
}

async function measureMakespan(sys: TaskSystem, durations: number[]) {
  let finished = 0;
  let last = 0;
  sys.onFinished(() => {
    finished++;
    last = performance.now();
  });
  const start = performance.now();
  await sys.submit(durations.map((d, i) => ({ id: `m${String(i).padStart(4, '0')}`, sleep: d / 1000 })));
  await waitFor(() => finished >= durations.length, 300_000, `makespan tasks on ${sys.name}`, 20);
  const makespan = last - start;
  const ideal = durations.reduce((a, b) => a + b, 0) / 16 + Math.max(...durations);
  return { system: sys.name, makespanMs: Math.round(makespan), idealMs: Math.round(ideal), ratio: round(makespan / ideal) };
}

/** rota on a store: tasks written in bulk transactions, results seen by a watch. */
function rotaSystem(name: string, store: Store, stop: () => Promise<void>): TaskSystem {
  const finished: Array<(id: string) => void> = [];
  const watch = store.watch(keys.results, { prefix: true });
  watch.on('events', (b) => {
    for (const ev of b.events) if (ev.type === 'put') for (const fn of finished) fn(ev.kv.key.slice(keys.results.length));
  });
  return {
    name,
    submit: async (batch) => {
      for (let i = 0; i < batch.length; i += 60) {
        await store.txn({
          success: batch.slice(i, i + 60).flatMap((t) => [
            { type: 'put' as const, key: keys.item(t.id), value: '' },
            { type: 'put' as const, key: keys.spec(t.id), value: encodeSpec(specOf({ kind: 'task', command: t.sleep ? ['sleep', String(t.sleep)] : undefined }))! },
          ]),
        });
      }
    },
    onFinished: (fn) => void finished.splice(0, finished.length, fn),
    close: async () => {
      await watch.close();
      await stop();
    },
  };
}

async function embeddedRota(workers: number, slots: number): Promise<TaskSystem> {
  const store = await EmbeddedStore.open({ retainRevisions: 100_000 });
  const node = new RotaNode({ store, keys, log: silentLogger, ttl: 5, worker: { processor: () => logProcessor(), capacity: slots } });
  await node.start(workers);
  return rotaSystem(`rota, embedded store (${workers} in-process workers)`, store, async () => {
    await node.stop();
    await store.close();
  });
}

async function etcdRota(workers: number, slots: number): Promise<TaskSystem> {
  const etcd = await startEtcd({ fsync: true });
  const store = new EtcdStore({ endpoints: etcd.endpoints });
  const procs: RotaProcess[] = [];
  for (let i = 0; i < workers; i++) {
    const id = randomUUID();
    procs.push(await startRota(['node', '--etcd', etcd.endpoints[0], '--capacity', String(slots), '--log-level', 'warn', '--no-api', '--id', id], { expectWorker: false }));
    await waitFor(async () => (await store.get(keys.worker(id))) !== null, 20_000, 'worker registration');
  }
  return rotaSystem(`rota, etcd (${workers} rota node processes)`, store, async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await store.close();
    await etcd.stop();
  });
}

async function bullmq(workers: number, concurrency: number, mode: 'noop' | 'sleep'): Promise<TaskSystem> {
  const tmp = tempDir('redis');
  const port = await freePort();
  const redis = spawnTracked('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', tmp.dir], { stdio: 'ignore' });
  const connection = { host: '127.0.0.1', port };
  const queueName = `bench-${mode}`;
  await waitFor(
    () =>
      new Promise<boolean>((resolve) => {
        const s = net.connect(port, '127.0.0.1', () => resolve(s.end() && true));
        s.on('error', () => resolve(false));
      }),
    10_000,
    'redis to listen',
  );
  const queue = new Queue(queueName, { connection });
  const events = new QueueEvents(queueName, { connection });
  await events.waitUntilReady();
  const procs: ReturnType<typeof spawnTracked>[] = [];
  for (let i = 0; i < workers; i++) {
    const p = spawnTracked(process.execPath, ['--import', 'tsx', path.join(import.meta.dirname, 'bullmq-worker.ts'), String(port), queueName, String(concurrency), mode], { stdio: ['ignore', 'pipe', 'inherit'] });
    await new Promise<void>((resolve) => readline.createInterface({ input: p.stdout! }).once('line', () => resolve()));
    procs.push(p);
  }
  let finished: (id: string) => void = () => undefined;
  events.on('completed', ({ jobId }) => finished(jobId));
  return {
    name: `BullMQ on Redis (${workers} worker processes)`,
    submit: async (batch) => {
      for (let i = 0; i < batch.length; i += 1000) {
        await queue.addBulk(batch.slice(i, i + 1000).map((t) => ({ name: 'task', data: { seconds: t.sleep ?? 0 }, opts: { jobId: t.id, removeOnComplete: true } })));
      }
    },
    onFinished: (fn) => void (finished = fn),
    close: async () => {
      await Promise.all(procs.map((p) => stopChild(p)));
      await events.close();
      await queue.close();
      await stopChild(redis);
      tmp.remove();
    },
  };
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

// Same durations for every system: a seeded sequence.
let seed = 42;
const durations = Array.from({ length: 400 }, () => {
  seed = (seed * 1103515245 + 12345) % 2 ** 31;
  return 50 + (seed % 201);
});

const throughput = [
  await run(() => embeddedRota(2, SLOTS), (s) => measureThroughput(s, N, 1200)),
  await run(() => etcdRota(2, SLOTS), (s) => measureThroughput(s, N, 1200)),
  await run(() => bullmq(2, SLOTS, 'noop'), (s) => measureThroughput(s, N, 1200)),
];
const makespan = [
  await run(() => embeddedRota(4, 4), (s) => measureMakespan(s, durations)),
  await run(() => etcdRota(4, 4), (s) => measureMakespan(s, durations)),
  await run(() => bullmq(4, 4, 'sleep'), (s) => measureMakespan(s, durations)),
];
const peer = throughput[2];
console.log(`\ntask benchmark: ${N} no-op tasks, 2 workers × ${SLOTS} slots (BullMQ: concurrency ${SLOTS}), submitted in bulk\n`);
printTable(
  ['system', 'tasks/s', '÷ BullMQ', 'submit→result p50 ms', 'p99 ms', 'total s'],
  throughput.map((t) => [t.system, t.tasksPerSec, round(t.tasksPerSec / peer.tasksPerSec), t.p50, t.p99, t.seconds]),
);
console.log(`\nmakespan: 400 tasks sleeping 50–250 ms (a child process each), 4 workers × 4 slots; ideal = total work / 16 + longest task\n`);
printTable(['system', 'makespan ms', 'ideal ms', 'makespan ÷ ideal'], makespan.map((m) => [m.system, m.makespanMs, m.idealMs, m.ratio]));
const file = writeResults('tasks', { tasks: N, slots: SLOTS, throughput, makespan });
console.log(`\nwritten to ${file}`);
