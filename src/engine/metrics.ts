// What a node tells Prometheus (GET /metrics): one registry per process, named by Prometheus's
// conventions (`rota_…_total` counters, `_seconds` in base units), with label sets bounded by the
// fleet (workers, operations, outcomes — never item or task ids). Counters are incremented where
// things happen; states (leader, sessions, bytes held) are read from the live nodes at each scrape.
import client from 'prom-client';
import type { Store } from '../store/index.js';

/** This process's metrics, process_* and nodejs_* included. */
export const registry = new client.Registry();
client.collectDefaultMetrics({ register: registry });

const registers = [registry];
const seconds = [0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10];

/** What the scrape reads from a live node. */
export interface NodeState {
  id: string;
  leading(): boolean;
  /** While it leads: items by kind and state, and how many revisions its views are behind its own last write. */
  items(): Array<{ kind: string; state: string; count: number }>;
  watchLag(): number | undefined;
  /** Each local worker: whether its session is valid, and the cache bytes it holds by cache. */
  workers(): Array<{ id: string; healthy: boolean; cacheBytes: Record<string, number> }>;
}

const nodes = new Set<NodeState>();

/** Counts and times of this process's work. */
export const metrics = {
  storeRequestSeconds: new client.Histogram({ name: 'rota_store_request_seconds', help: 'Store calls by operation, as the node waited for them', labelNames: ['op'], buckets: seconds, registers }),
  storeErrors: new client.Counter({ name: 'rota_store_errors_total', help: 'Store calls that failed, by operation and kind of error', labelNames: ['op', 'kind'], registers }),
  claims: new client.Counter({ name: 'rota_claims_total', help: 'Items a worker claimed and started', labelNames: ['worker'], registers }),
  releases: new client.Counter({ name: 'rota_releases_total', help: 'Items a worker stopped, by why', labelNames: ['worker', 'reason'], registers }),
  tasksFinished: new client.Counter({ name: 'rota_tasks_finished_total', help: 'Task results recorded by this node\'s workers, by status', labelNames: ['status'], registers }),
  taskRetries: new client.Counter({ name: 'rota_task_retries_total', help: 'Failed task attempts that will be tried again', registers }),
  taskRunSeconds: new client.Histogram({ name: 'rota_task_run_seconds', help: 'How long a task\'s last attempt ran', buckets: [0.01, 0.05, 0.1, 0.5, 1, 5, 10, 30, 60, 300, 1800], registers }),
  eventStreams: new client.Gauge({ name: 'rota_event_streams', help: 'SSE and WebSocket event streams this node serves now', registers }),
  failoverSeconds: new client.Histogram({ name: 'rota_failover_seconds', help: 'From a claim lost with its worker (lease ended) to the item claimed again elsewhere, as the leader saw it', buckets: [0.1, 0.25, 0.5, 1, 2, 3, 5, 7.5, 10, 15, 30, 60], registers }),
  assignments: new client.Counter({ name: 'rota_assignments_total', help: 'Assignments the leader wrote, by reason: placed (new), balanced, drained (its worker drains), lost (its worker is gone)', labelNames: ['reason'], registers }),
  tasksSubmitted: new client.Counter({ name: 'rota_tasks_submitted_total', help: 'Tasks submitted through this node (added alone, in bulk, or by a job)', registers }),
  taskWaitSeconds: new client.Histogram({ name: 'rota_task_wait_seconds', help: "From a task's submission to its first attempt's start (clocks of two nodes)", buckets: [0.005, 0.01, 0.05, 0.1, 0.25, 0.5, 1, 2.5, 5, 10, 30, 60, 300], registers }),
  tasksLost: new client.Counter({ name: 'rota_tasks_lost_total', help: 'Task attempts the leader recorded as lost (their worker died or was fenced while running them)', registers }),
  selfFencings: new client.Counter({ name: 'rota_self_fencings_total', help: 'Times a worker stopped all its work because its session ended (lease lost or store out of reach)', labelNames: ['worker'], registers }),
  guardedChildren: new client.Gauge({ name: 'rota_guarded_children', help: "Child processes running under this node's guard", registers }),
  cacheCopies: new client.Counter({ name: 'rota_cache_copies_total', help: 'Cache partitions copied in by this node\'s workers (moves)', registers }),
};

new client.Gauge({
  name: 'rota_leader',
  help: '1 while this node leads the fleet',
  labelNames: ['node'],
  registers,
  collect() {
    this.reset();
    for (const n of nodes) this.set({ node: n.id }, n.leading() ? 1 : 0);
  },
});
new client.Gauge({
  name: 'rota_session_healthy',
  help: '1 while a worker holds a valid session (0: fenced or away from the store)',
  labelNames: ['worker'],
  registers,
  collect() {
    this.reset();
    for (const n of nodes) for (const w of n.workers()) this.set({ worker: w.id }, w.healthy ? 1 : 0);
  },
});
new client.Gauge({
  name: 'rota_items',
  help: 'Items by kind and state, as the leader sees them (services: running, waiting, unplaced; tasks: pending, finished)',
  labelNames: ['kind', 'state'],
  registers,
  collect() {
    this.reset();
    for (const n of nodes) for (const c of n.items()) this.set({ kind: c.kind, state: c.state }, c.count);
  },
});
new client.Gauge({
  name: 'rota_watch_lag_revisions',
  help: "Store revisions the leader's watch has not applied yet, behind its own last write (0: caught up)",
  registers,
  collect() {
    this.reset();
    for (const n of nodes) {
      const lag = n.watchLag();
      if (lag !== undefined) this.set(lag);
    }
  },
});
new client.Gauge({
  name: 'rota_cache_bytes',
  help: 'Bytes of cache data this node\'s workers hold (compressed chunks and raw tails), by cache',
  labelNames: ['cache'],
  registers,
  collect() {
    this.reset();
    const sum = new Map<string, number>();
    for (const n of nodes) for (const w of n.workers()) for (const [c, b] of Object.entries(w.cacheBytes)) sum.set(c, (sum.get(c) ?? 0) + b);
    for (const [c, b] of sum) this.set({ cache: c }, b);
  },
});

/** Reports a node's state at each scrape until forgotten. */
export function observeNode(node: NodeState): () => void {
  nodes.add(node);
  return () => nodes.delete(node);
}

/** The Prometheus text of every metric. */
export async function metricsText(): Promise<{ contentType: string; text: string }> {
  return { contentType: registry.contentType, text: await registry.metrics() };
}

const TIMED = new Set(['get', 'range', 'put', 'delete', 'txn', 'grantLease', 'keepAliveOnce', 'revokeLease', 'leaseTimeToLive', 'compact']);

/** The store, its calls timed and their errors counted (every other property passes through). */
export function meterStore<S extends Store>(store: S): S {
  return new Proxy(store, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      if (typeof value !== 'function') return value;
      if (typeof prop !== 'string' || !TIMED.has(prop)) return value.bind(target);
      return (...args: unknown[]) => {
        const end = metrics.storeRequestSeconds.startTimer({ op: prop });
        return (value as (...a: unknown[]) => Promise<unknown>).apply(target, args).then(
          (r) => (end(), r),
          (err: unknown) => {
            end();
            metrics.storeErrors.inc({ op: prop, kind: err instanceof Error ? err.name : 'unknown' });
            throw err;
          },
        );
      };
    },
  });
}
