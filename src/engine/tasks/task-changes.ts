// What the leader changes for tasks in one planning round: free finished tasks' assignments,
// record attempts lost with their workers, and fill free slots with runnable tasks. Pure.
import type { KeyValue, TxnRequest } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { selects, type WorkSpec } from '../model.js';
import { lostAttemptTxn } from './attempts.js';
import { DEFAULT_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, retryDelay, type AttemptRecord, type TaskResult } from './task-model.js';
import { planTasks, type QueuedTask, type SlotWorker } from './task-planner.js';

export interface TaskSnapshot {
  now: number;
  workers: SlotWorker[];
  tasks: Array<{ id: string; spec: WorkSpec; order: number }>;
  assign: ReadonlyMap<string, string>;
  claimOf(id: string): KeyValue | undefined;
  hasResult(id: string): boolean;
  /** A task's attempts, oldest first. */
  attemptsOf(id: string): Array<{ kv: KeyValue; record: AttemptRecord }>;
  /** Whether a job's tasks may run (the job is fully submitted and not cancelled). */
  jobReady: (jobId: string) => boolean;
}

export interface TaskChanges {
  assign: Map<string, string>;
  unassign: string[];
  /** Transactions recording lost attempts, each guarded by its own compares. */
  lost: Array<Omit<TxnRequest, 'failure'>>;
  /** The earliest future moment a backed-off task becomes runnable. */
  wakeAt?: number;
}

/** The task part of a planning round. */
export function planTaskChanges(s: TaskSnapshot, keys: Keys, random: () => number): TaskChanges {
  const out: TaskChanges = { assign: new Map(), unassign: [], lost: [] };
  const live = new Map(s.workers.map((w) => [w.id, w]));
  const busy = new Map<string, number>();
  const queue: QueuedTask[] = [];
  const hold = (w: string) => busy.set(w, (busy.get(w) ?? 0) + 1);
  for (const { id, spec, order } of s.tasks) {
    const assigned = s.assign.get(id);
    const claim = s.claimOf(id);
    if (s.hasResult(id) || (spec.job && !s.jobReady(spec.job))) {
      // Done, cancelled, or its job not (or no longer) open: a worker still running it stops.
      if (assigned) out.unassign.push(id);
      if (claim) hold(claim.value);
      continue;
    }
    if (claim) {
      hold(claim.value);
      continue;
    }
    const attempts = s.attemptsOf(id);
    const open = attempts.filter((a) => !a.record.end);
    if (open.length > 0) {
      // Begun, never ended, and nobody holds the claim: the worker died with it.
      const max = spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      for (const a of open) {
        const final = attempts.length >= max && a === open[open.length - 1];
        const end: NonNullable<AttemptRecord['end']> = { ok: false, reason: 'lost', exitCode: null, signal: null, finishedAt: s.now };
        if (!final) end.retryAt = s.now + retryDelay(attempts.indexOf(a) + 1, spec.backoffMs ?? DEFAULT_BACKOFF_MS, random);
        const result: TaskResult | undefined = final
          ? { status: 'failed', reason: 'lost', exitCode: null, signal: null, attempts: attempts.length, worker: a.record.worker, startedAt: a.record.startedAt, finishedAt: s.now, output: '' }
          : undefined;
        out.lost.push(lostAttemptTxn(keys, id, a, end, result, assigned));
      }
      continue;
    }
    const owner = assigned ? live.get(assigned) : undefined;
    if (owner && !owner.draining && selects(spec.selector, owner.labels)) {
      hold(owner.id); // assigned, not claimed yet: the slot is taken
      continue;
    }
    const retryAt = Math.max(0, ...attempts.map((a) => a.record.end?.retryAt ?? 0));
    if (retryAt > s.now) {
      out.wakeAt = Math.min(out.wakeAt ?? Infinity, retryAt);
      if (assigned) out.unassign.push(id);
      continue;
    }
    queue.push({ id, selector: spec.selector, order });
    if (assigned) out.unassign.push(id); // reassigned below, or waits for a slot
  }
  for (const [id, w] of planTasks(s.workers, queue, busy)) {
    out.assign.set(id, w);
    const i = out.unassign.indexOf(id);
    if (i >= 0) out.unassign.splice(i, 1);
  }
  return out;
}
