// Several prefix views that always show one revision of the store. Each view listing and watching
// on its own can be ahead of another: an item and its spec, written in one transaction, could be
// seen by the registry view before the specs view, and a task be planned as a service for a moment.
// A group lists every prefix at the revision of its first list, then follows them all with one
// watch on their common root; each batch is applied to every view before any view announces it.
import { EventEmitter } from 'node:events';
import { listPrefix, sleep, systemClock, type Clock, type Store, type Watch } from '../store/index.js';
import type { PrefixView, ViewFeed } from './prefix-view.js';

export interface ViewGroupEvents {
  /** Every view now shows `revision` (after a batch of the watch, or a reload). */
  revision: [revision: number];
}

/** Views under `root` fed from one list revision and one watch. */
export class ViewGroup extends EventEmitter<ViewGroupEvents> implements ViewFeed {
  private watch?: Watch;
  private generation = 0;
  private closed = false;
  private loading?: Promise<void>;
  private again = false;

  constructor(
    private readonly store: Store,
    /** A prefix every view's prefix starts with. */
    readonly root: string,
    private readonly views: PrefixView[],
    private readonly clock: Clock = systemClock,
  ) {
    super();
    for (const v of views) {
      if (!v.prefix.startsWith(root)) throw new Error(`view ${v.prefix} is not under ${root}`);
      v.feed = this;
    }
  }

  /** Loads every view and starts following them; resolves after the first load. */
  start(): Promise<void> {
    return this.resync();
  }

  /** Lists every view again at one revision and re-watches; each view emits 'reset'. Calls meanwhile share one reload (run once more after it). */
  resync(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        await this.reload();
      } while (this.again && !this.closed);
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    await this.watch?.close();
    this.watch = undefined;
  }

  private async reload(): Promise<void> {
    for (let delay = 50, tries = 1; !this.closed; delay = Math.min(delay * 2, 1000), tries++) {
      const gen = ++this.generation;
      await this.watch?.close();
      this.watch = undefined;
      try {
        const [first, ...rest] = this.views;
        const head = await listPrefix(this.store, first.prefix, { keysOnly: first.keysOnly });
        const lists = [head, ...(await Promise.all(rest.map((v) => listPrefix(this.store, v.prefix, { keysOnly: v.keysOnly, revision: head.revision }))))];
        if (this.closed || gen !== this.generation) return;
        this.views.forEach((v, i) => v.load(lists[i].kvs, head.revision));
        this.follow(gen, head.revision + 1);
        for (const v of this.views) v.emit('reset');
        this.emit('revision', head.revision);
        await this.watch!.ready;
        return;
      } catch (err) {
        if (this.closed) return;
        if (tries === 1 || tries % 30 === 0) for (const v of this.views) v.emit('failed', err as Error);
        await sleep(this.clock, delay);
      }
    }
  }

  private follow(gen: number, from: number): void {
    const watch = this.store.watch(this.root, { prefix: true, fromRevision: from });
    this.watch = watch;
    watch.on('events', (batch) => {
      if (gen !== this.generation) return;
      const announced: Array<[PrefixView, typeof batch]> = [];
      for (const v of this.views) {
        const events = batch.events.filter((e) => e.kv.key.startsWith(v.prefix));
        v.apply(events, batch.revision);
        if (events.length) announced.push([v, { ...batch, events }]);
      }
      for (const [v, b] of announced) v.emit('change', b);
      this.emit('revision', batch.revision);
    });
    watch.on('error', (err) => {
      if (gen !== this.generation || this.closed) return;
      for (const v of this.views) v.emit('failed', err);
      void this.resync();
    });
  }
}
