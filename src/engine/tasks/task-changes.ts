// What the leader changes for tasks in one planning round, in batches (batch.ts): record the
// attempts of batches whose claim went with its worker, take back batches nobody claimed from
// workers that left or drain, tell the holders of claimed batches which tasks to stop (cancelled,
// deleted), and fill free slots with new batches of runnable tasks. Pure.
import type { Compare, KeyValue, TxnOp, TxnRequest } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { specOf as specOfKv } from '../decoded.js';
import { selects, type WorkSpec } from '../model.js';
import { attemptId, BATCH_INLINE_BYTES, BATCH_MAX, holdsBatch, newBatchId, sameTask, type BatchTask, type TaskBatch } from './batch.js';
import { DEFAULT_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, retryDelay, type AttemptRecord, type TaskResult } from './task-model.js';
import { planTasks, type QueuedTask, type SlotWorker } from './task-planner.js';

/** A batch in some worker's inbox, as the leader sees it. */
export interface BatchView {
  worker: string;
  id: string;
  kv: KeyValue;
  record: TaskBatch;
}

export interface TaskSnapshot {
  now: number;
  /** Workers with their task capacity (slots × queue factor) and their real slot count. */
  workers: Array<SlotWorker & { slots: number }>;
  /** Tasks without a result, oldest (lowest order) first. */
  tasks: Iterable<{ id: string; spec: WorkSpec; order: number }>;
  batches: BatchView[];
  item(id: string): KeyValue | undefined;
  spec(id: string): KeyValue | undefined;
  claimOf(batch: string): KeyValue | undefined;
  resultOf(id: string): TaskResult | undefined;
  /** A task's attempts, oldest first. */
  attemptsOf(id: string): Array<{ kv: KeyValue; record: AttemptRecord }>;
  /** Whether a job's tasks may run (the job is fully submitted and not cancelled). */
  jobReady: (jobId: string) => boolean;
}

/** A write that carries its own compares; `lost`: the task attempts it records as lost. */
export type GuardedWrite = Omit<TxnRequest, 'failure'> & { lost?: number };

export interface TaskChanges {
  /** Puts of new batches, unconditional but for the leader's fence (their keys are new). */
  ops: TxnOp[];
  /** Writes that carry their own compares. */
  guarded: GuardedWrite[];
  /** Tasks put in new batches, by worker. */
  placed: Array<{ id: string; to: string }>;
  /** The earliest future moment a backed-off task becomes runnable. */
  wakeAt?: number;
}

const unchanged = (kv: KeyValue): Compare => ({ key: kv.key, target: 'mod', op: '==', value: kv.modRevision });

/** The task part of a planning round. */
export function planTaskChanges(s: TaskSnapshot, keys: Keys, random: () => number): TaskChanges {
  const out: TaskChanges = { ops: [], guarded: [], placed: [] };
  const live = new Map(s.workers.map((w) => [w.id, w]));
  const busy = new Map<string, number>();
  /** Tasks in a batch that may still run them (or whose loss is being recorded): not queued again. */
  const held = new Set<string>();
  const hold = (w: string, id: string) => (held.add(id), busy.set(w, (busy.get(w) ?? 0) + 1));
  const specOf = (id: string) => specOfKv(s.spec(id));
  const current = (t: BatchTask) => s.item(t.id)?.createRevision === t.created;
  const runnable = (t: BatchTask) => {
    const spec = specOf(t.id);
    return current(t) && spec.kind === 'task' && (!spec.job || s.jobReady(spec.job));
  };

  for (const b of s.batches) {
    const claim = s.claimOf(b.id);
    if (claim) {
      // Running: a task ends with its result or an attempt record at the claim's token.
      const token = claim.createRevision;
      const stop = new Set(b.record.stop ?? []);
      const before = stop.size;
      for (const t of b.record.tasks) {
        const result = s.resultOf(t.id);
        const ended = s.attemptsOf(t.id).some((a) => a.record.token === token);
        if (ended || (result && result.status !== 'cancelled')) continue;
        // Cancelled, deleted, or its job no longer open: stopped. Its id stays held until the batch
        // is over (nothing tells when the stop is), so an item added again under it never overlaps.
        if (stop.has(t.id) || result || !runnable(t)) (stop.add(t.id), held.add(t.id));
        else hold(b.worker, t.id);
      }
      if (stop.size > before) out.guarded.push({ compare: [unchanged(b.kv), holdsBatch(keys, b.id, token)], success: [{ type: 'put', key: b.kv.key, value: JSON.stringify({ ...b.record, stop: [...stop], token } satisfies TaskBatch) }] });
    } else if (b.record.claimed) {
      out.guarded.push(lostBatchTxn(s, keys, b, specOf, random));
      for (const t of b.record.tasks) held.add(t.id); // queued once the batch is gone, with the attempt counted
    } else {
      const owner = live.get(b.worker);
      const keep = owner && !owner.draining && b.record.tasks.every((t) => runnable(t) && !s.resultOf(t.id) && selects(specOf(t.id).selector, owner.labels));
      if (keep) for (const t of b.record.tasks) hold(b.worker, t.id);
      else {
        // Nobody began it: take it back whole (unless claimed meanwhile), its tasks are planned again.
        out.guarded.push({ compare: [unchanged(b.kv), { key: keys.claim(b.id), target: 'create', op: '==', value: 0 }], success: [{ type: 'delete', key: b.kv.key }] });
        for (const t of b.record.tasks) held.add(t.id);
      }
    }
  }

  // Under load a worker is topped up in batches of at least half its slots: while it holds a slot's
  // worth of tasks (the next batch waits on it), a few free places wait for more to free up.
  const workers = s.workers.map((w) => {
    const held = busy.get(w.id) ?? 0;
    return held >= w.slots && w.capacity - held < Math.ceil(Math.min(w.slots, BATCH_MAX) / 2) ? { ...w, capacity: held } : w;
  });
  // The oldest runnable tasks, a few more than the free slots: most rounds look at a handful of
  // tasks, not all that wait. Selectors may leave slots free that a later task could take: then all.
  const free = workers.reduce((n, w) => n + (w.draining ? 0 : Math.max(0, w.capacity - (busy.get(w.id) ?? 0))), 0);
  const collect = (limit: number) => {
    const queue: QueuedTask[] = [];
    if (free === 0) return { queue, all: true };
    for (const { id, spec, order } of s.tasks) {
      if (held.has(id) || (spec.job && !s.jobReady(spec.job)) || s.resultOf(id)) continue;
      const retryAt = Math.max(0, ...s.attemptsOf(id).map((a) => a.record.end?.retryAt ?? 0));
      if (retryAt > s.now) {
        out.wakeAt = Math.min(out.wakeAt ?? Infinity, retryAt);
        continue;
      }
      queue.push({ id, selector: spec.selector, order });
      if (queue.length >= limit) return { queue, all: false };
    }
    return { queue, all: true };
  };
  const first = collect(2 * free + 64);
  let plan = planTasks(workers, first.queue, busy);
  if (!first.all && plan.size < free) plan = planTasks(workers, collect(Infinity).queue, busy);
  const byWorker = new Map<string, string[]>();
  for (const [id, w] of plan) {
    const list = byWorker.get(w);
    if (list) list.push(id);
    else byWorker.set(w, [id]);
  }
  for (const [w, ids] of byWorker) {
    const size = Math.max(1, Math.min(BATCH_MAX, live.get(w)!.slots));
    for (let i = 0; i < ids.length; i += size) {
      const tasks = newBatch(s, ids.slice(i, i + size));
      const id = newBatchId();
      out.ops.push({ type: 'put', key: keys.assignment(w, id), value: JSON.stringify({ tasks } satisfies TaskBatch) });
      for (const t of tasks) out.placed.push({ id: t.id, to: w });
    }
  }
  return out;
}

