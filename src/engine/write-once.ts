// Conditional writes that a retry cannot turn into a failure. The etcd adapter sends a call again
// when its answer does not come in time, and the first attempt may have committed all the same: a
// create-if-absent then finds its own key and reports a conflict, a delete finds nothing and says
// "not found". So each conditional write also puts a marker, requests/<requestId>, in the same
// transaction, on a short lease of the writer's. When the compares fail, the failure branch reads
// the marker: finding it means an earlier attempt of this very request committed — a success.
import { randomUUID } from 'node:crypto';
import { LeaseNotFoundError, systemClock, type Clock, type Store, type TxnRequest, type TxnResult } from '../store/index.js';
import type { Keys } from './keys.js';

/** A transaction's outcome; `replayed` when an earlier attempt committed it (results are then empty). */
export interface OnceResult extends TxnResult {
  replayed: boolean;
}

/** Markers must outlive every retry of a call (10 s by default); they live at least half the TTL. */
const MARKER_TTL_SECONDS = 120;

/** Runs conditional writes exactly once from the caller's point of view. */
export class WriteOnce {
  private lease?: { id: string; grantedAt: number };
  private granting?: Promise<string>;

  constructor(
    readonly store: Store,
    private readonly keys: Keys,
    private readonly clock: Clock = systemClock,
  ) {}

  /**
   * Runs `request` once. Succeeded when its compares held in this attempt or in an earlier one of
   * the same request (the store retried it after committing). A request without compares cannot
   * fail and needs no marker.
   */
  async txn(request: TxnRequest, requestId: string = randomUUID()): Promise<OnceResult> {
    if (!request.compare?.length) return { ...(await this.store.txn(request)), replayed: false };
    const marker = this.keys.request(requestId);
    for (let tries = 0; ; tries++) {
      const lease = await this.currentLease();
      try {
        const r = await this.store.txn({
          // The marker is also a compare, so a retry never applies the request a second time.
          compare: [...request.compare, { key: marker, target: 'create', op: '==', value: 0 }],
          success: [...(request.success ?? []), { type: 'put', key: marker, value: '', lease }],
          failure: [...(request.failure ?? []), { type: 'range', key: marker, countOnly: true }],
        });
        const last = r.results[r.results.length - 1];
        if (!r.succeeded && last?.type === 'range' && last.count > 0) return { succeeded: true, revision: r.revision, results: [], replayed: true };
        return { ...r, results: r.results.slice(0, -1), replayed: false };
      } catch (err) {
        // The marker lease expired (a long pause): nothing was written; take a new one.
        if (!(err instanceof LeaseNotFoundError) || tries >= 2) throw err;
        this.lease = undefined;
      }
    }
  }

  /** The lease markers go on: granted on first use, replaced once half its TTL has passed. */
  private async currentLease(): Promise<string> {
    const now = this.clock.now();
    if (this.lease && now - this.lease.grantedAt <= (MARKER_TTL_SECONDS * 1000) / 2) return this.lease.id;
    // One grant at a time: concurrent writes wait for the same one.
    this.granting ??= this.store
      .grantLease(MARKER_TTL_SECONDS)
      .then((g) => {
        this.lease = { id: g.id, grantedAt: now };
        return g.id;
      })
      .finally(() => (this.granting = undefined));
    return this.granting;
  }
}
