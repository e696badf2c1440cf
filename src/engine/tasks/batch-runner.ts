// A worker's side of task batches: claim a batch from its inbox while a slot is free, run its
// tasks at most `slots` at once, write their ends in batches under the claim, and let go of the
// batch once every task has ended. Tasks the leader takes back (cancelled, deleted) are stopped and
// nothing is written for them. When the right to run goes (session lost, claim gone, shutdown) every
// task of the batch is stopped and nothing is written either: the leader records those attempts
// lost, from the mark the claim left in the batch.
import type { Session } from '../../recipes/session.js';
import { backoff, sleep, type Clock, type KeyValue, type Store, type TxnOpResult } from '../../store/index.js';
import { itemContext } from '../item-context.js';
import type { Keys } from '../keys.js';
import { Limiter } from '../../store/limiter.js';
import type { Logger } from '../log.js';
import { decodeSpec, type WorkItem } from '../model.js';
import { batchOf, claimBatchTxn, holdsBatch, taskReads, type BatchTask, type TaskBatch } from './batch.js';
import { BatchEnds, type ClaimedBatch } from './batch-ends.js';
import { startAttempt, type RunningAttempt } from './task-run.js';
import { attemptEnd, reportEnd, reportStart } from './attempt-end.js';

export interface BatchRunnerOptions {
  store: Store;
  keys: Keys;
  workerId: string;
  log: Logger;
  clock: Clock;
  random: () => number;
  /** The worker's --exec command, for tasks without their own. */
  workerExec?: string;
  /** How many attempts run at once; a batch is claimed only while one is free. */
  slots: number;
  /** The batches in the worker's inbox now: batch id → its key-value. */
  entries(): ReadonlyMap<string, KeyValue>;
  session(): Session | undefined;
  /** How many tasks the worker holds changed. */
  changed(): void;
}

interface HeldTask {
  task: BatchTask;
  item: WorkItem;
  abort: AbortController;
  running?: RunningAttempt;
  /** Why it was stopped before it could end by itself: nothing is written for it then. */
  stoppedFor?: 'taken back' | 'lost';
  settled: boolean;
  /** Settles once its process is over (or it never started). */
  stopped: Promise<void>;
  markStopped: () => void;
}

interface Held extends ClaimedBatch {
  session: Session;
  tasks: Map<string, HeldTask>;
  open: number;
  gone: boolean;
  /** Settles once every task has ended and its end is written, refused or given up. */
  settled: Promise<void>;
  markSettled: () => void;
}

/** Claims sent at once: small batches (low load) are taken together rather than one round trip each. */
const CLAIMS_AT_ONCE = 8;
/** Items read per transaction when a batch is claimed: 16 of the largest (1.5 MiB) stay within a 32 MiB answer. */
const READS_PER_TXN = 16;

/** Runs the task batches of one worker. */
export class BatchRunner {
  private readonly held = new Map<string, Held>();
  private readonly slots: Limiter;
  private readonly closing = new AbortController();
  private readonly ends: BatchEnds;
  private claiming = false;
  private closed = false;
  /** Batches whose claim was sent without an answer. */
  private readonly unsure = new Set<string>();
  /** Tasks run at once (the worker's capacity, changed live by its configuration). */
  private slotCount: number;

  /** Runs `n` tasks at once from now on (the leader plans with the new capacity too). */
  setSlots(n: number): void {
    this.slotCount = Math.max(1, n);
    this.slots.resize(this.slotCount);
    this.reconcile();
  }

  constructor(private readonly o: BatchRunnerOptions) {
    this.slotCount = o.slots;
    this.slots = new Limiter(o.slots);
    this.ends = new BatchEnds({ store: o.store, keys: o.keys, worker: o.workerId, log: o.log, clock: o.clock, random: o.random, closing: this.closing.signal });
  }

  /** Tasks held now (claimed, not yet ended). */
  get load(): number {
    let n = 0;
    for (const h of this.held.values()) n += h.open;
    return n;
  }

  /** Ids of the tasks held now. */
  ids(): string[] {
    return [...this.held.values()].flatMap((h) => [...h.tasks.values()].filter((t) => !t.settled).map((t) => t.task.id));
  }

  /** The claims held, for the periodic check that they are still there. */
  claims(): Array<{ id: string; token: number }> {
    return [...this.held.values()].filter((h) => !h.gone).map((h) => ({ id: h.id, token: h.token }));
  }

  /** Looks at the inbox again: stops what the leader took back, claims what it can. */
  reconcile(): void {
    const entries = this.o.entries();
    for (const h of this.held.values()) {
      if (h.gone) continue;
      const kv = entries.get(h.id);
      // A claimed batch leaves the inbox only with its claim: if it went, so did the right to run it.
      if (!kv) void this.drop(h, 'its batch left the inbox');
      else for (const id of batchOf(kv)?.stop ?? []) this.stopTask(h, id);
    }
    void this.claimMore();
  }

