// How EtcdStore calls etcd: each RPC retried while etcd is unavailable, within a deadline, with
// what the answers (and their absence) say about whether etcd can be reached.
import { sleep, type Clock } from '../clock.js';
import { StoreClosedError, UnavailableError } from '../errors.js';
import { Limiter } from '../limiter.js';
import { AttemptDeadline } from './attempt-deadline.js';
import { toStoreError } from './convert.js';

// Tuned so writes resume within ~3 s of an etcd leader change (defaults take ~7 s, see NOTES).
const DEFAULT_ATTEMPT_MS = 1500;
const DEFAULT_CALL_MS = 10_000;
// Once etcd is known to be away, a call waits this long for it, not 10 s: the API answers 503 at
// once instead of hanging, and the engine's own loops (which retry for ever) try again sooner.
const DEFAULT_FAIL_FAST_MS = 1500;
/** Known away: an attempt failed and none was answered for this long (a slow but live etcd answers some). */
const AWAY_AFTER_MS = 3000;
/** Calls one process has at etcd at once: more only lengthen etcd's queue (and its keepalives' wait). */
const MAX_IN_FLIGHT = 64;
/** reachability() reports etcd away after this long without an answer, while attempts fail or wait. */
const SILENT_MS = 1000;

/** Whether etcd answered the last attempt of any call; when not, since when and why. */
export type Reachability = { ok: true } | { ok: false; since: number; message: string };

/** What a call is about (for its errors), and whether it may pass the calls queued before it. */
export interface CallContext {
  revision?: number;
  lease?: string;
  /** A keepalive or revoke: a lease must not wait behind a burst of writes. */
  urgent?: boolean;
}

/** The calls of one EtcdStore. */
export class EtcdCalls {
  /** Each attempt's deadline, learnt from etcd's answers (attemptTimeoutMs at least). */
  private readonly deadline: AttemptDeadline;
  /** Calls at etcd at once, from this process. */
  private readonly inFlight = new Limiter(MAX_IN_FLIGHT);
  private readonly callMs: number;
  private readonly failFastMs: number;
  /** When (monotonic ms) etcd last answered an attempt of any call, and when one last failed. */
  private lastOkAt: number;
  private lastFailAt = -Infinity;
  /** The last failure that said more than "breaker open", whichever call met it. */
  private lastCause?: UnavailableError;
  /** Start (monotonic ms) of each attempt in flight: one unanswered for long says etcd hangs before it times out. */
  private readonly pending = new Set<{ at: number }>();

  constructor(private readonly o: { attemptTimeoutMs?: number; callTimeoutMs?: number; failFastMs?: number; clock: Clock; where: string; closed: () => boolean }) {
    this.callMs = o.callTimeoutMs ?? DEFAULT_CALL_MS;
    this.failFastMs = o.failFastMs ?? DEFAULT_FAIL_FAST_MS;
    this.deadline = new AttemptDeadline(o.attemptTimeoutMs ?? DEFAULT_ATTEMPT_MS, this.callMs);
    this.lastOkAt = o.clock.monotonic();
  }

  /** Whether etcd answers: not when, for a second, attempts have failed or waited unanswered (for health checks; costs nothing). */
  reachability(): Reachability {
    const now = this.o.clock.monotonic();
    if (now - this.lastOkAt < SILENT_MS) return { ok: true };
    if (this.lastFailAt > this.lastOkAt) return { ok: false, since: this.lastOkAt, message: this.unreachable(this.lastCause).message };
    // A frozen etcd does not refuse, it just does not answer: say so before the attempt times out.
    const oldest = Math.min(...[...this.pending].map((p) => p.at));
    if (now - oldest >= SILENT_MS) return { ok: false, since: oldest, message: `cannot reach etcd at ${this.o.where}: no answer for ${((now - oldest) / 1000).toFixed(1)} s` };
    return { ok: true };
  }

  /** Known away: an attempt failed since the last answer, and that was a while ago. */
  private get away(): boolean {
    return this.lastFailAt > this.lastOkAt && this.o.clock.monotonic() - this.lastOkAt >= AWAY_AFTER_MS;
  }

  /**
   * Runs one RPC, retrying while etcd is unavailable, within the call deadline: 10 s normally,
   * 1.5 s once etcd is known to be away (fail fast). Each attempt waits as long as etcd's answers
   * have lately taken (see AttemptDeadline), and a process has at most MAX_IN_FLIGHT calls at etcd
   * (keepalives and revokes aside: a lease must not wait behind a burst). What it throws says plainly
   * where etcd was sought and the last real failure, never a circuit breaker's wording.
   */
  async call<T>(
    attempt: (options: { deadline: Date }) => Promise<T>,
    context?: CallContext,
  ): Promise<T> {
    const started = this.o.clock.monotonic();
    return context?.urgent ? this.attempts(attempt, started, context) : this.inFlight.run(() => this.attempts(attempt, started, context));
  }

  private async attempts<T>(attempt: (options: { deadline: Date }) => Promise<T>, started: number, context?: CallContext): Promise<T> {
    const limit = () => started + (this.away ? Math.min(this.callMs, this.failFastMs) : this.callMs);
    let delay = 25;
    let timedOut = 0;
    let cause: UnavailableError | undefined; // the last failure that says more than "breaker open"
    for (;;) {
      if (this.o.closed()) throw new StoreClosedError();
      const now = this.o.clock.monotonic();
      const ms = Math.max(50, Math.min(this.deadline.forAttempt(timedOut), limit() - now));
      const inFlight = { at: now };
      this.pending.add(inFlight);
      try {
        const res = await attempt({ deadline: new Date(Date.now() + ms) });
        this.lastOkAt = this.o.clock.monotonic();
        this.deadline.answered(this.lastOkAt - now);
        return res;
      } catch (raw) {
        this.pending.delete(inFlight);
        const err = toStoreError(raw, context);
        if (!(err instanceof UnavailableError)) {
          if (!(err instanceof StoreClosedError)) {
            // etcd answered, with a refusal
            this.lastOkAt = this.o.clock.monotonic();
            this.deadline.answered(this.lastOkAt - now);
          }
          throw err;
        }
        if (this.o.closed()) throw err;
        this.lastFailAt = this.o.clock.monotonic();
        if (/deadline/i.test(err.message)) timedOut++;
        if (!err.message.includes('circuit breaker is open')) cause = this.lastCause = err;
        if (this.o.clock.monotonic() + delay >= limit()) throw this.unreachable(cause ?? this.lastCause);
        await sleep(this.o.clock, delay);
        delay = Math.min(delay * 2, 250);
      } finally {
        this.pending.delete(inFlight);
      }
    }
  }

  /** "cannot reach etcd at URL: why", from the last real failure (if any), without gRPC's wrapping. */
  private unreachable(cause: UnavailableError | undefined): UnavailableError {
    let why = 'no answer (the connection is being retried)';
    if (cause) {
      why = cause.message.replace(/^etcd unavailable: /, '').replace(/^\d+ [A-Z_]+: /, '');
      const last = why.match(/Last error: (?:Error: )?(.*?)(?:\. Resolution note:.*)?$/s)?.[1];
      if (last && last !== 'null') why = last;
      else why = why.replace(/\. Last error: .*$/s, '');
      why = why.replace(/^Deadline exceeded.*$/s, 'no answer in time').replace(/\s*\(\d{4}-\d\d-\d\dT[^)]*\)/, '').trim();
    }
    return new UnavailableError(`cannot reach etcd at ${this.o.where}: ${why}`, { cause, endpoint: this.o.where });
  }
}
