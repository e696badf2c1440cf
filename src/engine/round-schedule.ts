// When the leader plans: a round as soon as something changed, but rounds spaced by at least
// debounceMs and twice what the last one's planning and its writes took (so planning a large fleet
// never takes most of the CPU, and on a store whose writes are slow, as etcd's with fsync, a round
// gathers what arrived meanwhile: one task at a time on the embedded store goes through in ~2 ms,
// not ~7); a later change never postpones a round already due (a steady stream of changes would
// otherwise starve the workers). `coalesceMs` waits for related changes first: workers join and
// leave in bursts, and one plan for the whole burst moves fewer items than one per worker.
import type { Clock } from '../store/index.js';
import type { Logger } from './log.js';

/** What the schedule runs and reads. */
export interface RoundScheduleOptions {
  clock: Clock;
  random: () => number;
  log: Logger;
  debounceMs?: number;
  /** Plans and writes one round; resolves with when to plan again if nothing changes. */
  round(): Promise<number | undefined>;
  /** The least time between two rounds' starts (what the last ones cost). */
  spacingMs(): number;
  /** Whether a failed round should be tried again (still leading). */
  leading(): boolean;
}

/** One term's rounds, one at a time. */
export class RoundSchedule {
  private timer?: NodeJS.Timeout;
  private wake?: NodeJS.Timeout;
  private retry?: NodeJS.Timeout;
  private lastRoundAt = -Infinity;
  private due = Infinity;
  /** No round before start(): the views must have loaded first. */
  private held = true;
  /** The round under way (or the last one). */
  planning: Promise<void> = Promise.resolve();

  constructor(private readonly o: RoundScheduleOptions) {}

  /** Rounds may run from now on; plans one at once. */
  start(): void {
    this.held = false;
    this.plan();
  }

  /** A round soon (after `coalesceMs` at least), as spacing allows. */
  schedule(coalesceMs = 0): void {
    if (this.held) return;
    const now = this.o.clock.monotonic();
    const spacing = Math.max(this.o.debounceMs ?? 2, this.o.spacingMs());
    const at = Math.max(now + coalesceMs, this.lastRoundAt + spacing, now + 1);
    if (this.timer && this.due <= at) return;
    clearTimeout(this.timer);
    this.due = at;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      this.due = Infinity;
      this.plan();
    }, at - now);
  }

  /** A round right after the one under way (the periodic full round). */
  plan(): void {
    this.planning = this.planning
      .then(async () => {
        this.lastRoundAt = this.o.clock.monotonic();
        return this.o.round();
      })
      .then((wakeAt) => {
        clearTimeout(this.wake);
        if (wakeAt !== undefined) this.wake = setTimeout(() => this.schedule(), Math.max(0, wakeAt - this.o.clock.now()));
      })
      .catch((err: Error) => {
        // The store away a moment (an etcd election): plan again soon, not at the next change.
        this.o.log.error('planning failed, planning again soon', { error: err.message });
        if (this.o.leading()) this.retry ??= setTimeout(() => ((this.retry = undefined), this.schedule()), 500 + Math.round(this.o.random() * 500));
      });
  }

  /** No more rounds from now on; the promise resolves once the one under way has ended. */
  stop(): Promise<void> {
    this.held = true;
    clearTimeout(this.timer);
    clearTimeout(this.wake);
    clearTimeout(this.retry);
    return this.planning;
  }
}