  /**
   * The session is lost: stops every task run under it; resolves once their processes are over,
   * with `quiet` settling once the ends of those that ended meanwhile are written (under their
   * claims, when the store answers again): the old lease must outlive those writes.
   */
  async fence(session: Session): Promise<{ quiet: Promise<unknown> }> {
    const mine = [...this.held.values()].filter((h) => h.session === session);
    await Promise.all(mine.map((h) => this.drop(h, 'session lost')));
    return { quiet: Promise.all(mine.map((h) => h.settled)) };
  }

  /** The claim of batch `id` made at `token` is gone: stops its tasks. */
  lost(id: string, token: number): Promise<void> {
    const h = this.held.get(id);
    return h && h.token === token ? this.drop(h, 'claim gone') : Promise.resolve();
  }

  /** Stops everything (the worker shuts down): those attempts count as lost. */
  async close(): Promise<void> {
    this.closed = true;
    await Promise.all([...this.held.values()].map((h) => this.drop(h, 'shutdown')));
    this.closing.abort();
  }

  private async drop(h: Held, why: string): Promise<void> {
    if (!h.gone) {
      h.gone = true;
      this.o.log.warn('stopping a batch of tasks: the right to run it is gone', { batch: h.id, token: h.token, why, running: h.open });
      for (const t of h.tasks.values()) this.stop(t, 'lost');
    }
    await Promise.all([...h.tasks.values()].map((t) => t.stopped));
  }

  private stopTask(h: Held, id: string): void {
    const t = h.tasks.get(id);
    if (t && !t.settled && !t.stoppedFor) {
      this.o.log.info(`Stopping task=${id}: taken back by the leader (cancelled or deleted)`, { batch: h.id });
      this.stop(t, 'taken back');
    }
  }

  private stop(t: HeldTask, why: NonNullable<HeldTask['stoppedFor']>): void {
    t.stoppedFor ??= why;
    t.abort.abort(new Error(why));
    if (t.running) t.running.stop('cancelled', why === 'lost' ? 300 : 2000);
    else t.markStopped(); // still waiting for a slot: it never starts
  }

  private async claimMore(): Promise<void> {
    if (this.claiming) return;
    this.claiming = true;
    try {
      for (;;) {
        const session = this.o.session();
        if (this.closed || !session?.valid || this.load >= this.slotCount) return;
        const entries = [...this.o.entries()].filter(([id, kv]) => !this.held.has(id) && batchOf(kv) !== undefined);
        // A claim whose answer never came may have been made: if it is ours, it is run, not left held by nobody.
        const unsure = entries.find(([id, kv]) => this.unsure.has(id) && batchOf(kv)!.claimed);
        if (unsure) {
          this.unsure.delete(unsure[0]);
          await this.adopt(unsure[0], batchOf(unsure[1])!, session);
          continue;
        }
        // Several batches at once while slots are free (each its own claim: one refused decides nothing for another).
        const next: Array<[string, KeyValue]> = [];
        let room = this.slotCount - this.load;
        for (const [id, kv] of entries) {
          if (room <= 0 || next.length >= CLAIMS_AT_ONCE) break;
          const record = batchOf(kv)!;
          if (record.claimed) continue;
          next.push([id, kv]);
          room -= record.tasks.length;
        }
        if (!next.length) return;
        const claimed = await Promise.all(next.map(([id, kv]) => this.claim(id, kv, batchOf(kv)!, session)));
        if (!claimed.some(Boolean)) return;
      }
    } catch (err) {
      this.o.log.warn('could not claim a batch of tasks, trying again on the next change', { error: (err as Error).message });
    } finally {
      this.claiming = false;
    }
  }

  private async claim(id: string, kv: KeyValue, record: TaskBatch, session: Session): Promise<boolean> {
    const { store, keys, workerId } = this.o;
    // A small batch's items are read in the claim itself (one round trip less at low load).
    const claim = claimBatchTxn(keys, workerId, id, kv, record, session.lease);
    const inline = record.tasks.length <= READS_PER_TXN;
    if (inline) claim.success.push(...taskReads(keys, record.tasks));
    const r = await store.txn(claim).catch((err: Error) => {
      this.unsure.add(id);
      throw err;
    });
    if (!r.succeeded) return false;
    if (this.closed || !session.valid) {
      // Nothing of it began: put it back as it was, so no attempt is counted (if the lease is gone, it took the claim).
      await store.txn({ compare: [holdsBatch(keys, id, r.revision)], success: [{ type: 'delete', key: keys.claim(id) }, { type: 'put', key: kv.key, value: kv.value }] }).catch(() => undefined);
      return false;
    }
    void this.hold(id, r.revision, record, session, inline ? r.results.slice(2) : undefined); // held at once; its reads go on meanwhile
    return true;
  }

