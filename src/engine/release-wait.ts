// Waiting for another holder's claim to go. A worker follows only its inbox, not every claim; when
// an item assigned to it is still held elsewhere (a handover under way: the old owner is stopping,
// or its lease is about to expire), it watches that one claim key until it is deleted, then tries
// again. One single-key watch per item it waits on, closed once it fires.
//
// The watch starts from now, not from the revision the claim was seen at: etcd serves a watch that
// starts in the past from its history, in a sweep every 100 ms (a handover of hundreds waited on
// it). What happened between that read and the watch is found by reading the claim once more
// when the watch is in place.
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
    /** Reads a claim's mod revision (0: gone); reads of the same moment may share a transaction. */
    private readonly claimRevision: (key: string) => Promise<number> = async (key) => (await store.get(key))?.modRevision ?? 0,
  ) {}

  /** Calls back once the claim on `id` that was seen at `revision` is deleted (once per item at a time). */
  wait(id: string, revision: number): void {
    if (this.watches.has(id)) return;
    const key = this.keys.claim(id);
    const watch = this.store.watch(key);
    this.watches.set(id, watch);
    const fire = () => {
      if (this.watches.get(id) !== watch) return;
      this.watches.delete(id);
      void watch.close().catch(() => undefined);
      this.onReleased(id);
    };
    watch.on('events', (b) => b.events.some((e) => e.type === 'delete') && fire());
    // A failed watch (the store away): the next claim attempt finds out.
    watch.on('error', fire);
    // Released (or claimed anew) since it was seen at `revision`, before the watch was in place: look again now.
    void watch.ready
      .then(() => this.claimRevision(key))
      .then((mod) => (mod === 0 || mod > revision) && fire())
      .catch(fire);
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
