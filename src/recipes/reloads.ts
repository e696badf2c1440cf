// Reloading what a follower shows (a prefix view, a group of views): one reload at a time. A call
// while one runs makes it run once more after it (the reason for the call may have come after it
// listed, or its new watch may be the one that failed), and every caller meanwhile shares that one
// promise. Each reload is tried until it succeeds or the follower closes, with backoff, reporting
// failures on the first try and every 30th (not once a second for a whole outage).
import { sleep, type Clock } from '../store/index.js';

/** One reload at a time, retried until it takes. */
export class Reloads {
  private loading?: Promise<void>;
  private again = false;

  constructor(
    private readonly o: {
      /** One try: lists and re-watches; throws if the store did not answer. */
      attempt: () => Promise<void>;
      closed: () => boolean;
      clock: Clock;
      onFailure: (err: Error) => void;
    },
  ) {}

  /** Reloads (once more if one is under way); resolves when the last reload asked for is done. */
  run(): Promise<void> {
    if (this.loading) {
      this.again = true;
      return this.loading;
    }
    this.loading = (async () => {
      do {
        this.again = false;
        await this.untilDone();
      } while (this.again && !this.o.closed());
    })().finally(() => (this.loading = undefined));
    return this.loading;
  }

  private async untilDone(): Promise<void> {
    for (let delay = 50, tries = 1; !this.o.closed(); delay = Math.min(delay * 2, 1000), tries++) {
      try {
        return await this.o.attempt();
      } catch (err) {
        if (this.o.closed()) return;
        if (tries === 1 || tries % 30 === 0) this.o.onFailure(err as Error);
        await sleep(this.o.clock, delay);
      }
    }
  }
}
