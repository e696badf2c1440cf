// Jobs: a named batch of tasks expanded from a matrix. Submitting writes the job first as
// 'submitting' (the leader runs none of its tasks yet), then its tasks in batches, then flips it to
// 'ready' — so a submission cut off halfway never runs half a job. Each step is guarded by the
// record as this submission wrote it, so a job deleted or cancelled meanwhile gets no more tasks,
// and goes through WriteOnce, so a retried step that had committed is not taken for a conflict.
// Cancelling writes a 'cancelled' result for every unfinished task; workers running one are told
// by the loss of its assignment. Deleting is in job-delete.ts.
import { randomBytes } from 'node:crypto';
import { listPrefix, type KeyValue, type Store, type TxnOp } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { taskPlacements, type TaskPlacement } from '../tasks/batch-reads.js';
import { encodeSpec, specOf } from '../model.js';
import { decodeJson, type AttemptRecord, type TaskResult } from '../tasks/task-model.js';
import type { WriteOnce } from '../write-once.js';
import { expandJob, type JobSpec } from './job-spec.js';

/** 'deleting': `rota job rm` (or retention) has begun to take it away; none of its tasks runs. */
export type JobState = 'submitting' | 'ready' | 'cancelled' | 'deleting';

/** jobs/<id>. */
export interface JobRecord {
  id: string;
  name: string;
  state: JobState;
  total: number;
  createdAt: number;
  spec: JobSpec;
}

/** A job's progress, derived from its tasks' results and claims. */
export interface JobStatus extends Omit<JobRecord, 'spec'> {
  counts: { pending: number; running: number; succeeded: number; failed: number; cancelled: number };
  done: number;
  /** done / total, 0..1. */
  progress: number;
  /** Tasks finished per second since the first one started. */
  rate: number;
  startedAt?: number;
  finishedAt?: number;
}

/** One task of a job with its matrix values and, once done, its result. */
export interface JobTask {
  id: string;
  index: number;
  values: Record<string, string>;
  command: string[];
  status: 'pending' | 'running' | TaskResult['status'];
  attempts: number;
  result?: TaskResult;
}

/** Raised when a job is deleted or cancelled while it is being submitted. */
export class JobChangedError extends Error {
  constructor(id: string) {
    super(`job ${id} was changed (deleted or cancelled) while it was being submitted; submit it again`);
    this.name = 'JobChangedError';
  }
}

/** Raised when a job is being deleted and cannot be changed any more. */
export class JobDeletingError extends Error {
  constructor(id: string) {
    super(`job ${id} is being deleted; finish that with rota job rm ${id}`);
    this.name = 'JobDeletingError';
  }
}

/** Raised when a job id is taken. */
export class JobExistsError extends Error {
  constructor(id: string) {
    super(`job ${id} already exists; choose another id or name`);
    this.name = 'JobExistsError';
  }
}

/** Tasks per transaction (two puts each, under etcd's 128 operations). */
const PER_TXN = 60;

export const taskId = (job: string, index: number) => `${job}.${index}`;

