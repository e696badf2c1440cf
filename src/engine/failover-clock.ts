// Times failovers as the leader sees them: from a claim that went with its worker (the worker's
// lease ended: it died, was cut off, or stopped) to the item's next claim, by another worker. A claim
// released by a live worker (a move, an update) is not a failover and is not timed.
import type { PrefixView } from '../recipes/prefix-view.js';
import type { WatchBatch } from '../store/index.js';

/** Claims lost and not yet taken again, remembered at most (the oldest are forgotten first). */
const MAX_LOST = 10_000;

/** Follows the claims (active/) and reports each failover's duration in seconds. */
export class FailoverClock {
  private readonly holders = new Map<string, string>();
  private readonly lost = new Map<string, { at: number; worker: string }>();

  constructor(
    private readonly claims: PrefixView,
    private readonly isMember: (worker: string) => boolean,
    private readonly now: () => number,
    private readonly observe: (seconds: number) => void,
  ) {
    claims.on('reset', () => this.reload());
    claims.on('change', (batch) => this.changed(batch));
    this.reload();
  }

  private reload(): void {
    this.holders.clear();
    for (const kv of this.claims.kvs.values()) this.holders.set(kv.key.slice(this.claims.prefix.length), kv.value);
  }

  private changed(batch: WatchBatch): void {
    for (const ev of batch.events) {
      const id = ev.kv.key.slice(this.claims.prefix.length);
      if (ev.type === 'put') {
        const gone = this.lost.get(id);
        this.lost.delete(id);
        // By the time another worker claims it, a worker whose lease ended is no longer a member.
        if (gone && gone.worker !== ev.kv.value && !this.isMember(gone.worker)) this.observe((this.now() - gone.at) / 1000);
        this.holders.set(id, ev.kv.value);
        continue;
      }
      const worker = this.holders.get(id);
      this.holders.delete(id);
      if (worker === undefined) continue;
      if (this.lost.size >= MAX_LOST) this.lost.delete(this.lost.keys().next().value!);
      this.lost.set(id, { at: this.now(), worker });
    }
  }
}
