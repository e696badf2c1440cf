// The session a worker runs under, for as long as the worker runs: opened (retried until one is
// valid) with the worker's record written on it; when it is lost, the worker is told to stop what
// ran under it, the old lease is revoked once that work is quiet, and a new session is opened —
// however long the store is away, the worker comes back by itself.
import { BUSY_MAX_DELAY_MS, openSession, type Session } from '../recipes/session.js';
import { backoff, sleep, type Clock, type Store } from '../store/index.js';
import type { Logger } from './log.js';
import type { WorkerRecordPublisher } from './worker-record.js';

export interface WorkerSessionOptions {
  store: Store;
  workerId: string;
  ttl: number;
  clock: Clock;
  random: () => number;
  log: Logger;
  publisher: WorkerRecordPublisher;
  /** The worker's load, written in its record. */
  load: () => number;
  /** Aborted when the worker stops: no more sessions, no more releases. */
  signal: AbortSignal;
  /** Arranges for a session's lease to be revoked if this process dies; returns the cancel. */
  releaseOnDeath?: (lease: string) => () => void;
  /** A new session is in place. */
  onOpened: (session: Session) => void;
  /**
   * `session` is lost: stop everything that ran under it; resolve once it has stopped, with a
   * promise that settles once nothing more will be written under its claims (then it is revoked).
   */
  onLost: (session: Session, reason: Error) => Promise<{ quiet: Promise<unknown> }>;
}

/** One worker's succession of sessions. */
export class WorkerSession {
  /** The session the worker runs under now, if any. */
  current?: Session;
  private opening?: Promise<void>;
  /** Since when (monotonic ms) the worker has had no session, while it has none. */
  private since?: number;
  private lastError?: string;
  /** Pauses between failed registrations (sessions granted but the record not written in time). */
  private readonly registerRetry;

  constructor(private readonly o: WorkerSessionOptions) {
    this.since = o.clock.monotonic();
    this.registerRetry = backoff(100, BUSY_MAX_DELAY_MS, o.random);
  }

  /** Whether the worker may run items now (else why not). */
  health(): { ok: boolean; reason?: string } {
    const s = this.current;
    if (this.o.signal.aborted || s?.valid) return { ok: true };
    const since = this.since === undefined ? '' : ` for ${((this.o.clock.monotonic() - this.since) / 1000).toFixed(1)} s`;
    const why = s ? `session ${s.lease} is over (${s.endedBy?.message ?? 'fenced'})` : 'no session';
    return { ok: false, reason: `worker ${this.o.workerId}: ${why}${since}; opening a new one${this.lastError ? ` (last try: ${this.lastError})` : ''}` };
  }

  /** Opens a session unless one is being opened; resolves once the worker has one (or stops). */
  ensure(): Promise<void> {
    this.opening ??= this.open().finally(() => (this.opening = undefined));
    return this.opening;
  }

  /** Opens sessions until one is valid and the worker's record is written on it. */
  private async open(): Promise<void> {
    const { store, clock, random, log, signal } = this.o;
    while (!signal.aborted) {
      const session = await openSession(store, {
        ttl: this.o.ttl,
        clock,
        random,
        signal,
        onRetry: (err, inMs, tries) => {
          this.lastError = err.message;
          // The first failure, then now and then: an outage is not worth a line a second.
          if (tries % 20 === 1) log.warn('could not open a session, retrying until the store answers', { error: err.message, inMs, tries });
        },
      });
      if (!session) return;
      // Before anything is written under the lease: a node killed right after registering is
      // released by its guard, not after a TTL.
      const forget = this.o.releaseOnDeath?.(session.lease);
      const drop = () => {
        forget?.();
        void session.release(signal, random);
      };
      try {
        await this.o.publisher.register(session, this.o.load());
        this.registerRetry.reset();
      } catch (err) {
        this.lastError = (err as Error).message;
        drop();
        // Not at once: each try is a grant, a put and a revoke, and a thousand workers trying at
        // once keep an overloaded store overloaded.
        const ms = this.registerRetry.next();
        log.warn('could not register on a new session, trying another', { error: this.lastError, inMs: ms });
        await sleep(clock, ms, signal).catch(() => undefined);
        continue;
      }
      if (signal.aborted) {
        forget?.();
        return void (await session.close().catch(() => undefined));
      }
      if (!session.valid) {
        drop();
        continue;
      }
      session.setMaxListeners(0);
      this.current = session;
      this.since = this.lastError = undefined;
      // `done`, not 'lost': it cannot be missed, however soon the session ends.
      void session.done
        .then((err) => {
          forget?.();
          return this.lost(session, err);
        })
        .catch((err: Error) => log.error('could not recover from a lost session', { error: err.message }));
      session.on('renewed', (fenceAt) => log.debug('lease renewed', { lease: session.lease, fenceAt, expiresBy: session.expiresBy }));
      this.o.onOpened(session);
      return;
    }
  }

  private async lost(session: Session, reason: Error): Promise<void> {
    if (this.current !== session || this.o.signal.aborted) return;
    this.current = undefined;
    this.since = this.o.clock.monotonic();
    const { quiet } = await this.o.onLost(session, reason);
    const next = this.ensure();
    // Revoked once nothing more is written under its claims, and once the worker's record is on
    // the new lease (so the leader never sees the worker leave and move its items away): its
    // claims then go as soon as the store answers, not a TTL later (a restarted etcd renews every
    // lease it had).
    void Promise.all([quiet, next])
      .then(() => session.release(this.o.signal, this.o.random))
      .catch(() => undefined);
    await next;
  }
}
