// Where every cache partition lives and how to reach its holders: a live copy of caches/ (the
// placements) and workers/ (each worker's API), as holders and clients both need them. Emits the
// partitions whose placement changed, so a holder acts on each change once, and lets a caller wait
// for the next one (a client told "moved" waits for the new placement, not a fixed sleep).
import { EventEmitter } from 'node:events';
import { PrefixView } from '../../recipes/prefix-view.js';
import type { Clock, KeyValue, Store } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { decodeWorker } from '../model.js';
import { decodePlacement, type PartitionPlacement } from './cache-model.js';

/** A partition's placement as stored, with the revision it was written at (compares go on it). */
export interface PlacedPartition {
  cache: string;
  id: string;
  placement: PartitionPlacement;
  modRevision: number;
}

export interface CacheDirectoryEvents {
  /** Placements changed (or were all read again: `all`). */
  partitions: [changed: PlacedPartition[], all: boolean];
  /** A placement was deleted (the id or its cache). */
  deleted: [cache: string, id: string];
  /** The worker set changed. */
  workers: [];
}

/** Live placements and worker addresses. */
export class CacheDirectory extends EventEmitter<CacheDirectoryEvents> {
  private readonly placements: PrefixView;
  private readonly workerView: PrefixView;
  private workersStarted?: Promise<void>;
  private workersLoaded = false;
  /** Placements decoded once, as they arrive. */
  private readonly decoded = new Map<string, PlacedPartition>();

  constructor(
    private readonly store: Store,
    private readonly keys: Keys,
    clock?: Clock,
  ) {
    super();
    this.setMaxListeners(0);
    this.placements = new PrefixView(store, keys.caches, clock, { relistMs: 60_000 });
    this.workerView = new PrefixView(store, keys.workers, clock, { relistMs: 60_000 });
    this.placements.on('change', (batch) => {
      const changed: PlacedPartition[] = [];
      for (const ev of batch.events) {
        const [cache, id] = this.split(ev.kv.key);
        if (ev.type === 'put') {
          const p = this.decode(ev.kv);
          if (p) this.decoded.set(ev.kv.key, p), changed.push(p);
          else this.decoded.delete(ev.kv.key);
        } else if (id !== undefined) {
          this.decoded.delete(ev.kv.key);
          this.emit('deleted', cache, id);
        }
      }
      if (changed.length && this.ready) this.emit('partitions', changed, false);
      else if (!this.ready) void this.followWorkers();
    });
    this.placements.on('reset', () => {
      this.decoded.clear();
      for (const kv of this.placements.kvs.values()) {
        const p = this.decode(kv);
        if (p) this.decoded.set(kv.key, p);
      }
      if (this.ready) this.emit('partitions', this.all(), true);
      else if (this.placements.kvs.size) void this.followWorkers();
    });
    this.workerView.on('change', () => this.workersLoaded && this.emit('workers'));
    this.workerView.on('reset', () => this.workersLoaded && this.emit('workers'));
  }

  /** Follows the placements; the workers only once a cache exists (a fleet without caches pays nothing for them). */
  async start(): Promise<void> {
    await this.placements.start();
    if (this.placements.kvs.size) await this.followWorkers();
  }

  /** Whether the worker set is known (until then nothing about placements is reported: no holder acts on half a picture). */
  get ready(): boolean {
    return this.workersLoaded;
  }

  /** Resolves once the worker set is known (following it from now if no cache had started that). */
  followWorkers(): Promise<void> {
    this.workersStarted ??= this.workerView.start().then(() => {
      this.workersLoaded = true;
      this.emit('workers');
      this.emit('partitions', this.all(), true);
    });
    return this.workersStarted;
  }

  async close(): Promise<void> {
    await this.placements.close();
    await this.workerView.close();
  }

  private split(key: string): [string, string | undefined] {
    const rest = key.slice(this.keys.caches.length);
    const slash = rest.indexOf('/');
    return slash < 0 ? [rest, undefined] : [rest.slice(0, slash), rest.slice(slash + 1)];
  }

  private decode(kv: KeyValue): PlacedPartition | undefined {
    const [cache, id] = this.split(kv.key);
    if (id === undefined) return undefined;
    const placement = decodePlacement(kv.value);
    return placement && { cache, id, placement, modRevision: kv.modRevision };
  }

  /** A partition's placement, if it exists. */
  get(cache: string, id: string): PlacedPartition | undefined {
    return this.decoded.get(this.keys.partition(cache, id));
  }

  /** A partition's placement, read from the store when the view has not seen it yet (an id created a moment ago). */
  async lookup(cache: string, id: string): Promise<PlacedPartition | undefined> {
    return this.get(cache, id) ?? this.fetch(cache, id);
  }

  /** A partition's placement as the store holds it now (not the view). */
  async fetch(cache: string, id: string): Promise<PlacedPartition | undefined> {
    const kv = await this.store.get(this.keys.partition(cache, id));
    return kv ? this.decode(kv) : undefined;
  }

  /** Whether the cache exists, read from the store when the view has not seen it. */
  async cacheExists(cache: string): Promise<boolean> {
    return this.hasCache(cache) || (await this.store.get(this.keys.cache(cache))) !== null;
  }

  /** Every placement known. */
  all(): PlacedPartition[] {
    return [...this.decoded.values()];
  }

  /** Whether the cache exists (its spec is stored). */
  hasCache(cache: string): boolean {
    return this.placements.kvs.has(this.keys.cache(cache));
  }

  /** A worker's API, if it is live and serves one. */
  api(worker: string): string | undefined {
    const kv = this.workerView.kvs.get(this.keys.worker(worker));
    return kv ? (decodeWorker(kv.value)?.api ?? undefined) : undefined;
  }

  /** How many workers are registered. */
  get workerCount(): number {
    return this.workerView.kvs.size;
  }

  /** Whether a worker is registered (its session is live; taken as live while the worker set is not known yet). */
  live(worker: string): boolean {
    return !this.workersLoaded || this.workerView.kvs.has(this.keys.worker(worker));
  }

  /** Resolves when `cache/id`'s placement changes from `epoch` (or after `ms`). */
  changed(cache: string, id: string, epoch: number, ms: number): Promise<void> {
    const now = this.get(cache, id);
    // A placement this view has not seen yet is waited for like a change (never a busy loop of retries).
    if (now && now.placement.epoch !== epoch) return Promise.resolve();
    return new Promise((resolve) => {
      const done = () => (clearTimeout(timer), this.off('partitions', check), this.off('deleted', gone), resolve());
      const check = (changed: PlacedPartition[], all: boolean) => (all || changed.some((p) => p.cache === cache && p.id === id)) && done();
      const gone = (c: string, i: string) => c === cache && i === id && done();
      const timer = setTimeout(done, ms);
      this.on('partitions', check);
      this.on('deleted', gone);
    });
  }
}
