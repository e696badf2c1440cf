// One claimed item running on this worker, and how it stops: the processor first, then (if asked
// and the session is still valid) the claim. A run being stopped stays reachable until it has
// stopped, so a session lost meanwhile can cut the stop short: no stop outlasts the session.
import type { Session } from '../recipes/session.js';
import type { Logger } from './log.js';
import type { WorkItem } from './model.js';
import type { Processor, ProcessorContext, StopReason } from './processors/types.js';

/** What stopping a run needs from its worker. */
export interface StopDeps {
  processor: Processor;
  log: Logger;
  /** Deletes the claim if it is still the one created at `token`. */
  release(id: string, token: number): Promise<unknown>;
}

/** An item this worker holds the claim of and runs. */
export class ItemRun {
  /** Revision of the content the processor runs. */
  contentRevision: number;
  /** Set once it is being stopped, and why. */
  stopping?: StopReason;
  /** Settles once the stop is over. */
  stopped?: Promise<void>;

  constructor(
    public item: WorkItem,
    readonly token: number,
    readonly session: Session,
    readonly ctx: ProcessorContext,
    /** Aborts ctx.signal: the right to run the item is gone. */
    readonly abort: AbortController,
  ) {
    this.contentRevision = token;
  }

  /** Stops it (once: later calls share the first stop); resolves when its work has stopped. */
  stop(reason: StopReason, release: boolean, deps: StopDeps): Promise<void> {
    if (this.stopped) return this.stopped;
    this.stopping = reason;
    this.stopped = this.stopOnce(reason, release, deps);
    return this.stopped;
  }

  /** Cuts a stop under way short with a fenced one (the shortest grace); resolves once its process is over. */
  async escalate(deps: StopDeps): Promise<void> {
    deps.log.warn(`Stopping our work=${this.item.id} at once: the session is lost`, { was: this.stopping });
    await deps.processor.stop(this.item, this.ctx, 'fenced').catch((err: Error) => {
      deps.log.error('processor failed to stop', { work: this.item.id, error: err.message });
    });
    await this.stopped;
  }

  private async stopOnce(reason: StopReason, release: boolean, deps: StopDeps): Promise<void> {
    const id = this.item.id;
    deps.log.info(`Stopping our work=${id}`, { reason });
    this.abort.abort(new Error(reason));
    try {
      await deps.processor.stop(this.item, this.ctx, reason);
    } catch (err) {
      deps.log.error('processor failed to stop cleanly', { work: id, error: (err as Error).message });
    }
    if (release && this.session.valid) {
      await deps.release(id, this.token).catch(() => false);
      deps.log.info(`Released work=${id}`, { reason });
    }
  }
}
