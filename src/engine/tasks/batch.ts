// Task batches (DESIGN "Data flow": tasks move in groups). The leader files tasks in a worker's
// inbox as batches, assign/<worker>/~<batch>, each naming its tasks with the incarnation it saw,
// the attempt each one begins and (while they fit) their specs; the worker reads the contents once
// it holds the claim (the leader lists keys only). It claims a whole batch with one key,
// active/~<batch>, on its lease: the claim's
// create revision is the fencing token of every task in it. Ends are written in batches under that
// claim; a task's result is written exactly once (its key must be absent) and only while the item
// is the one the batch named (same create revision: not deleted, nor deleted and added again).
//
// A claim leaves a mark in its batch ("claimed"), written in the same transaction: once the claim
// has gone with its lease, the mark tells the leader every task of it that had not ended began an
// attempt there and lost it, however long ago that was and whoever was leading then.
import { randomBytes } from 'node:crypto';
import type { Compare, KeyValue, TxnOp } from '../../store/index.js';
import { decodedOnce } from '../decoded.js';
import type { Keys } from '../keys.js';
import { decodeJson, type AttemptRecord, type TaskResult } from './task-model.js';

/** Batch ids start with '~', which no item id can: an inbox holds both, told apart by that. */
export const BATCH_MARK = '~';
/**
 * The most tasks in one batch: closing a lost one is one transaction of two compares per task
 * (etcd allows 128), a claim reads up to two keys per task.
 */
export const BATCH_MAX = 60;
/** Specs ride in the batch up to this size per batch; the others are read at claim. */
export const BATCH_INLINE_BYTES = 16 * 1024;

/** One task of a batch. */
export interface BatchTask {
  id: string;
  /** The registry key's create revision when the leader batched it: the incarnation of the item. */
  created: number;
  /** The attempt this batch begins (1 for the first). */
  attempt: number;
  /** The spec as stored, when inline (absent: read at claim). */
  spec?: string;
}

/** assign/<worker>/~<batch>. */
export interface TaskBatch {
  tasks: BatchTask[];
  /** Set by the claim: the batch ran (see above). */
  claimed?: boolean;
  /** The claim's fencing token, when the leader rewrote a claimed batch (its revision no longer says). */
  token?: number;
  /** Tasks the leader took back from a claimed batch (cancelled, deleted): their worker stops them. */
  stop?: string[];
}

/** Whether an inbox entry's id names a batch. */
export const isBatchId = (id: string): boolean => id.startsWith(BATCH_MARK);

/** A fresh batch id. */
export const newBatchId = (): string => `${BATCH_MARK}${Date.now().toString(36)}.${randomBytes(6).toString('hex')}`;

/** A batch's record, decoded once per version; undefined when damaged. */
export const batchOf = decodedOnce((value): TaskBatch | undefined => {
  const b = decodeJson<TaskBatch>(value);
  return b && Array.isArray(b.tasks) ? b : undefined;
});

/** Attempt ids are fencing tokens: one claim, one attempt. Zero-padded so they sort. */
export const attemptId = (token: number) => String(token).padStart(16, '0');

/** The task is the incarnation the batch named: not deleted, nor deleted and added again. */
export const sameTask = (keys: Keys, t: Pick<BatchTask, 'id' | 'created'>): Compare => ({ key: keys.item(t.id), target: 'create', op: '==', value: t.created });

/** Reads of what a claimed batch's tasks need: each item (content, incarnation) and the specs not in the batch. */
export const taskReads = (keys: Keys, tasks: BatchTask[]): TxnOp[] =>
  tasks.flatMap((t) => [{ type: 'range' as const, key: keys.item(t.id) }, ...(t.spec === undefined ? [{ type: 'range' as const, key: keys.spec(t.id) }] : [])]);

/** The claim of batch `batch` for `worker` on `lease`, if the batch is still as read (`kv`) and unclaimed. */
export function claimBatchTxn(keys: Keys, worker: string, batch: string, kv: KeyValue, record: TaskBatch, lease: string): { compare: Compare[]; success: TxnOp[] } {
  return {
    compare: [
      { key: kv.key, target: 'mod', op: '==', value: kv.modRevision },
      { key: keys.claim(batch), target: 'create', op: '==', value: 0 },
    ],
    success: [
      { type: 'put', key: keys.claim(batch), value: worker, lease },
      { type: 'put', key: kv.key, value: JSON.stringify({ ...record, claimed: true } satisfies TaskBatch) },
    ],
  };
}

/** How one task of a claimed batch ended, to be written under the claim. */
export interface TaskEnd {
  task: BatchTask;
  /** The result, when the task is done for good. */
  result?: TaskResult;
  /** The attempt's record, when it may be retried. */
  attempt?: AttemptRecord;
}

/** The writes of `ends` (guarded by each task's compares); the claim's compare is added once per transaction. */
export function endWrites(keys: Keys, token: number, ends: TaskEnd[]): { compare: Compare[]; success: TxnOp[] } {
  const compare: Compare[] = [];
  const success: TxnOp[] = [];
  for (const e of ends) {
    compare.push(sameTask(keys, e.task));
    if (e.result) {
      compare.push({ key: keys.result(e.task.id), target: 'create', op: '==', value: 0 });
      success.push({ type: 'put', key: keys.result(e.task.id), value: JSON.stringify(e.result) });
    }
    if (e.attempt) success.push({ type: 'put', key: keys.attempt(e.task.id, attemptId(token)), value: JSON.stringify(e.attempt) });
  }
  return { compare, success };
}

/** The claim of `batch` is still the one created at `token`. */
export const holdsBatch = (keys: Keys, batch: string, token: number): Compare => ({ key: keys.claim(batch), target: 'create', op: '==', value: token });

/** Lets go of a batch whose tasks have all ended: its claim and its inbox entry. */
export const finishBatchOps = (keys: Keys, worker: string, batch: string): TxnOp[] => [
  { type: 'delete', key: keys.claim(batch) },
  { type: 'delete', key: keys.assignment(worker, batch) },
];
