// Time comes in from outside (DESIGN "Layers"), so tests can drive it and failures replay.
// Two readings: wall time for what is recorded (startedAt, finishedAt, retryAt) and a monotonic
// reading for every deadline (fencing, lease expiry, call timeouts): a clock that NTP or an
// operator steps back must not delay self-fencing, and one stepped forward must not cut it short.

/** An opaque timer handle. */
export type TimerHandle = { readonly __timer: unique symbol } | object;

/** Now and timers. Everything above the store takes one instead of calling Date.now or setTimeout. */
export interface Clock {
  /** Milliseconds since the epoch (wall time): for records people read, never for deadlines. */
  now(): number;
  /**
   * Milliseconds on a clock that never steps: for deadlines. The system clock's reading is
   * performance.timeOrigin + performance.now(), i.e. the epoch time of process start plus the
   * monotonic time since, so it reads close to now() until the wall clock is stepped.
   */
  monotonic(): number;
  setTimeout(fn: () => void, ms: number): TimerHandle;
  clearTimeout(handle: TimerHandle): void;
}

/** The real clock. */
export const systemClock: Clock = {
  now: () => Date.now(),
  monotonic: () => performance.timeOrigin + performance.now(),
  setTimeout: (fn, ms) => setTimeout(fn, ms),
  clearTimeout: (handle) => clearTimeout(handle as NodeJS.Timeout),
};

/**
 * Milliseconds left until `deadline`, a reading of `clock.monotonic()` (what sessions, ctx.fenceAt()
 * and ctx.onRenewed give). Negative once it has passed. Durations, not deadlines, are what may
 * cross a process boundary: each process's monotonic clock has its own origin.
 */
export function remainingMs(deadline: number, clock: Clock = systemClock): number {
  return deadline - clock.monotonic();
}

/** Resolves after `ms` on `clock`, or rejects with the signal's reason when it aborts first. */
export function sleep(clock: Clock, ms: number, signal?: AbortSignal): Promise<void> {
  return new Promise((resolve, reject) => {
    if (signal?.aborted) return reject(signal.reason);
    const onAbort = () => {
      clock.clearTimeout(timer);
      reject(signal!.reason);
    };
    const timer = clock.setTimeout(() => {
      signal?.removeEventListener('abort', onAbort);
      resolve();
    }, ms);
    signal?.addEventListener('abort', onAbort, { once: true });
  });
}

/** A delay that doubles from `firstMs` up to `maxMs`, each draw spread ±25 % so a fleet does not retry in step. */
export function backoff(firstMs: number, maxMs: number, random: () => number = Math.random): { next(): number; reset(): void } {
  let base = firstMs;
  return {
    next: () => {
      const ms = Math.round(base * (0.75 + random() * 0.5));
      base = Math.min(maxMs, base * 2);
      return ms;
    },
    reset: () => {
      base = firstMs;
    },
  };
}