  /** Runs batch `id` if the claim a lost answer left is ours (on this session's lease). */
  private async adopt(id: string, record: TaskBatch, session: Session): Promise<void> {
    const claim = await this.o.store.get(this.o.keys.claim(id));
    if (!claim || claim.lease !== session.lease || claim.value !== this.o.workerId || this.closed || !session.valid) return;
    this.o.log.warn('a claim whose answer was lost was ours: running its batch', { batch: id, token: claim.createRevision });
    await this.hold(id, claim.createRevision, record, session);
  }

  /**
   * Holds a claimed batch: reads its items (a few to a transaction: contents may be large) and runs
   * them. An item deleted, or deleted and added again, since it was batched is not run.
   */
  private async hold(id: string, token: number, record: TaskBatch, session: Session, read?: TxnOpResult[]): Promise<void> {
    let markSettled!: () => void;
    const settled = new Promise<void>((resolve) => (markSettled = resolve));
    const h: Held = { id, token, session, tasks: new Map(), open: 0, gone: false, settled, markSettled };
    for (const task of record.tasks) {
      let markStopped!: () => void;
      const stopped = new Promise<void>((resolve) => (markStopped = resolve));
      h.tasks.set(task.id, { task, item: { id: task.id, content: '', spec: decodeSpec(task.spec) }, abort: new AbortController(), settled: false, stopped, markStopped });
      h.open++;
    }
    this.held.set(id, h);
    this.o.changed();
    this.o.log.info(`Claimed a batch of ${h.open} tasks`, { batch: id, token });
    try {
      for (let i = 0; i < record.tasks.length; i += READS_PER_TXN) {
        const group = record.tasks.slice(i, i + READS_PER_TXN);
        const results = i === 0 && read ? read : (await this.readRetried(() => this.o.store.txn({ success: taskReads(this.o.keys, group) }), session)).results;
        const reads = results.map((x) => (x.type === 'range' ? x.kvs[0] : undefined));
        for (const task of group) {
          const t = h.tasks.get(task.id)!;
          const item = reads.shift();
          const spec = task.spec ?? reads.shift()?.value;
          t.item = { id: task.id, content: item?.value ?? '', spec: decodeSpec(spec) };
          if (item?.createRevision !== task.created) this.stop(t, 'taken back');
        }
      }
    } catch (err) {
      // The session ended first: its lease takes the claim, the leader counts the attempts lost.
      this.o.log.warn('could not read the tasks of a claimed batch before the session ended', { batch: id, error: (err as Error).message });
      void this.drop(h, 'its tasks could not be read');
    }
    for (const taskId of record.stop ?? []) this.stopTask(h, taskId);
    for (const t of h.tasks.values()) void this.run(h, t);
  }

  /** `read`, retried with backoff for as long as the session lasts. */
  private async readRetried<T>(read: () => Promise<T>, session: Session): Promise<T> {
    const delay = backoff(100, 2000, this.o.random);
    for (;;) {
      try {
        return await read();
      } catch (err) {
        if (this.closed || !session.valid) throw err;
        await sleep(this.o.clock, delay.next(), this.closing.signal).catch(() => undefined);
      }
    }
  }

  private async run(h: Held, t: HeldTask): Promise<void> {
    const { log, clock, workerId } = this.o;
    try {
      // The slot is free once the process has ended: its end is written while the next one starts.
      const ended = await this.slots.run(async () => {
        if (t.stoppedFor) return undefined;
        const ctx = itemContext({ store: this.o.store, keys: this.o.keys, id: t.task.id, workerId, token: h.token, session: h.session, signal: t.abort.signal, log });
        const startedAt = clock.now();
        log.info(`Running task=${t.task.id}`, { attempt: t.task.attempt, token: h.token });
        reportStart(t.task, t.item, startedAt);
        t.running = startAttempt(t.item, t.task.attempt, ctx, this.o.workerExec);
        const out = await t.running.done;
        t.markStopped();
        if (t.stoppedFor) return undefined; // taken back (its result is written already) or lost (the leader records it)
        return attemptEnd(t.task, t.item, out, { worker: workerId, token: h.token, startedAt, finishedAt: clock.now(), random: this.o.random });
      });
      if (!ended) return;
      reportEnd(log, ended, await this.ends.write(h, ended.end), h.token);
    } catch (err) {
      log.error(`task=${t.task.id} failed in the worker`, { error: (err as Error).message });
    } finally {
      t.markStopped();
      this.settle(h, t);
    }
  }

  private settle(h: Held, t: HeldTask): void {
    if (t.settled) return;
    t.settled = true;
    h.open--;
    if (h.open === 0) {
      this.held.delete(h.id);
      h.markSettled();
      // Every end is written (or refused): let go of the batch. Gone already if the right was lost.
      if (!h.gone) void this.ends.finish(h);
    }
    this.o.changed();
    void this.claimMore();
  }
}
