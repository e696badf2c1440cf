// Keeps one lease alive on any store and says, as an event, when it is lost. Every deadline here
// is on the clock's monotonic reading: a wall clock stepped back must not make a lost lease look alive.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type TimerHandle } from './clock.js';
import { LeaseNotFoundError, StoreError, UnavailableError } from './errors.js';
import type { LeaseId, Store } from './types.js';

export interface LeaseKeeperEvents {
  /** A keepalive was acknowledged; the lease now lasts at least until `expiresBy`. */
  renewed: [expiresBy: number];
  /** A keepalive failed (the keeper retries until the lease is surely gone). */
  failed: [error: Error];
  /** The lease is gone (expired, revoked elsewhere, or unconfirmed for a whole TTL). Emitted once. */
  lost: [error: Error];
}

/** Raised by LeaseKeeper.grant when the store answered too late for the lease to be of use. */
export class LeaseTooLateError extends UnavailableError {
  constructor(lease: LeaseId, leftMs: number) {
    super(`lease ${lease} was confirmed with only ${Math.max(0, Math.round(leftMs))} ms left: the store answers too slowly; a new lease will be tried`);
  }
}

/** A granted lease, renewed every TTL/3 until stopped or lost. */
export class LeaseKeeper extends EventEmitter<LeaseKeeperEvents> {
  /** Monotonic time (clock.monotonic()) by which the lease has expired unless a keepalive is acknowledged. */
  expiresBy: number;
  private timer?: TimerHandle;
  private stopped = false;

  private constructor(
    private readonly store: Store,
    readonly id: LeaseId,
    readonly ttl: number,
    private readonly clock: Clock,
    expiresBy: number,
  ) {
    super();
    this.expiresBy = expiresBy;
    this.scheduleRenewal();
  }

  /**
   * Grants a lease of `ttl` seconds and starts keeping it alive. A grant's deadline counts from when
   * it was asked for, and a store that was frozen answers late: a grant with less than `minLeftMs`
   * to live is renewed at once (from now); if even that comes back too late, the lease is revoked and
   * LeaseTooLateError thrown, so a caller never holds a lease that is already (nearly) gone.
   */
  static async grant(store: Store, ttl: number, clock: Clock = systemClock, minLeftMs = 0): Promise<LeaseKeeper> {
    let sent = clock.monotonic();
    const grant = await store.grantLease(ttl);
    let expiresBy = sent + grant.ttl * 1000;
    if (expiresBy - clock.monotonic() < minLeftMs) {
      try {
        sent = clock.monotonic();
        const { ttl: renewed } = await store.keepAliveOnce(grant.id);
        expiresBy = sent + renewed * 1000;
        const left = expiresBy - clock.monotonic();
        if (left < minLeftMs) throw new LeaseTooLateError(grant.id, left);
      } catch (err) {
        store.revokeLease(grant.id).catch(() => undefined);
        throw err;
      }
    }
    return new LeaseKeeper(store, grant.id, grant.ttl, clock, expiresBy);
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

  /** Renews a third of the TTL after the last confirmed renewal was sent: at once if it was answered late. */
  private scheduleRenewal(): void {
    const sent = this.expiresBy - this.ttl * 1000;
    this.schedule(Math.max(10, sent + this.interval() - this.clock.monotonic()));
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.clock.setTimeout(() => void this.renew(), ms);
  }

  private async renew(): Promise<void> {
    if (this.stopped) return;
    // Measured from when the request left: the server renewed at or after this moment.
    const sent = this.clock.monotonic();
    try {
      const { ttl } = await this.beforeExpiry(this.store.keepAliveOnce(this.id));
      if (this.stopped) return;
      this.expiresBy = Math.max(this.expiresBy, sent + ttl * 1000);
      this.emit('renewed', this.expiresBy);
      this.scheduleRenewal();
    } catch (err) {
      if (this.stopped) return;
      const now = this.clock.monotonic();
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
      timer = this.clock.setTimeout(() => reject(new LeaseNotFoundError(this.id)), Math.max(0, this.expiresBy - this.clock.monotonic()));
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
