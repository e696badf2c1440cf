// The systems bench:tasks compares, each a set of workers with a way to submit tasks the way a user
// would (rota: the client library's addWork, in bulk or one at a time; BullMQ: Queue.addBulk/add)
// and to learn when each task has finished.
import { randomUUID } from 'node:crypto';
import net from 'node:net';
import path from 'node:path';
import readline from 'node:readline';
import { Queue, QueueEvents } from 'bullmq';
import { StoreClient } from '../src/client/store-client.js';
import type { WorkInput } from '../src/engine/model.js';
import { Keys } from '../src/engine/keys.js';
import { silentLogger } from '../src/engine/log.js';
import { RotaNode } from '../src/engine/node.js';
import { logProcessor } from '../src/engine/processors/log-processor.js';
import { EmbeddedStore, EtcdStore, type Store } from '../src/store/index.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { freePort, spawnTracked, stopChild, tempDir, waitFor } from '../test/helpers/processes.js';
import { startRota, type RotaProcess } from '../test/helpers/rota-process.js';

export const keys = new Keys('/work/');

/** A set of workers on one system that runs the tasks submitted to it. */
export interface TaskSystem {
  name: string;
  /** Submits tasks in bulk (the system's bulk call, in its largest accepted batches). */
  submitBulk(batch: Array<{ sleep?: number }>): Promise<string[]>;
  /** Submits one task. */
  submitOne(): Promise<string>;
  /** Calls back with each finished task id. */
  onFinished(fn: (id: string) => void): void;
  /** etcd's own counters now, for systems on etcd. */
  etcdMetrics?(): Promise<Record<string, number>>;
  /** The etcd client URL, for systems on etcd. */
  etcdUrl?: string;
  close(): Promise<void>;
}

const task = (sleep?: number): WorkInput => ({ content: '', kind: 'task', command: sleep ? ['sleep', String(sleep)] : undefined });

/** rota through its client library on `store`; results seen by a watch on results/. */
function rotaSystem(name: string, store: Store, stop: () => Promise<void>, metricsUrl?: string): TaskSystem {
  const client = new StoreClient(store, keys);
  let finished: (id: string) => void = () => undefined;
  const watch = store.watch(keys.results, { prefix: true });
  watch.on('events', (b) => {
    for (const ev of b.events) if (ev.type === 'put') finished(ev.kv.key.slice(keys.results.length));
  });
  return {
    name,
    submitBulk: async (batch) => {
      const ids: string[] = [];
      for (let i = 0; i < batch.length; i += 1000) ids.push(...(await client.addWork(batch.slice(i, i + 1000).map((t) => task(t.sleep)))).map((v) => v.id));
      return ids;
    },
    submitOne: async () => (await client.addWork(task())).id,
    onFinished: (fn) => void (finished = fn),
    etcdMetrics: metricsUrl ? () => etcdMetrics(metricsUrl) : undefined,
    etcdUrl: metricsUrl,
    close: async () => {
      await watch.close();
      await stop();
    },
  };
}

const ETCD_COUNTERS = ['etcd_mvcc_put_total', 'etcd_mvcc_delete_total', 'etcd_mvcc_txn_total', 'etcd_mvcc_range_total', 'etcd_debugging_mvcc_events_total'];

/** etcd's counters of key writes, reads and watch events, from its /metrics. */
async function etcdMetrics(url: string): Promise<Record<string, number>> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const out: Record<string, number> = {};
  for (const name of ETCD_COUNTERS) {
    const line = text.split('\n').find((l) => l.startsWith(`${name} `));
    out[name.replace(/^etcd_(debugging_)?mvcc_|_total$/g, '')] = line ? Number(line.split(' ')[1]) : NaN;
  }
  return out;
}

/** rota in one process on the embedded store with a data directory (persisted, as `npm start` runs). */
export async function embeddedRota(workers: number, slots: number): Promise<TaskSystem> {
  const tmp = tempDir('bench-embedded');
  const store = await EmbeddedStore.open({ dir: tmp.dir, retainRevisions: 100_000 });
  const node = new RotaNode({ store, keys, log: silentLogger, ttl: 5, worker: { processor: () => logProcessor(), capacity: slots } });
  await node.start(workers);
  return rotaSystem(`rota, embedded store with a data dir (${workers} workers × ${slots})`, store, async () => {
    await node.stop();
    await store.close();
    tmp.remove();
  });
}

/** rota on etcd (fsync on, as shipped): `workers` rota node processes. */
export async function etcdRota(workers: number, slots: number): Promise<TaskSystem> {
  const etcd = await startEtcd({ fsync: true });
  const store = new EtcdStore({ endpoints: etcd.endpoints });
  const procs: RotaProcess[] = [];
  for (let i = 0; i < workers; i++) {
    const id = randomUUID();
    procs.push(await startRota(['node', '--etcd', etcd.endpoints[0], '--capacity', String(slots), '--log-level', 'warn', '--no-api', '--id', id], { expectWorker: false }));
    await waitFor(async () => (await store.get(keys.worker(id))) !== null, 20_000, 'worker registration');
  }
  const stop = async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await store.close();
    await etcd.stop();
  };
  return rotaSystem(`rota, etcd with fsync (${workers} node processes × ${slots})`, store, stop, etcd.endpoints[0]);
}

/** BullMQ with `workers` worker processes on a Redis of its own, with or without AOF persistence. */
export async function bullmq(workers: number, concurrency: number, mode: 'noop' | 'sleep', aof: boolean): Promise<TaskSystem> {
  const tmp = tempDir('redis');
  const port = await freePort();
  const persistence = aof ? ['--appendonly', 'yes', '--appendfsync', 'everysec'] : ['--appendonly', 'no'];
  const redis = spawnTracked('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', ...persistence, '--dir', tmp.dir], { stdio: 'ignore' });
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
  let n = 0;
  const job = (seconds = 0) => ({ name: 'task', data: { seconds }, opts: { jobId: `j${n++}`, removeOnComplete: true } });
  return {
    name: `BullMQ on Redis${aof ? ' with AOF (everysec)' : ', no persistence'} (${workers} worker processes × ${concurrency})`,
    submitBulk: async (batch) => {
      const ids: string[] = [];
      for (let i = 0; i < batch.length; i += 1000) ids.push(...(await queue.addBulk(batch.slice(i, i + 1000).map((t) => job(t.sleep)))).map((j) => j.id!));
      return ids;
    },
    submitOne: async () => {
      const j = job();
      return (await queue.add(j.name, j.data, j.opts)).id!;
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
