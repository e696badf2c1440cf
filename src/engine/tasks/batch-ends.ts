// Ends of a worker's tasks, written in batches under their batch's claim: the ends of one batch
// that arrive in the same moment go in one transaction (one compare for the claim, one or two per
// task), and the batch is let go of (claim and inbox entry deleted) once all have ended. If the
// transaction is refused, the claim decides: gone, every end is refused (the leader records those
// attempts lost); still ours, each end is tried on its own, so a task cancelled or deleted
// meanwhile never decides another's fate. While the store is away, writes are retried until it
// answers or the worker shuts down.
import { backoff, sleep, UnavailableError, type Clock, type Store } from '../../store/index.js';
import type { Keys } from '../keys.js';
import type { Logger } from '../log.js';
import { endWrites, finishBatchOps, holdsBatch, type TaskEnd } from './batch.js';

/** How writing an end went. */
export type EndOutcome = 'recorded' | 'refused' | 'gave up';

/** A claimed batch, as its ends need it. */
export interface ClaimedBatch {
  id: string;
  token: number;
}

interface Pending {
  end: TaskEnd;
  resolve: (o: EndOutcome) => void;
}

/** Most task ends per transaction: one claim compare + two per task stays within etcd's 128. */
const ENDS_PER_TXN = 60;

export class BatchEnds {
  private readonly queue = new Map<ClaimedBatch, Pending[]>();
  private scheduled = false;

  constructor(
    private readonly o: { store: Store; keys: Keys; worker: string; log: Logger; clock: Clock; random: () => number; closing: AbortSignal },
  ) {}

  /** Writes `end` with whatever else of `batch` ends in this moment. */
  write(batch: ClaimedBatch, end: TaskEnd): Promise<EndOutcome> {
    return new Promise((resolve) => {
      const list = this.queue.get(batch) ?? [];
      list.push({ end, resolve });
      this.queue.set(batch, list);
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  /** Lets go of `batch` once nothing of it is left to write (no end pending). */
  async finish(batch: ClaimedBatch): Promise<void> {
    const { store, keys, worker } = this.o;
    await this.retried(batch.id, () => store.txn({ compare: [holdsBatch(keys, batch.id, batch.token)], success: finishBatchOps(keys, worker, batch.id) })).catch(() => undefined);
  }

  private flush(): void {
    this.scheduled = false;
    const queue = [...this.queue];
    this.queue.clear();
    for (const [batch, pending] of queue) {
      for (let i = 0; i < pending.length; i += ENDS_PER_TXN) void this.send(batch, pending.slice(i, i + ENDS_PER_TXN));
    }
  }

  private async send(batch: ClaimedBatch, group: Pending[]): Promise<void> {
    const { store, keys } = this.o;
    const claim = holdsBatch(keys, batch.id, batch.token);
    const settle = (o: EndOutcome, which = group) => which.forEach((p) => p.resolve(o));
    try {
      const writes = endWrites(keys, batch.token, group.map((p) => p.end));
      const r = await this.retried(batch.id, () => store.txn({ compare: [claim, ...writes.compare], success: writes.success }));
      if (r.succeeded) return settle('recorded');
      const held = await this.retried(batch.id, () => store.txn({ compare: [claim], success: [] }));
      if (!held.succeeded) return settle('refused');
      // The claim is ours: some task was cancelled or deleted meanwhile. Each on its own.
      await Promise.all(
        group.map(async (p) => {
          const one = endWrites(keys, batch.token, [p.end]);
          const r1 = await this.retried(batch.id, () => store.txn({ compare: [claim, ...one.compare], success: one.success }));
          p.resolve(r1.succeeded ? 'recorded' : 'refused');
        }),
      );
    } catch {
      settle('gave up');
    }
  }

  /** `write`, retried with backoff while the store is unavailable, until the worker shuts down. */
  private async retried<T>(batch: string, write: () => Promise<T>): Promise<T> {
    const delay = backoff(100, 2000, this.o.random);
    for (let tries = 1; ; tries++) {
      try {
        return await write();
      } catch (err) {
        if (!(err instanceof UnavailableError) || this.o.closing.aborted) throw err;
        if (tries === 1) this.o.log.warn('cannot record task ends yet, retrying until the store answers', { batch, error: (err as Error).message });
        await sleep(this.o.clock, delay.next(), this.o.closing).catch(() => undefined);
        if (this.o.closing.aborted) throw err;
      }
    }
  }
}
