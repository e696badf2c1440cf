// A session: a lease kept alive, plus a self-fencing deadline. Whoever holds a session may act
// (run items, lead) only while `valid`: the deadline falls a margin before the lease could expire
// on the store, so work stops before anyone else can take it over. Deadlines are monotonic
// (Clock.monotonic): a wall clock stepped back cannot delay fencing.
//
// A session is over for good once lost; its holder opens a new one (openSession retries until one
// is valid), so a holder comes back by itself after any outage of the store.
import { EventEmitter } from 'node:events';
import { backoff, LeaseKeeper, LeaseNotFoundError, sleep, systemClock, type Clock, type LeaseId, type Store, type TimerHandle } from '../store/index.js';

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
  /** Monotonic time (clock.monotonic()) until which holders may act. */
  fenceAt: number;
  /** Resolves with the reason once the session is over; unlike 'lost', it is never missed by a late subscriber. */
  readonly done: Promise<Error>;
  /** Why the session ended, once it has. */
  endedBy?: Error;
  private timer?: TimerHandle;
  private over = false;
  private settle!: (reason: Error) => void;

  private constructor(
    private readonly keeper: LeaseKeeper,
    private readonly clock: Clock,
    readonly marginMs: number,
  ) {
    super();
    this.done = new Promise((resolve) => (this.settle = resolve));
    this.fenceAt = keeper.expiresBy - marginMs;
    keeper.on('renewed', (expiresBy) => {
      this.fenceAt = expiresBy - marginMs;
      this.arm();
      this.emit('renewed', this.fenceAt);
    });
    keeper.on('lost', (err) => this.end(err));
    this.arm();
  }

  /**
   * Grants a lease and starts keeping it alive. Resolves only with a session that is valid, and
   * for a while yet: a grant answered so late that its deadline is (nearly) past is renewed from
   * now or, failing that, given up — it rejects then, and the caller tries again.
   */
  static async open(store: Store, options: SessionOptions): Promise<Session> {
    const ttl = Math.max(2, Math.round(options.ttl));
    const clock = options.clock ?? systemClock;
    const margin = options.marginMs ?? Math.min(2000, Math.max(800, (ttl * 1000) / 4));
    // At least half the time a session can be valid for must be left, or it fences before its first renewal.
    const keeper = await LeaseKeeper.grant(store, ttl, clock, margin + (ttl * 1000 - margin) / 2);
    return new Session(keeper, clock, margin);
  }

  get lease(): LeaseId {
    return this.keeper.id;
  }

  get ttl(): number {
    return this.keeper.ttl;
  }

  /** The earliest moment the lease could expire on the store (monotonic ms). */
  get expiresBy(): number {
    return this.keeper.expiresBy;
  }

  /** Whether holders may still act: not lost, and the fencing deadline has not passed. */
  get valid(): boolean {
    return !this.over && this.clock.monotonic() < this.fenceAt;
  }

  /** Milliseconds holders may still act for (0 once over). */
  get remainingMs(): number {
    return this.over ? 0 : Math.max(0, this.fenceAt - this.clock.monotonic());
  }

  /** Ends the session and revokes the lease, so its keys go at once (clean shutdown). */
  async close(): Promise<void> {
    this.end(new Error('session closed'), false);
    await this.keeper.revoke();
  }

  /**
   * Revokes the lease of a session that is over, retrying while the store is unreachable, so its
   * keys go as soon as the store answers instead of a TTL later (a restarted etcd renews every
   * lease it had). Call it only once nothing runs under the session any more. Never rejects.
   */
  async release(signal?: AbortSignal, random: () => number = Math.random): Promise<void> {
    this.end(new Error('session released'), false);
    const delay = backoff(100, 500, random);
    while (!signal?.aborted) {
      try {
        return await this.keeper.revoke();
      } catch (err) {
        if (err instanceof LeaseNotFoundError) return;
        await sleep(this.clock, delay.next(), signal).catch(() => undefined);
      }
    }
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
      // Not revoked: what ran under it may still be stopping; its holder releases it after that.
      if (this.clock.monotonic() >= this.fenceAt) this.end(new SessionFencedError(this.keeper.id), false);
      else this.arm();
    }, Math.max(0, this.fenceAt - this.clock.monotonic()));
  }

  private disarm(): void {
    if (this.timer) this.clock.clearTimeout(this.timer);
    this.timer = undefined;
  }

  private end(err: Error, revoke = true): void {
    if (this.over) return;
    this.over = true;
    this.endedBy = err;
    this.disarm();
    // The store reported the lease gone or unconfirmed: revoke in case it is still alive there.
    if (revoke) void this.keeper.revoke().catch(() => undefined);
    else this.keeper.stop();
    this.emit('lost', err);
    this.settle(err);
  }
}

/** Whether `store` answers other calls now (it is busy, not away): a failure then is overload. */
export const storeAnswers = (store: Store): boolean => (store as { reachability?: () => { ok: boolean } }).reachability?.().ok === true;

/**
 * Opens a session, retrying until one is valid or `signal` aborts; undefined then. A holder that
 * must keep working after any outage uses this. While the store is away, tries come fast (jittered,
 * up to `maxDelayMs`), to be back as soon as it is; while it answers others but not us in time (it
 * is overloaded), they back off further, up to `busyMaxDelayMs`: each try is a grant, a put and a
 * revoke, and a thousand workers retrying at once keep it overloaded.
 */
export async function openSession(
  store: Store,
  options: SessionOptions & { signal?: AbortSignal; random?: () => number; maxDelayMs?: number; busyMaxDelayMs?: number; onRetry?: (err: Error, inMs: number, tries: number) => void },
): Promise<Session | undefined> {
  const clock = options.clock ?? systemClock;
  const away = backoff(100, options.maxDelayMs ?? 500, options.random);
  const busy = backoff(250, options.busyMaxDelayMs ?? BUSY_MAX_DELAY_MS, options.random);
  for (let tries = 1; !options.signal?.aborted; tries++) {
    try {
      const session = await Session.open(store, options);
      if (!options.signal?.aborted && session.valid) return session;
      void session.release();
    } catch (err) {
      if (options.signal?.aborted) break;
      const ms = (storeAnswers(store) ? busy : away).next();
      options.onRetry?.(err as Error, ms, tries);
      await sleep(clock, ms, options.signal).catch(() => undefined);
    }
  }
  return undefined;
}

/**
 * The longest pause between tries while the store is overloaded. Longer pauses spare an overloaded
 * etcd more, but a worker in one when the store recovers waits it out: the chaos runner's settle
 * time (every item running again within 5 s of the faults' end) grew to 4.2 s with 30 s.
 */
export const BUSY_MAX_DELAY_MS = 2_000;