/** Writes a job and its tasks; returns the job record (state 'ready'). */
export async function submitJob(w: WriteOnce, keys: Keys, spec: JobSpec, now: number): Promise<JobRecord> {
  const store = w.store;
  const tasks = expandJob(spec);
  const id = spec.id ?? `${spec.name}-${now.toString(36)}${randomBytes(2).toString('hex')}`;
  const record: JobRecord = { id, name: spec.name, state: 'submitting', total: tasks.length, createdAt: now, spec };
  const written = JSON.stringify(record);
  const created = await w.txn({
    compare: [{ key: keys.job(id), target: 'create', op: '==', value: 0 }],
    success: [{ type: 'put', key: keys.job(id), value: written }],
  });
  if (!created.succeeded) throw new JobExistsError(id);
  // Every later step only while the record is still the one written above.
  const unchanged = { key: keys.job(id), target: 'value' as const, op: '==' as const, value: written };
  for (let i = 0; i < tasks.length; i += PER_TXN) {
    const ops: TxnOp[] = [];
    for (const t of tasks.slice(i, i + PER_TXN)) {
      const spec_ = specOf({ kind: 'task', selector: t.selector, command: t.command, env: t.env, timeoutMs: spec.timeoutMs, maxAttempts: spec.maxAttempts, backoffMs: spec.backoffMs, job: id, values: t.values, submittedAt: now });
      ops.push({ type: 'put', key: keys.item(taskId(id, t.index)), value: JSON.stringify(t.values) });
      ops.push({ type: 'put', key: keys.spec(taskId(id, t.index)), value: encodeSpec(spec_)! });
    }
    // Puts of the same values: a retried batch that had committed writes them again, harmlessly.
    if (!(await store.txn({ compare: [unchanged], success: ops })).succeeded) throw new JobChangedError(id);
  }
  const ready = { ...record, state: 'ready' as const };
  const flipped = await w.txn({ compare: [unchanged], success: [{ type: 'put', key: keys.job(id), value: JSON.stringify(ready) }] });
  if (!flipped.succeeded) throw new JobChangedError(id);
  return ready;
}

/** Reads a job record, or undefined. */
export async function getJob(store: Store, keys: Keys, id: string): Promise<JobRecord | undefined> {
  return decodeJson<JobRecord>((await store.get(keys.job(id)))?.value);
}

/** Every job record, oldest first. */
export async function listJobs(store: Store, keys: Keys): Promise<JobRecord[]> {
  const { kvs } = await listPrefix(store, keys.jobs);
  return kvs.flatMap((kv) => decodeJson<JobRecord>(kv.value) ?? []).sort((a, b) => a.createdAt - b.createdAt);
}

/** A job's tasks with their results, in index order. */
export async function jobTasks(store: Store, keys: Keys, job: JobRecord): Promise<JobTask[]> {
  const prefix = `${job.id}.`;
  const [[items, specs, results, attempts], placements] = await Promise.all([
    Promise.all(
      [keys.registry, keys.specs, keys.results, keys.attempts].map(async (p) => {
        const { kvs } = await listPrefix(store, p + prefix);
        return kvs;
      }),
    ),
    taskPlacements(store, keys),
  ]);
  return tasksFrom(keys, job, { items, specs, results, attempts }, placements).sort((a, b) => a.index - b.index);
}

/** The tasks of `items` (registry key-values of a job's tasks), in their order, from their other keys. */
export function tasksFrom(keys: Keys, job: JobRecord, sections: Record<'items' | 'specs' | 'results' | 'attempts', KeyValue[]>, placements: ReadonlyMap<string, TaskPlacement>): JobTask[] {
  const { items, specs, results, attempts } = sections;
  const prefix = `${job.id}.`;
  const byTask = (kvs: typeof items, p: string) => new Map(kvs.map((kv) => [kv.key.slice(p.length), kv.value]));
  const specOfTask = byTask(specs, keys.specs);
  const resultOf = byTask(results, keys.results);
  // Running: in a claimed batch, and not ended there (an attempt record at the claim's token).
  const endedAt = new Set<string>();
  const attemptCount = new Map<string, number>();
  for (const kv of attempts) {
    const id = kv.key.slice(keys.attempts.length).split('/')[0];
    attemptCount.set(id, (attemptCount.get(id) ?? 0) + 1);
    const token = decodeJson<AttemptRecord>(kv.value)?.token;
    if (token !== undefined) endedAt.add(`${id}@${token}`);
  }
  const running = (id: string) => {
    const p = placements.get(id);
    return p?.token !== undefined && !endedAt.has(`${id}@${p.token}`);
  };
  // Another job's id may start with this one's and a dot ("a" and "a.1"): only this job's own tasks.
  const own = (id: string) => /^\d+$/.test(id.slice(prefix.length)) && Number(id.slice(prefix.length)) < job.total;
  return items
    .filter((kv) => own(kv.key.slice(keys.registry.length)))
    .map((kv) => {
      const id = kv.key.slice(keys.registry.length);
      const spec = decodeJson<{ command?: string[]; values?: Record<string, string> }>(specOfTask.get(id));
      const result = decodeJson<TaskResult>(resultOf.get(id));
      return {
        id,
        index: Number(id.slice(prefix.length)),
        values: spec?.values ?? {},
        command: spec?.command ?? [],
        status: result?.status ?? (running(id) ? 'running' : 'pending'),
        attempts: result?.attempts ?? attemptCount.get(id) ?? 0,
        result,
      } satisfies JobTask;
    });
}

