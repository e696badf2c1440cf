// A worker's record under workers/<id>: written on its lease at each new session, its load kept
// current without losing what an operator set (draining). The load is for people (the planner reads
// capacity, labels and draining): it is written at most about every 5 s, and only when it changed,
// so a thousand busy workers do not keep etcd writing records (once a second, 1,000 workers taking
// up items wrote ~800 records a second, each a read and a transaction).
import os from 'node:os';
import { updateRecord } from '../recipes/membership.js';
import type { Session } from '../recipes/session.js';
import type { Store } from '../store/index.js';
import { memoryMoved, readResources, type ResourceFlags } from './fleet/resources.js';
import type { WorkerSettingsInForce } from './fleet/worker-config.js';
import type { WorkerRecord } from './model.js';

/** How often at most a worker's load is written (ms, plus up to half again of jitter). */
const LOAD_EVERY_MS = 5000;
/** How often the available memory is read (written only when it moved by 5 % or more). */
const MEMORY_EVERY_MS = 10_000;

/** Publishes one worker's record. */
export class WorkerRecordPublisher {
  private record: WorkerRecord;
  private timer?: NodeJS.Timeout;
  /** The load last written. */
  private published?: number;
  private memoryTimer?: NodeJS.Timeout;
  /** Whether the record is on a session's lease (updates go to the store; before that, to the next register). */
  private registered = false;
  /** A failed write of the record, tried again. */
  private retry?: NodeJS.Timeout;
  private cancelled = false;

  constructor(
    private readonly store: Store,
    private readonly key: string,
    init: Pick<WorkerRecord, 'capacity' | 'labels' | 'api'> & { startedAt: number; resources?: ResourceFlags },
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
      ...readResources(init.resources),
      priority: 0,
    };
    const flags = init.resources ?? {};
    // A fixed --memory needs no readings.
    if (flags.memory === undefined) {
      this.memoryTimer = setInterval(() => {
        const now = readResources(flags).memoryAvailable;
        if (memoryMoved(this.record.memoryAvailable, now)) void this.update({ memoryAvailable: now });
      }, MEMORY_EVERY_MS);
      this.memoryTimer.unref();
    }
  }

  /** The record as this worker last wrote it (or will, at its next registration). */
  get current(): WorkerRecord {
    return this.record;
  }

  /** Puts the settings in force (live configuration over start-up flags) in the record. */
  applySettings(s: WorkerSettingsInForce): Promise<void> {
    return this.update({ capacity: s.capacity, labels: s.labels, draining: s.draining, maxMemory: s.maxMemory, priority: s.priority });
  }

  /**
   * Changes fields of the record, in the store too once registered. The worker is its record's only
   * writer, so what it holds in memory is what the record must say: a write that fails is tried
   * again (a drain the record never showed would leave the leader assigning work to the worker).
   */
  private async update(fields: Partial<WorkerRecord>): Promise<void> {
    // (A field set to undefined, maxMemory unset, is left out of the JSON.)
    this.record = { ...this.record, ...fields };
    if (!this.registered) return;
    await this.write();
  }

  /** Writes the record as held in memory (the load as last written); on failure, tries again soon. */
  private async write(): Promise<void> {
    clearTimeout(this.retry);
    this.retry = undefined;
    try {
      await updateRecord<WorkerRecord>(this.store, this.key, (r) => ({ ...this.record, load: r?.load ?? this.record.load }));
    } catch {
      if (!this.cancelled) this.retry = setTimeout(() => void this.write(), 1000 + Math.round(Math.random() * 500));
    }
  }

  /** Writes the record on a new session's lease (a plain put: it must move to the new lease). */
  async register(session: Session, load: number): Promise<void> {
    await this.store.put(this.key, JSON.stringify({ ...this.record, load }), { lease: session.lease });
    this.registered = true;
    this.published = load;
  }

  /** Puts the cache bytes held in the record (written only when they changed). */
  setCacheBytes(bytes: Record<string, number>): void {
    if (JSON.stringify(bytes) !== JSON.stringify(this.record.cacheBytes ?? {})) void this.update({ cacheBytes: bytes });
  }

  /** Schedules a load update. */
  publish(load: () => number, session: () => Session | undefined): void {
    if (this.timer) return;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      const now = load();
      if (!session()?.valid || now === this.published) return;
      this.published = now;
      // The record as held in memory, with the new load (never fields read back from the store,
      // which may be older than a setting being written).
      this.record = { ...this.record, load: now };
      void updateRecord<WorkerRecord>(this.store, this.key, () => this.record).catch(() => (this.published = undefined));
    }, LOAD_EVERY_MS + Math.round(Math.random() * LOAD_EVERY_MS * 0.5));
  }

  cancel(): void {
    this.cancelled = true;
    clearTimeout(this.retry);
    clearInterval(this.memoryTimer);
    clearTimeout(this.timer);
    this.timer = undefined;
  }
}
