// Now and then, a worker checks that every claim it runs under is still there and still its own.
// A lease that expires is the session's business; this catches what nobody announces to a worker
// that follows only its inbox (a claim deleted by hand), without following every claim of the fleet.
import type { Clock, Store, TimerHandle } from '../store/index.js';
import { lostClaims } from './claims.js';
import type { Keys } from './keys.js';
import type { Logger } from './log.js';

/** Periodic check of a worker's own claims (every `everyMs`, ±25 % jitter). */
export class ClaimAudit {
  private timer?: TimerHandle;
  private stopped = false;

  constructor(
    private readonly o: {
      store: Store;
      keys: Keys;
      clock: Clock;
      random: () => number;
      log: Logger;
      everyMs: number;
      /** The runs to check: id and fencing token. */
      runs: () => Array<{ id: string; token: number }>;
      /** A run whose claim is gone or not the one it holds (called with the token checked). */
      onLost: (id: string, token: number) => void;
    },
  ) {}

  start(): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => void this.check().finally(() => this.start()), Math.round(this.o.everyMs * (0.75 + this.o.random() * 0.5)));
  }

  stop(): void {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
  }

  private async check(): Promise<void> {
    const runs = this.o.runs();
    try {
      const lost = new Set(await lostClaims(this.o.store, this.o.keys, runs));
      for (const run of runs) if (lost.has(run.id) && !this.stopped) this.o.onLost(run.id, run.token);
    } catch (err) {
      this.o.log.warn('could not check our claims', { error: (err as Error).message });
    }
  }
}
