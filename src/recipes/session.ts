// A session: a lease kept alive, plus a self-fencing deadline. Whoever holds a session may act
// (run items, lead) only while `valid`: the deadline falls a margin before the lease could expire
// on the store, so work stops before anyone else can take it over.
import { EventEmitter } from 'node:events';
import { LeaseKeeper, systemClock, type Clock, type LeaseId, type Store, type TimerHandle } from '../store/index.js';

export interface SessionOptions {
  /** Lease TTL in seconds (minimum 2). */
  ttl: number;
  clock?: Clock;
  /** How long before the lease could expire the session fences itself (default: TTL/4, 0.8–2 s). */
  marginMs?: number;
}

export interface SessionEvents {
  /** A keepalive was acknowledged: the session is valid until `fenceAt`. */
  renewed: [fenceAt: number];
  /** The session is over: fenced (deadline passed without renewal), the lease is gone, or it was closed. Once. */
  lost: [reason: Error];
}

/** Raised when a session's deadline passes before a keepalive was acknowledged. */
export class SessionFencedError extends Error {
  constructor(lease: string) {
    super(`session ${lease} fenced itself: no keepalive acknowledged in time, its lease may expire any moment`);
    this.name = 'SessionFencedError';
  }
}

/** A live lease with a self-fencing deadline. */
export class Session extends EventEmitter<SessionEvents> {
  /** Clock time until which holders may act. */
  fenceAt: number;
  private timer?: TimerHandle;
  private over = false;

  private constructor(
    private readonly keeper: LeaseKeeper,
    private readonly clock: Clock,
    readonly marginMs: number,
  ) {
    super();
    this.fenceAt = keeper.expiresBy - marginMs;
    keeper.on('renewed', (expiresBy) => {
      this.fenceAt = expiresBy - marginMs;
      this.arm();
      this.emit('renewed', this.fenceAt);
    });
    keeper.on('lost', (err) => this.end(err));
    this.arm();
  }

  /** Grants a lease and starts keeping it alive. */
  static async open(store: Store, options: SessionOptions): Promise<Session> {
    const ttl = Math.max(2, Math.round(options.ttl));
    const clock = options.clock ?? systemClock;
    const margin = options.marginMs ?? Math.min(2000, Math.max(800, (ttl * 1000) / 4));
    const keeper = await LeaseKeeper.grant(store, ttl, clock);
    return new Session(keeper, clock, margin);
  }

  get lease(): LeaseId {
    return this.keeper.id;
  }

  get ttl(): number {
    return this.keeper.ttl;
  }

  /** The earliest moment the lease could expire on the store (clock ms). */
  get expiresBy(): number {
    return this.keeper.expiresBy;
  }

  /** Whether holders may still act: not lost, and the fencing deadline has not passed. */
  get valid(): boolean {
    return !this.over && this.clock.now() < this.fenceAt;
  }

  /** Ends the session and revokes the lease, so its keys go at once (clean shutdown). */
  async close(): Promise<void> {
    this.end(new Error('session closed'), false);
    await this.keeper.revoke();
  }

  /** Ends the session without revoking: its keys stay until the lease expires (a simulated crash). */
  abandon(): void {
    this.keeper.stop();
    this.end(new Error('session abandoned'), false);
  }

  private arm(): void {
    this.disarm();
    if (this.over) return;
    this.timer = this.clock.setTimeout(() => {
      // Not revoked: what ran under it may still be stopping; the lease expires within the margin.
      if (this.clock.now() >= this.fenceAt) this.end(new SessionFencedError(this.keeper.id), false);
      else this.arm();
    }, Math.max(0, this.fenceAt - this.clock.now()));
  }

  private disarm(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private end(err: Error, revoke = true): void {
    if (this.over) return;
    this.over = true;
    this.disarm();
    // The store reported the lease gone or unconfirmed: revoke in case it is still alive there.
    if (revoke) void this.keeper.revoke().catch(() => undefined);
    else this.keeper.stop();
    this.emit('lost', err);
  }
}
