// Several prefix views that always show one revision of the store. Each view listing and watching
// on its own can be ahead of another: an item and its spec, written in one transaction, could be
// seen by the registry view before the specs view, and a task be planned as a service for a moment.
// A group lists every prefix at the revision of its first list, then follows them all with one
// watch on their common root; each batch is applied to every view before any view announces it.
import { EventEmitter } from 'node:events';
import { listPrefix, systemClock, type Clock, type Store, type Watch } from '../store/index.js';
import type { PrefixView, ViewFeed } from './prefix-view.js';
import { Reloads } from './reloads.js';

export interface ViewGroupEvents {
  /** Every view now shows `revision` (after a batch of the watch, or a reload). */
  revision: [revision: number];
}

/** Views under `root` fed from one list revision and one watch. */
export class ViewGroup extends EventEmitter<ViewGroupEvents> implements ViewFeed {
  private watch?: Watch;
  private generation = 0;
  private closed = false;
  private readonly reloads: Reloads;

  constructor(
    private readonly store: Store,
    /** A prefix every view's prefix starts with. */
    readonly root: string,
    private readonly views: PrefixView[],
    private readonly clock: Clock = systemClock,
  ) {
    super();
    this.reloads = new Reloads({ attempt: () => this.reload(), closed: () => this.closed, clock, onFailure: (err) => this.views.forEach((v) => v.emit('failed', err)) });
    for (const v of views) {
      if (!v.prefix.startsWith(root)) throw new Error(`view ${v.prefix} is not under ${root}`);
      v.feed = this;
    }
  }

  /** Loads every view and starts following them; resolves after the first load. */
  start(): Promise<void> {
    return this.resync();
  }

  /** Lists every view again at one revision and re-watches; each view emits 'reset'. Calls meanwhile share one reload (see Reloads). */
  resync(): Promise<void> {
    return this.reloads.run();
  }

  async close(): Promise<void> {
    this.closed = true;
    this.generation++;
    await this.watch?.close();
    this.watch = undefined;
  }

  /** One try at listing every view at one revision and re-watching. */
  private async reload(): Promise<void> {
    const gen = ++this.generation;
    await this.watch?.close();
    this.watch = undefined;
    const [first, ...rest] = this.views;
    const head = await listPrefix(this.store, first.prefix, { keysOnly: first.keysOnly });
    const lists = [head, ...(await Promise.all(rest.map((v) => listPrefix(this.store, v.prefix, { keysOnly: v.keysOnly, revision: head.revision }))))];
    if (this.closed || gen !== this.generation) return;
    this.views.forEach((v, i) => v.load(lists[i].kvs, head.revision));
    this.follow(gen, head.revision + 1);
    for (const v of this.views) v.emit('reset');
    this.emit('revision', head.revision);
    await this.watch!.ready;
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
