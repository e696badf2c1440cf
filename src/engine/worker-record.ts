// A worker's record under workers/<id>: written on its lease at each new session, its load kept
// current (at most every 200 ms) without losing what an operator set (draining).
import os from 'node:os';
import { updateRecord } from '../recipes/membership.js';
import type { Session } from '../recipes/session.js';
import type { Store } from '../store/index.js';
import type { WorkerRecord } from './model.js';

/** Publishes one worker's record. */
export class WorkerRecordPublisher {
  private record: WorkerRecord;
  private timer?: NodeJS.Timeout;

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
  }

  /** Schedules a load update; keeps the stored fields others may have changed. */
  publish(load: () => number, session: () => Session | undefined): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      if (!session()?.valid) return;
      const now = load();
      void updateRecord<WorkerRecord>(this.store, this.key, (r) => {
        this.record = { ...(r ?? this.record), load: now };
        return this.record;
      }).catch(() => undefined);
    }, 200);
  }

  cancel(): void {
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