/** The tasks of a new batch: the incarnation, the attempt it begins, and specs while they fit. */
function newBatch(s: TaskSnapshot, ids: string[]): BatchTask[] {
  let inline = 0;
  return ids.map((id) => {
    const spec = s.spec(id)?.value;
    const t: BatchTask = { id, created: s.item(id)!.createRevision, attempt: s.attemptsOf(id).length + 1 };
    inline += spec?.length ?? 0;
    if (inline <= BATCH_INLINE_BYTES) t.spec = spec ?? '';
    return t;
  });
}

/**
 * A batch whose claim went with its worker: every task of it that had not ended lost an attempt
 * there (its result, when it was the last). Written with the deletion of the batch, at once, so
 * an attempt is counted once.
 */
function lostBatchTxn(s: TaskSnapshot, keys: Keys, b: BatchView, specOf: (id: string) => WorkSpec, random: () => number): GuardedWrite {
  let lost = 0;
  const compare: Compare[] = [unchanged(b.kv), { key: keys.claim(b.id), target: 'create', op: '==', value: 0 }];
  const success: TxnOp[] = [{ type: 'delete', key: b.kv.key }];
  for (const t of b.record.tasks) {
    const attempts = s.attemptsOf(t.id);
    // Ended there (an attempt record after the batch was made), done, or no longer this item.
    if (s.item(t.id)?.createRevision !== t.created || s.resultOf(t.id) || attempts.some((a) => a.record.token > b.kv.createRevision)) continue;
    const spec = specOf(t.id);
    lost++;
    const n = attempts.length + 1;
    const final = n >= (spec?.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
    const end: NonNullable<AttemptRecord['end']> = { ok: false, reason: 'lost', exitCode: null, signal: null, finishedAt: s.now, retryAt: s.now + retryDelay(n, spec?.backoffMs ?? DEFAULT_BACKOFF_MS, random) };
    // The claim's revision is the token: the mark it left in the batch was written with it (or a stop list since says it).
    const token = b.record.token ?? b.kv.modRevision;
    const record: AttemptRecord = { worker: b.worker, token, startedAt: s.now, end };
    compare.push(sameTask(keys, t), { key: keys.result(t.id), target: 'create', op: '==', value: 0 });
    if (final) {
      // The last attempt is the result, as when a worker ends one.
      const result: TaskResult = { status: 'failed', reason: 'lost', exitCode: null, signal: null, attempts: n, worker: b.worker, finishedAt: s.now, output: '' };
      success.push({ type: 'put', key: keys.result(t.id), value: JSON.stringify(result) });
    } else success.push({ type: 'put', key: keys.attempt(t.id, attemptId(token)), value: JSON.stringify(record) });
  }
  return { compare, success, lost };
}
