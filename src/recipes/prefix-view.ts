// A live copy of every key under a prefix: list, then watch from the list's revision + 1; on a
// compaction or any watch failure, list again (DESIGN "Watching"). State is always rebuilt from
// the store, never trusted from memory alone: with `relistMs`, it is also listed again now and
// then, which repairs whatever a watch may have missed without saying so.
import { EventEmitter } from 'node:events';
import { Reloads } from './reloads.js';
import { listPrefix, systemClock, type Clock, type KeyValue, type Store, type TimerHandle, type Watch, type WatchBatch } from '../store/index.js';

export interface PrefixViewEvents {
  /** Changes of one revision, already applied to `kvs`. */
  change: [batch: WatchBatch];
  /** `kvs` was read again from scratch (first load, compaction, resync): treat everything as new. */
  reset: [];
  /** A failure the view recovers from by itself (it lists again). Not 'error': nothing to crash on. */
  failed: [error: Error];
}

export interface PrefixViewOptions {
  /** List everything again about this often (ms, ±25 % jitter); 0 or absent: only when the watch fails. */
  relistMs?: number;
  /** Randomness for the jitter (default Math.random). */
  random?: () => number;
  /** Keep keys and metadata only, values emptied: for followers that never read them (large contents). */
  keysOnly?: boolean;
}

/** What feeds a view from outside (a ViewGroup: several views from one list revision and one watch). */
export interface ViewFeed {
  resync(): Promise<void>;
}

/** Live map of key → key-value under one prefix. */
export class PrefixView extends EventEmitter<PrefixViewEvents> {
  readonly kvs = new Map<string, KeyValue>();
  /** The revision `kvs` reflects. */
  revision = 0;
  /** Set when a ViewGroup feeds this view: it lists and watches for it, and start/resync go to the group. */
  feed?: ViewFeed;
  private watch?: Watch;
  private generation = 0;
  private closed = false;
  private readonly reloads: Reloads;
  private relistTimer?: TimerHandle;

  constructor(
    private readonly store: Store,
    readonly prefix: string,
    private readonly clock: Clock = systemClock,
    private readonly options: PrefixViewOptions = {},
  ) {
    super();
    this.reloads = new Reloads({ attempt: () => this.reload(), closed: () => this.closed, clock, onFailure: (err) => this.emit('failed', err) });
  }

  /** Loads the prefix and starts following it; resolves after the first load. */
  start(): Promise<void> {
    if (this.feed) return this.feed.resync();
    this.scheduleRelist();
    return this.resync();
  }

  /** Whether values are left out. */
  get keysOnly(): boolean {
    return this.options.keysOnly ?? false;
  }

  /** Fed: the contents as listed at `revision` (emit 'reset' once every view of the feed is loaded). */
  load(kvs: KeyValue[], revision: number): void {
    this.kvs.clear();
    for (const kv of kvs) this.kvs.set(kv.key, kv);
    this.revision = revision;
  }

  /** Fed: applies this view's events of one revision (maybe none); emit 'change' once every view has applied its own. */
  apply(events: WatchBatch['events'], revision: number): void {
    for (const ev of events) {
      if (ev.type === 'put') this.kvs.set(ev.kv.key, this.keysOnly ? { ...ev.kv, value: '' } : ev.kv);
      else this.kvs.delete(ev.kv.key);
    }
    this.revision = revision;
  }

  /** Reads everything again and re-watches; emits 'reset'. Calls meanwhile share one reload (see Reloads). */
  resync(): Promise<void> {
    return this.feed ? this.feed.resync() : this.reloads.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    if (this.relistTimer) this.clock.clearTimeout(this.relistTimer);
    await this.watch?.close();
    this.watch = undefined;
  }

  private scheduleRelist(): void {
    const every = this.options.relistMs ?? 0;
    if (every <= 0 || this.closed) return;
    const random = this.options.random ?? Math.random;
    this.relistTimer = this.clock.setTimeout(() => {
      if (this.closed) return;
      void this.resync().finally(() => this.scheduleRelist());
    }, Math.round(every * (0.75 + random() * 0.5)));
  }

  /** One try at listing and re-watching. */
  private async reload(): Promise<void> {
    const gen = ++this.generation;
    await this.watch?.close();
    this.watch = undefined;
    const { kvs, revision } = await listPrefix(this.store, this.prefix, { keysOnly: this.options.keysOnly });
    if (this.closed || gen !== this.generation) return;
    this.kvs.clear();
    for (const kv of kvs) this.kvs.set(kv.key, kv);
    this.revision = revision;
    this.follow(gen, revision + 1);
    this.emit('reset');
    await this.watch!.ready;
  }

  private follow(gen: number, from: number): void {
    const watch = this.store.watch(this.prefix, { prefix: true, fromRevision: from });
    this.watch = watch;
    watch.on('events', (batch) => {
      if (gen !== this.generation) return;
      for (const ev of batch.events) {
        if (ev.type === 'put') this.kvs.set(ev.kv.key, this.options.keysOnly ? { ...ev.kv, value: '' } : ev.kv);
        else this.kvs.delete(ev.kv.key);
      }
      this.revision = batch.revision;
      this.emit('change', batch);
    });
    watch.on('error', (err) => {
      if (gen !== this.generation || this.closed) return;
      this.emit('failed', err);
      void this.resync();
    });
  }
}

/** The keys of a view grouped by their first path segment after the prefix, kept up to date. */
export class PrefixGroups {
  private readonly groups = new Map<string, Map<string, KeyValue>>();

  constructor(private readonly view: PrefixView) {
    view.on('reset', () => this.rebuild());
    view.on('change', (batch) => {
      for (const ev of batch.events) {
        if (ev.type === 'put') this.add(ev.kv);
        else this.groups.get(this.groupOf(ev.kv.key))?.delete(ev.kv.key);
      }
    });
    this.rebuild();
  }

  /** The key-values of one group (empty if none). */
  get(group: string): Iterable<KeyValue> {
    return this.groups.get(group)?.values() ?? [];
  }

  private groupOf(key: string): string {
    const rest = key.slice(this.view.prefix.length);
    const slash = rest.indexOf('/');
    return slash < 0 ? rest : rest.slice(0, slash);
  }

  private add(kv: KeyValue): void {
    const g = this.groupOf(kv.key);
    let m = this.groups.get(g);
    if (!m) this.groups.set(g, (m = new Map()));
    m.set(kv.key, kv);
  }

  private rebuild(): void {
    this.groups.clear();
    for (const kv of this.view.kvs.values()) this.add(kv);
  }
}
