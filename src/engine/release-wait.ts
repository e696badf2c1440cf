// Waiting for another holder's claim to go. A worker follows only its inbox, not every claim; when
// an item assigned to it is still held elsewhere (a handover under way: the old owner is stopping,
// or its lease is about to expire), it watches that one claim key until it is deleted, then tries
// again. One single-key watch per item it waits on, closed once it fires.
import type { Store, Watch } from '../store/index.js';
import type { Keys } from './keys.js';

/** Single-key watches on claims held by others, each calling back once when its claim goes. */
export class ReleaseWaiter {
  private readonly watches = new Map<string, Watch>();

  constructor(
    private readonly store: Store,
    private readonly keys: Keys,
    /** The claim on `id` was deleted, or the watch failed: look at the item again. */
    private readonly onReleased: (id: string) => void,
  ) {}

  /** Calls back once the claim on `id` that was seen at `revision` is deleted (once per item at a time). */
  wait(id: string, revision: number): void {
    if (this.watches.has(id)) return;
    const watch = this.store.watch(this.keys.claim(id), { fromRevision: revision + 1 });
    this.watches.set(id, watch);
    const fire = () => {
      if (this.watches.get(id) !== watch) return;
      this.watches.delete(id);
      void watch.close().catch(() => undefined);
      this.onReleased(id);
    };
    watch.on('events', (b) => b.events.some((e) => e.type === 'delete') && fire());
    // A failed watch (the store away, history compacted): the next claim attempt finds out.
    watch.on('error', fire);
  }

  /** Stops waiting on `id` (it left the inbox). */
  cancel(id: string): void {
    const watch = this.watches.get(id);
    if (!watch) return;
    this.watches.delete(id);
    void watch.close().catch(() => undefined);
  }

  /** How many claims are waited on now. */
  get size(): number {
    return this.watches.size;
  }

  async close(): Promise<void> {
    const all = [...this.watches.values()];
    this.watches.clear();
    await Promise.all(all.map((w) => w.close().catch(() => undefined)));
  }
}
