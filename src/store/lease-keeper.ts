// Keeps one lease alive on any store and says, as an event, when it is lost.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { LeaseNotFoundError, StoreError } from './errors.js';
import type { LeaseId, Store } from './types.js';

export interface LeaseKeeperEvents {
  /** A keepalive was acknowledged; the lease now lasts at least until `expiresBy`. */
  renewed: [expiresBy: number];
  /** A keepalive failed (the keeper retries until the lease is surely gone). */
  failed: [error: Error];
  /** The lease is gone (expired, revoked elsewhere, or unconfirmed for a whole TTL). Emitted once. */
  lost: [error: Error];
}

/** A granted lease, renewed every TTL/3 until stopped or lost. */
export class LeaseKeeper extends EventEmitter<LeaseKeeperEvents> {
  /** Time (clock ms) by which the lease has expired unless a keepalive is acknowledged. */
  expiresBy: number;
  private timer?: TimerHandle;
  private stopped = false;

  private constructor(
    private readonly store: Store,
    readonly id: LeaseId,
    readonly ttl: number,
    private readonly clock: Clock,
    grantedAt: number,
  ) {
    super();
    this.expiresBy = grantedAt + ttl * 1000;
    this.schedule(this.interval());
  }

  /** Grants a lease of `ttl` seconds and starts keeping it alive. */
  static async grant(store: Store, ttl: number, clock: Clock = systemClock): Promise<LeaseKeeper> {
    const sent = clock.now();
    const grant = await store.grantLease(ttl);
    return new LeaseKeeper(store, grant.id, grant.ttl, clock, sent);
  }

  /** Whether the keeper still keeps the lease alive. */
  get active(): boolean {
    return !this.stopped;
  }

  /** Stops keepalives without revoking: the lease expires one TTL after the last renewal. */
  stop(): void {
    this.stopped = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
  }

  /** Stops keepalives and revokes the lease, deleting its keys at once. */
  async revoke(): Promise<void> {
    this.stop();
    try {
      await this.store.revokeLease(this.id);
    } catch (err) {
      if (!(err instanceof LeaseNotFoundError)) throw err;
    }
  }

  private interval(): number {
    return Math.max(100, (this.ttl * 1000) / 3);
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => void this.renew(), ms);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    // Measured from when the request left: the server renewed at or after this moment.
    const sent = this.clock.now();
    try {
      const { ttl } = await this.beforeExpiry(this.store.keepAliveOnce(this.id));
      if (this.stopped) return;
      this.expiresBy = sent + ttl * 1000;
      this.emit('renewed', this.expiresBy);
      this.schedule(this.interval());
    } catch (err) {
      if (this.stopped) return;
      const now = this.clock.now();
      if (err instanceof LeaseNotFoundError || now >= this.expiresBy) {
        return this.lose(err instanceof LeaseNotFoundError ? err : new LeaseNotFoundError(this.id));
      }
      this.emit('failed', err instanceof StoreError ? err : new Error(String(err)));
      // Retry soon, but never sleep past the moment the lease would expire.
      this.schedule(Math.min(250, Math.max(10, this.expiresBy - now)));
    }
  }

  /** `call`, unless the lease would expire first: then the lease is presumed lost. */
  private beforeExpiry<T>(call: Promise<T>): Promise<T> {
    let timer: TimerHandle | undefined;
    const expiry = new Promise<never>((_, reject) => {
      timer = this.clock.setTimeout(() => reject(new LeaseNotFoundError(this.id)), Math.max(0, this.expiresBy - this.clock.now()));
    });
    call.catch(() => undefined); // may settle after we gave up on it
    return Promise.race([call, expiry]).finally(() => this.clock.clearTimeout(timer!));
  }

  private lose(err: Error): void {
    this.stop();
    // If a late keepalive did get through, do not leave the keys alive for another TTL.
    this.store.revokeLease(this.id).catch(() => undefined);
    this.emit('lost', err);
  }
}
