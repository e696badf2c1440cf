// "Retry" from the dashboard or the API: a task that failed (or was cancelled) runs again with a
// fresh budget of attempts. Its result and attempt records go in one transaction that holds only
// while the result is the one read and the item the same incarnation; the leader sees the result
// gone and plans the task again, as for a task never run. A job's failed tasks go the same way.
import { listPrefix, type Store } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { decodeSpec } from '../model.js';
import { taskPlacements } from './batch-reads.js';
import { decodeJson, type TaskResult } from './task-model.js';

/** A retry that does not fit the task: it has not failed, or kept changing. Nothing was changed. */
export class RetryRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RetryRefusedError';
  }
}

/** Runs task `id` again if its result says failed or cancelled; false if there is no such item; RetryRefusedError (naming the status) otherwise. */
export async function retryTask(store: Store, keys: Keys, id: string): Promise<boolean> {
  for (let tries = 0; tries < 5; tries++) {
    const [item, result] = await Promise.all([store.get(keys.item(id)), store.get(keys.result(id))]);
    if (!item) return false;
    const status = decodeJson<TaskResult>(result?.value)?.status;
    if (!result || (status !== 'failed' && status !== 'cancelled')) throw new RetryRefusedError(`task ${id} has ${status ? `status ${status}` : 'no result yet'}: only a failed or cancelled task can be retried`);
    // A task of a job runs only while its job does: retried in a cancelled job it would wait forever.
    const job = decodeSpec((await store.get(keys.spec(id)))?.value).job;
    const jobState = job ? decodeJson<{ state?: string }>((await store.get(keys.job(job)))?.value)?.state : undefined;
    if (job && jobState !== 'ready') throw new RetryRefusedError(`task ${id} belongs to job ${job}, which is ${jobState ?? 'gone'}: only a running job's tasks can be retried`);
    // A batch still naming it (its worker finishing the others) would count it as running there, or as lost.
    if ((await taskPlacements(store, keys)).has(id)) throw new RetryRefusedError(`task ${id} is still in a batch its worker has not closed; try again in a moment`);
    const r = await store.txn({
      compare: [
        { key: keys.item(id), target: 'create', op: '==', value: item.createRevision },
        { key: keys.result(id), target: 'mod', op: '==', value: result.modRevision },
      ],
      success: [
        { type: 'delete', key: keys.result(id) },
        { type: 'delete', key: keys.attempt(id), prefix: true },
      ],
    });
    if (r.succeeded) return true;
  }
  throw new RetryRefusedError(`task ${id} kept changing while it was being retried; try again`);
}

/** Runs every failed task of job `jobId` again (RetryRefusedError unless the job runs); returns how many. */
export async function retryFailed(store: Store, keys: Keys, jobId: string): Promise<number> {
  const state = decodeJson<{ state?: string }>((await store.get(keys.job(jobId)))?.value)?.state;
  if (state !== 'ready') throw new RetryRefusedError(`job ${jobId} is ${state ?? 'gone'}: only a job that runs can have its failed tasks retried`);
  const { kvs } = await listPrefix(store, `${keys.results}${jobId}.`);
  let retried = 0;
  for (const kv of kvs) {
    if (decodeJson<TaskResult>(kv.value)?.status !== 'failed') continue;
    try {
      if (await retryTask(store, keys, kv.key.slice(keys.results.length))) retried++;
    } catch (err) {
      if (!(err instanceof RetryRefusedError)) throw err; // one that changed meanwhile stays as it is
    }
  }
  return retried;
}