/** Counts, progress and rate of a job. */
export function summarize(job: JobRecord, tasks: JobTask[], now: number): JobStatus {
  const counts = { pending: 0, running: 0, succeeded: 0, failed: 0, cancelled: 0 };
  for (const t of tasks) counts[t.status]++;
  counts.pending += Math.max(0, job.total - tasks.length); // not written yet
  const done = counts.succeeded + counts.failed + counts.cancelled;
  const starts = tasks.flatMap((t) => (t.result?.startedAt ? [t.result.startedAt] : []));
  const startedAt = starts.length ? Math.min(...starts) : undefined;
  const finishedAt = done === job.total && done > 0 ? Math.max(...tasks.map((t) => t.result?.finishedAt ?? 0)) : undefined;
  const elapsed = startedAt ? ((finishedAt ?? now) - startedAt) / 1000 : 0;
  const { spec: _spec, ...rest } = job;
  return { ...rest, counts, done, progress: job.total ? done / job.total : 1, rate: elapsed > 0 ? done / elapsed : 0, startedAt, finishedAt };
}

/** Cancels a job: no more of its tasks start, running ones are stopped, unfinished ones get a 'cancelled' result. */
export async function cancelJob(w: WriteOnce, keys: Keys, id: string, now: number): Promise<number | undefined> {
  const store = w.store;
  let kv: KeyValue | null;
  let job: JobRecord | undefined;
  for (;;) {
    kv = await store.get(keys.job(id));
    job = decodeJson<JobRecord>(kv?.value);
    if (!kv || !job) return undefined;
    if (job.state === 'deleting') throw new JobDeletingError(id);
    if (job.state === 'cancelled') break;
    // Guarded, so a job deleted meanwhile is not brought back by this put.
    const r = await store.txn({ compare: [{ key: kv.key, target: 'mod', op: '==', value: kv.modRevision }], success: [{ type: 'put', key: kv.key, value: JSON.stringify({ ...job, state: 'cancelled' }) }] });
    if (r.succeeded) break;
  }
  const open = (await jobTasks(store, keys, job)).filter((t) => !t.result);
  const write = async (batch: JobTask[]) =>
    w.txn({
      // Only a task that still exists and has no result yet (one compare is WriteOnce's).
      compare: batch.flatMap((t) => [
        { key: keys.result(t.id), target: 'create' as const, op: '==' as const, value: 0 },
        { key: keys.item(t.id), target: 'create' as const, op: '>' as const, value: 0 },
      ]),
      success: batch.map((t) => {
        const result: TaskResult = { status: 'cancelled', reason: 'cancelled', exitCode: null, signal: null, attempts: t.attempts, finishedAt: now, output: '' };
        return { type: 'put' as const, key: keys.result(t.id), value: JSON.stringify(result) };
      }),
    });
  let cancelled = 0;
  for (let i = 0; i < open.length; i += CANCEL_PER_TXN) {
    const batch = open.slice(i, i + CANCEL_PER_TXN);
    if ((await write(batch)).succeeded) {
      cancelled += batch.length;
      continue;
    }
    // Some finished meanwhile: one by one, so their results stay.
    for (const t of batch) if ((await write([t])).succeeded) cancelled++;
  }
  return cancelled;
}

/** Cancelled results per transaction: two compares each, under etcd's 128. */
const CANCEL_PER_TXN = 60;
