// The leader's placement of cache partitions. It follows caches/ (specs and placements) and the
// worker set; on a change of either it plans every cache with the partition planner and writes
// the placements that changed, each guarded by the revision it planned from and by the leader's
// fence (placement-step.ts says what it writes: a dead holder is dropped at once, new holders are
// only wished for — `next` — and the owner switches once they have copied the data).
import { PrefixView } from '../../recipes/prefix-view.js';
import type { Clock, Compare, KeyValue, Store, TxnOp } from '../../store/index.js';
import type { Keys } from '../keys.js';
import type { Logger } from '../log.js';
import type { WorkerRecord } from '../model.js';
import { decodeCacheSpec, decodePlacement, type CacheSpec, type PartitionPlacement } from './cache-model.js';
import { planPartitions, type PartitionWorker } from './partition-planner.js';
import { placementStep } from './placement-step.js';

export interface CachePlacerOptions {
  store: Store;
  keys: Keys;
  clock: Clock;
  log: Logger;
  /** The leader's fence. */
  fence: () => Compare;
  /** The live workers, as the leader follows them. */
  workers: () => Array<{ id: string; record: WorkerRecord }>;
}

/** Placement writes per transaction: one compare each, beside the fence, under etcd's 128. */
const PER_TXN = 60;
/** Changes the last plan foresaw are planned again after this long (once). */
const SETTLE_MS = 500;
/** Changes within this long are planned together. */
const COALESCE_MS = 25;

/** The caches of the fleet, one as a spec and its partitions. */
interface CacheState {
  spec: CacheSpec;
  partitions: Map<string, { kv: KeyValue; placement: PartitionPlacement }>;
}

/** Keeps every cache's partitions placed while its leader leads. */
export class CachePlacer {
  private readonly view: PrefixView;
  private timer?: NodeJS.Timeout;
  private soon?: NodeJS.Timeout;
  private running: Promise<void> = Promise.resolve();
  private stopped = false;
  private again = false;
  /** Partition key → the holders the last plan gave it (and the spec keys, as their value). */
  private readonly planned = new Map<string, string | undefined>();

  constructor(private readonly o: CachePlacerOptions) {
    this.view = new PrefixView(o.store, o.keys.caches, o.clock);
  }

  async start(): Promise<void> {
    // A change the last plan foresaw (an owner switching to the planned holders, clearing `prev`) needs no new plan
    // at once — planning a thousand partitions mid-move costs the leader ~100 ms each time — but one a moment later:
    // new holders could not be made owners while they had no data, so the plan of the moved fleet may differ.
    this.view.on('change', (batch) => {
      if (batch.events.some((ev) => ev.type === 'delete' || !this.planned.has(ev.kv.key) || this.planned.get(ev.kv.key) !== holdersOf(ev.kv.value))) this.schedule();
      else this.scheduleSoon();
    });
    this.view.on('reset', () => this.schedule());
    await this.view.start();
    this.schedule();
  }

  /** The worker set changed: plan again. */
  workersChanged(): void {
    this.schedule();
  }

  async stop(): Promise<void> {
    this.stopped = true;
    clearTimeout(this.timer);
    clearTimeout(this.soon);
    await this.running;
    await this.view.close();
  }

  /** Plans once within SETTLE_MS (however many changes ask meanwhile). */
  private scheduleSoon(): void {
    if (this.stopped || this.soon) return;
    this.soon = setTimeout(() => ((this.soon = undefined), this.schedule()), SETTLE_MS);
  }

  private schedule(): void {
    if (this.stopped || this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.running = this.running
        .then(() => this.place())
        .catch((err: Error) => {
          this.o.log.warn('could not place cache partitions, trying again', { error: err.message });
          this.again = true;
        })
        .then(() => {
          if (this.again && !this.stopped) (this.again = false), setTimeout(() => this.schedule(), 500).unref();
        });
    }, COALESCE_MS);
  }

  /** The caches as stored, each with its partitions. */
  private caches(): Map<string, CacheState> {
    const out = new Map<string, CacheState>();
    const prefix = this.o.keys.caches;
    for (const kv of this.view.kvs.values()) {
      const rest = kv.key.slice(prefix.length);
      if (rest.includes('/')) continue;
      const spec = decodeCacheSpec(kv.value);
      if (spec) out.set(rest, { spec, partitions: new Map() });
    }
    for (const kv of this.view.kvs.values()) {
      const rest = kv.key.slice(prefix.length);
      const slash = rest.indexOf('/');
      if (slash < 0) continue;
      const cache = out.get(rest.slice(0, slash));
      const placement = decodePlacement(kv.value) ?? { holders: [], epoch: 0 };
      cache?.partitions.set(rest.slice(slash + 1), { kv, placement });
    }
    return out;
  }

  /** Plans every cache and writes what changed. */
  private async place(): Promise<void> {
    if (this.stopped) return;
    const workers: PartitionWorker[] = this.o.workers().map(({ id, record: r }) => ({ id, host: r.host, capacity: r.capacity, labels: r.labels, draining: r.draining, cpus: r.cpus, memoryAvailable: r.memoryAvailable, maxMemory: r.maxMemory }));
    const writes: Array<{ compare: Compare; op: TxnOp }> = [];
    this.planned.clear();
    const caches = this.caches();
    for (const name of caches.keys()) this.planned.set(this.o.keys.cache(name), undefined);
    const live = new Set(workers.map((w) => w.id));
    for (const [name, cache] of caches) {
      const current = new Map([...cache.partitions].map(([id, p]) => [id, p.placement.holders]));
      const plan = planPartitions(workers, [...cache.partitions.keys()], cache.spec.replicas, current, cache.spec.strategy);
      for (const [id, holders] of plan) {
        const { kv, placement } = cache.partitions.get(id)!;
        this.planned.set(kv.key, holders.join());
        const step = placementStep(placement, holders, (w) => live.has(w));
        if (!step) continue;
        writes.push({
          compare: { key: kv.key, target: 'mod', op: '==', value: kv.modRevision },
          op: { type: 'put', key: this.o.keys.partition(name, id), value: JSON.stringify(step) },
        });
      }
    }
    for (let i = 0; i < writes.length; i += PER_TXN) {
      const part = writes.slice(i, i + PER_TXN);
      const r = await this.o.store.txn({ compare: [this.o.fence(), ...part.map((w) => w.compare)], success: part.map((w) => w.op) });
      // Refused: deposed, or a placement changed meanwhile (a cache deleted, extended): the view will show it.
      if (!r.succeeded) this.again = true;
    }
    if (writes.length) this.o.log.info('Placed cache partitions', { changed: writes.length });
  }
}

/** The holders in a stored placement, joined (a spec or damaged value: undefined). */
function holdersOf(value: string): string | undefined {
  return decodePlacement(value)?.holders.join();
}
