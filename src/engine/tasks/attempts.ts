// The task protocol (DESIGN "Tasks"): every attempt is recorded under the claim that runs it, and its
// end, the result and the release of the claim are one transaction that checks the claim — so a
// worker that lost its claim cannot write anything, and a result is written exactly once. A claim
// that vanishes with an attempt still open was lost with its worker: the leader records that.
import type { Compare, KeyValue, TxnOp } from '../../store/index.js';
import type { TxnRunner } from '../claims.js';
import type { Keys } from '../keys.js';
import type { AttemptRecord, TaskResult } from './task-model.js';

/** Attempt ids are fencing tokens: one claim, one attempt. Zero-padded so they sort. */
export const attemptId = (token: number) => String(token).padStart(16, '0');

/**
 * The item a claim made at `token` was for still exists: not deleted, nor deleted and added again
 * (that one was created after the claim). Without it, a worker ending an attempt of a deleted item
 * would write its attempt and result back after the delete took them away.
 */
export const sameItem = (keys: Keys, id: string, token: number): Compare[] => [
  { key: keys.item(id), target: 'create', op: '>', value: 0 },
  { key: keys.item(id), target: 'create', op: '<', value: token },
];

/**
 * Records that the claim holder begins an attempt, and learns its number (the count of attempt
 * records, read in the same transaction). Undefined if the claim is gone or the task is done.
 */
export async function beginAttempt(runner: TxnRunner, keys: Keys, id: string, token: number, worker: string, now: number): Promise<{ attempt: number; record: AttemptRecord } | undefined> {
  const record: AttemptRecord = { worker, token, startedAt: now };
  const r = await runner.run({
    compare: [
      { key: keys.claim(id), target: 'create', op: '==', value: token },
      { key: keys.result(id), target: 'create', op: '==', value: 0 },
      ...sameItem(keys, id, token),
    ],
    success: [
      { type: 'put', key: keys.attempt(id, attemptId(token)), value: JSON.stringify(record) },
      { type: 'range', key: keys.attempt(id), prefix: true, countOnly: true },
    ],
  });
  const count = r.results[1];
  return r.succeeded && count?.type === 'range' ? { attempt: count.count, record } : undefined;
}

/** How endAttempt went: written, or refused because the claim is no longer ours. */
export type EndOutcome = 'recorded' | 'refused';

/**
 * Ends an attempt: its record, the result when there is one, the release of the claim and of the
 * assignment, in one transaction guarded by the claim. If a result already exists (the task was
 * cancelled meanwhile), the attempt is still closed, without a result.
 */
export async function endAttempt(runner: TxnRunner, keys: Keys, id: string, record: AttemptRecord, result?: TaskResult): Promise<EndOutcome> {
  const claim: Compare = { key: keys.claim(id), target: 'create', op: '==', value: record.token };
  const release: TxnOp[] = [
    { type: 'put', key: keys.attempt(id, attemptId(record.token)), value: JSON.stringify(record) },
    { type: 'delete', key: keys.claim(id) },
    { type: 'delete', key: keys.assignment(record.worker, id) },
  ];
  const item = sameItem(keys, id, record.token);
  if (result) {
    const r = await runner.run({
      compare: [claim, ...item, { key: keys.result(id), target: 'create', op: '==', value: 0 }],
      success: [...release, { type: 'put', key: keys.result(id), value: JSON.stringify(result) }],
    });
    if (r.succeeded) return 'recorded';
  }
  const r = await runner.run({ compare: [claim, ...item], success: release });
  if (r.succeeded) return 'recorded';
  // The item was deleted: nothing of it is written back, the claim is just let go.
  const gone = await runner.run({ compare: [claim], success: release.slice(1) });
  return gone.succeeded ? 'recorded' : 'refused';
}

/** Leader-side writes that record an attempt lost with its worker (and the failure, if it was the last). */
export function lostAttemptTxn(
  keys: Keys,
  id: string,
  open: { kv: KeyValue; record: AttemptRecord },
  end: NonNullable<AttemptRecord['end']>,
  result: TaskResult | undefined,
  assignedTo: string | undefined,
): { compare: Compare[]; success: TxnOp[] } {
  return {
    compare: [
      { key: open.kv.key, target: 'mod', op: '==', value: open.kv.modRevision },
      { key: keys.claim(id), target: 'create', op: '==', value: 0 },
      { key: keys.result(id), target: 'create', op: '==', value: 0 },
      ...sameItem(keys, id, open.record.token),
    ],
    success: [
      { type: 'put', key: open.kv.key, value: JSON.stringify({ ...open.record, end }) },
      ...(assignedTo !== undefined ? [{ type: 'delete' as const, key: keys.assignment(assignedTo, id) }] : []),
      ...(result ? [{ type: 'put' as const, key: keys.result(id), value: JSON.stringify(result) }] : []),
    ],
  };
}
