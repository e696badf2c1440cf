// Deleting a job: its record, its tasks, their specs, results, attempts and assignments. A job can
// have 50,000 tasks and etcd takes 128 operations per transaction, so it goes in steps, ordered so
// that stopping anywhere leaves a state that a retry (or the leader's sweeper) finishes:
//   1. the record is marked 'deleting' — from then on the leader runs none of its tasks and takes
//      the assignments of running ones away, so their workers stop them;
//   2. the tasks go in batches, every key of a task in one transaction, each batch guarded by the
//      'deleting' record (a job deleted and submitted again under the same id is not touched);
//   3. the record goes last. Until then the job is listed as 'deleting', and no task is ever left
//      without its job: a task without a job record would never run nor be cleaned up.
// Task keys are named one by one: task ids are "<job>.<n>", and "a." is also the start of job
// "a.1"'s tasks, so a prefix range could take another job's tasks with it. A worker still stopping
// a deleted task writes nothing back (its writes check that the item still exists).
import type { Compare, KeyValue, Store, TxnOp } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { Limiter } from '../../store/limiter.js';
import { decodeJson } from '../tasks/task-model.js';
import { itemDeletes } from '../work.js';
import type { WriteOnce } from '../write-once.js';
import { taskId, type JobRecord } from './jobs.js';

/** Tasks per transaction: five deletes each, under etcd's 128 operations. */
export const TASKS_PER_TXN = 25;

/** The job record as it was read, to guard every step with. */
export interface JobAt {
  kv: KeyValue;
  job: JobRecord;
}

/** Every key of tasks [from, to) of a job but their claims. */
function taskDeletes(keys: Keys, job: JobRecord, from: number, to: number): TxnOp[] {
  const ops: TxnOp[] = [];
  for (let i = from; i < to; i++) ops.push(...itemDeletes(keys, taskId(job.id, i)));
  return ops;
}

/** Marks a job 'deleting' (step 1); the record as it is then, or undefined if it is gone. */
export async function markDeleting(store: Store, keys: Keys, id: string, fence: Compare[] = []): Promise<JobAt | undefined> {
  for (;;) {
    const kv = await store.get(keys.job(id));
    const job = decodeJson<JobRecord>(kv?.value);
    if (!kv) return undefined;
    // A damaged record names no tasks: it is only taken away.
    if (!job) return { kv, job: { id, name: id, state: 'deleting', total: 0, createdAt: 0 } as Omit<JobRecord, 'spec'> as JobRecord };
    if (job.state === 'deleting') return { kv, job };
    const r = await store.txn({
      compare: [...fence, { key: kv.key, target: 'mod', op: '==', value: kv.modRevision }],
      success: [{ type: 'put', key: kv.key, value: JSON.stringify({ ...job, state: 'deleting' }) }],
    });
    if (!r.succeeded && fence.length && !(await fenceHolds(store, fence))) return undefined;
    // Succeeded or changed meanwhile: read it again (a retried mark that committed reads 'deleting').
  }
}

/**
 * Deletes tasks [from, min(from + budget, total)) of a job marked 'deleting' (step 2); returns the
 * index to go on from, or undefined if the record changed (deleted by someone else, or resubmitted).
 */
export async function deleteTasks(store: Store, keys: Keys, at: JobAt, from: number, budget: number, fence: Compare[] = []): Promise<number | undefined> {
  const to = Math.min(at.job.total, from + budget);
  const guard: Compare[] = [...fence, { key: at.kv.key, target: 'mod', op: '==', value: at.kv.modRevision }];
  const limiter = new Limiter(4);
  const batches: Array<Promise<boolean>> = [];
  for (let i = from; i < to; i += TASKS_PER_TXN) {
    const end = Math.min(to, i + TASKS_PER_TXN);
    // Deletes only: a retried batch that had committed deletes nothing more and still succeeds.
    batches.push(limiter.run(async () => (await store.txn({ compare: guard, success: taskDeletes(keys, at.job, i, end) })).succeeded));
  }
  const ok = await Promise.all(batches);
  return ok.every(Boolean) ? to : undefined;
}

/** Deletes the record of a job whose tasks are gone (step 3); false if it changed meanwhile. */
export async function deleteRecord(w: Pick<Store, 'txn'>, at: JobAt, fence: Compare[] = []): Promise<boolean> {
  const r = await w.txn({ compare: [...fence, { key: at.kv.key, target: 'mod', op: '==', value: at.kv.modRevision }], success: [{ type: 'delete', key: at.kv.key }] });
  return r.succeeded;
}

/** Deletes a job and everything of its tasks; false if there was no such job. */
export async function deleteJob(w: WriteOnce, keys: Keys, id: string): Promise<boolean> {
  let found = false;
  for (;;) {
    const at = await markDeleting(w.store, keys, id);
    if (!at) return found; // gone: deleted by us (a retried last step) or by another deleter
    found = true;
    let next: number | undefined = 0;
    while (next !== undefined && next < at.job.total) next = await deleteTasks(w.store, keys, at, next, 2000);
    if (next !== undefined && (await deleteRecord(w, at))) return true;
  }
}

/** Whether every compare of a fence holds now. */
async function fenceHolds(store: Store, fence: Compare[]): Promise<boolean> {
  return (await store.txn({ compare: fence })).succeeded;
}
