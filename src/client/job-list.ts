// A job's tasks in pages, and its progress counted page by page: a task's output (up to 64 KiB)
// is cut to its tail as soon as it is read, so neither an answer nor the server's memory grows with
// the outputs of a 50,000-task job. Tasks come in id order (job.0, job.1, job.10, …): the order the
// store keeps them in, so a cursor can resume; each carries its `index`.
import { summarize, tasksFrom, type JobRecord, type JobStatus, type JobTask } from '../engine/jobs/jobs.js';
import type { Keys } from '../engine/keys.js';
import { taskPlacements, type TaskPlacement } from '../engine/tasks/batch-reads.js';
import { decodeJson, type TaskResult } from '../engine/tasks/task-model.js';
import { prefixEnd, readPage, scanPrefix, type KeyValue, type Store } from '../store/index.js';
import { checkPage, fitPage, RESPONSE_BYTES, STORE_READ_BYTES, type Page, type TaskListOptions } from './paging.js';
import { tailOf } from './preview.js';

/** Tasks in a page unless `limit` says otherwise. */
export const DEFAULT_TASK_LIMIT = 1000;

/** One page of a job's tasks. */
export async function jobTaskPage(store: Store, keys: Keys, job: JobRecord, options: TaskListOptions = {}, placements?: ReadonlyMap<string, TaskPlacement>): Promise<Page<JobTask>> {
  checkPage(options, 'task');
  const prefix = `${job.id}.`;
  const page = await readPage(store, keys.registry + prefix, {
    after: options.after === undefined ? undefined : keys.item(options.after),
    limit: options.limit ?? DEFAULT_TASK_LIMIT,
    maxBytes: options.output ? RESPONSE_BYTES : STORE_READ_BYTES,
  });
  if (page.kvs.length === 0) return { items: [], total: job.total };
  const [first, last] = [page.kvs[0], page.kvs[page.kvs.length - 1]].map((kv) => kv.key.slice(keys.registry.length));
  // The other keys of the page's tasks, over the page's id interval only, at the page's revision.
  const section = async (p: string, end: string, shrink?: (kv: KeyValue) => KeyValue) => {
    const kvs: KeyValue[] = [];
    for await (const s of scanPrefix(store, p + prefix, { from: p + first, end, revision: page.revision })) {
      for (const kv of s.kvs) kvs.push(shrink ? shrink(kv) : kv);
    }
    return kvs;
  };
  const upTo = (p: string) => `${p}${last}\0`;
  const [specs, results, attempts, placed] = await Promise.all([
    section(keys.specs, upTo(keys.specs)),
    section(keys.results, upTo(keys.results), options.output ? undefined : cutOutput),
    section(keys.attempts, prefixEnd(keys.attempt(last))),
    placements ?? taskPlacements(store, keys),
  ]);
  const tasks = tasksFrom(keys, job, { items: page.kvs, specs, results, attempts }, placed);
  return { ...fitPage(tasks, (t) => t.id, page.more), total: job.total };
}

/** A job's counts and progress, read page by page (outputs never held whole). */
export async function jobSummary(store: Store, keys: Keys, job: JobRecord, now: number): Promise<JobStatus> {
  const tasks: JobTask[] = [];
  const placements = await taskPlacements(store, keys);
  let after: string | undefined;
  do {
    const page = await jobTaskPage(store, keys, job, { after }, placements);
    for (const t of page.items) tasks.push(t.result ? { ...t, result: { ...t.result, output: '' } } : t);
    after = page.next;
  } while (after !== undefined);
  return summarize(job, tasks, now);
}

/** A result key-value with its output cut to the tail a list shows. */
function cutOutput(kv: KeyValue): KeyValue {
  const r = decodeJson<TaskResult>(kv.value);
  if (!r || typeof r.output !== 'string') return kv;
  const output = tailOf(r.output);
  return output.length === r.output.length ? kv : { ...kv, value: JSON.stringify({ ...r, output, outputTruncated: true }) };
}
