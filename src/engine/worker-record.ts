// A worker's record under workers/<id>: written on its lease at each new session, its load kept
// current without losing what an operator set (draining). The load is for people (the planner reads
// capacity, labels and draining): it is written at most about every 5 s, and only when it changed,
// so a thousand busy workers do not keep etcd writing records (once a second, 1,000 workers taking
// up items wrote ~800 records a second, each a read and a transaction).
import os from 'node:os';
import { updateRecord } from '../recipes/membership.js';
import type { Session } from '../recipes/session.js';
import type { Store } from '../store/index.js';
import type { WorkerRecord } from './model.js';

/** How often at most a worker's load is written (ms, plus up to half again of jitter). */
const LOAD_EVERY_MS = 5000;

/** Publishes one worker's record. */
export class WorkerRecordPublisher {
  private record: WorkerRecord;
  private timer?: NodeJS.Timeout;
  /** The load last written. */
  private published?: number;

  constructor(
    private readonly store: Store,
    private readonly key: string,
    init: Pick<WorkerRecord, 'capacity' | 'labels' | 'api'> & { startedAt: number },
  ) {
    this.record = {
      host: os.hostname(),
      pid: process.pid,
      capacity: init.capacity,
      labels: init.labels,
      load: 0,
      draining: false,
      startedAt: new Date(init.startedAt).toISOString(),
      api: init.api,
    };
  }

  /** Writes the record on a new session's lease (a plain put: it must move to the new lease). */
  async register(session: Session, load: number): Promise<void> {
    await this.store.put(this.key, JSON.stringify({ ...this.record, load }), { lease: session.lease });
    this.published = load;
  }

  /** Schedules a load update; keeps the stored fields others may have changed. */
  publish(load: () => number, session: () => Session | undefined): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = load();
      if (!session()?.valid || now === this.published) return;
      this.published = now;
      void updateRecord<WorkerRecord>(this.store, this.key, (r) => {
        this.record = { ...(r ?? this.record), load: now };
        return this.record;
      }).catch(() => (this.published = undefined));
    }, LOAD_EVERY_MS + Math.round(Math.random() * LOAD_EVERY_MS * 0.5));
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
