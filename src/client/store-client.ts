// The client operations directly on a store: what the HTTP server serves and library users call.
import { randomUUID } from 'node:crypto';
import { Keys } from '../engine/keys.js';
import { checkId, decodeSpec, parseWorkBulk, parseWorkChange, parseWorkInput, specOf, type WorkInput } from '../engine/model.js';
import { readPage, type Store } from '../store/index.js';
import { assignmentsOf } from './assignments.js';
import { ConflictError, NotFoundError, TooLargeError } from './errors.js';
import { deleteJob } from '../engine/jobs/job-delete.js';
import { cancelJob, getJob, JobChangedError, JobDeletingError, JobExistsError, submitJob, summarize, type JobRecord } from '../engine/jobs/jobs.js';
import { parseJobSpec } from '../engine/jobs/job-spec.js';
import { metrics } from '../engine/metrics.js';
import { decodeJson } from '../engine/tasks/task-model.js';
import { createItem, deleteItem, updateItem } from '../engine/work.js';
import { createItems } from '../engine/work-bulk.js';
import { WriteOnce } from '../engine/write-once.js';
import { jobSummary, jobTaskPage } from './job-list.js';
import { allPages, checkPage, fitPage, RESPONSE_BYTES, type Page, type PageRequest, type TaskListOptions, type WorkListOptions } from './paging.js';
import { StoreRuns } from './store-runs.js';
import { StoreCaches } from './store-caches.js';
import { StoreWorkers } from './store-workers.js';
import type { Completion, CreateRun, JobStatus, JobTask, RotaClient, RunRecord, RunReport, RunView, StatusView, WorkChange, WorkCounts, WorkView, WorkerConfigView, WorkerListOptions, WorkerView, CacheCreate, CacheView, PartitionHolder } from './types.js';
import type { WorkerConfigPatch } from '../engine/fleet/worker-config.js';
import { countWork, listWorkPage, placeTasks, workView } from './work-list.js';
import { fleetStatus } from './fleet-status.js';
import { taskAttempts, type AttemptView } from './work-attempts.js';
import { retryFailed, retryTask, RetryRefusedError } from '../engine/tasks/task-retry.js';

export interface StoreClientOptions {
  /** Largest content accepted, in bytes (default 1 MiB). */
  maxContentBytes?: number;
}

/** RotaClient on a store. */
export class StoreClient implements RotaClient {
  private readonly maxContent: number;
  private readonly runs: StoreRuns;
  private readonly caches: StoreCaches;
  private readonly workers: StoreWorkers;
  /** Every conditional write goes through it: a retry of a write that committed is its success. */
  private readonly once: WriteOnce;

  constructor(
    private readonly store: Store,
    readonly keys: Keys = new Keys(),
    options: StoreClientOptions = {},
  ) {
    this.maxContent = options.maxContentBytes ?? 1024 * 1024;
    this.once = new WriteOnce(store, keys);
    this.runs = new StoreRuns(this.once, keys);
    this.caches = new StoreCaches(store, keys);
    this.workers = new StoreWorkers(store, keys);
  }

  createRun(input: CreateRun): Promise<RunView> {
    return this.runs.createRun(input);
  }
  listRuns(): Promise<RunRecord[]> {
    return allPages((after) => this.runs.listRunPage({ after }));
  }
  listRunPage(options: PageRequest = {}): Promise<Page<RunRecord>> {
    return this.runs.listRunPage(options);
  }
  getRun(id: string): Promise<RunView> {
    return this.runs.getRun(id);
  }
  completeRun(id: string, report: RunReport): Promise<Completion> {
    return this.runs.completeRun(id, report);
  }
  setRunParam(id: string, node: string, index: number, name: string, value: string): Promise<void> {
    return this.runs.setRunParam(id, node, index, name, value);
  }
  getRunParam(id: string, node: string, index: number, name: string): Promise<string> {
    return this.runs.getRunParam(id, node, index, name);
  }
  deleteRun(id: string): Promise<void> {
    return this.runs.deleteRun(id);
  }

  createCache(input: CacheCreate): Promise<CacheView & { added: number }> {
    return this.caches.createCache(input);
  }
  listCaches(): Promise<CacheView[]> {
    return this.caches.listCaches();
  }
  getCache(name: string): Promise<CacheView> {
    return this.caches.getCache(name);
  }
  cacheNodes(name: string, id: string): Promise<{ epoch: number; holders: PartitionHolder[] }> {
    return this.caches.cacheNodes(name, id);
  }
  cacheBest(name: string, id: string): Promise<PartitionHolder> {
    return this.caches.cacheBest(name, id);
  }
  cacheScore(name: string, id: string, node: string): Promise<{ node: string; score: number }> {
    return this.caches.cacheScore(name, id, node);
  }
  deleteCacheId(name: string, id: string): Promise<void> {
    return this.caches.deleteCacheId(name, id);
  }
  deleteCache(name: string): Promise<void> {
    return this.caches.deleteCache(name);
  }

  addWork(input: WorkInput): Promise<WorkView>;
  addWork(inputs: WorkInput[]): Promise<WorkView[]>;
  async addWork(input: WorkInput | WorkInput[]): Promise<WorkView | WorkView[]> {
    if (Array.isArray(input)) return this.addWorkBulk(input);
    const checked = parseWorkInput(input);
    this.checkSize(checked.content);
    const id = checked.id ?? randomUUID();
    const spec = specOf({ ...checked, submittedAt: Date.now() });
    if (!(await createItem(this.once, this.keys, id, checked.content, spec))) throw new ConflictError(`work ${id} already exists; update it with PUT /work/${id}`);
    if (spec.kind === 'task') metrics.tasksSubmitted.inc();
    return { id, content: checked.content, ...spec };
  }

  private async addWorkBulk(inputs: WorkInput[]): Promise<WorkView[]> {
    const checked = parseWorkBulk(inputs);
    const total = checked.reduce((n, i) => n + Buffer.byteLength(i.content), 0);
    if (total > this.maxContent) throw new TooLargeError(total, this.maxContent);
    const now = Date.now();
    const items = checked.map((i) => ({ id: i.id ?? randomUUID(), content: i.content, spec: specOf({ ...i, submittedAt: now }), fresh: i.id === undefined }));
    const outcome = await createItems(this.store, this.once, this.keys, items);
    if (!outcome.created) {
      const shown = outcome.taken.slice(0, 10).join(', ') + (outcome.taken.length > 10 ? ` and ${outcome.taken.length - 10} more` : '');
      throw new ConflictError(`work ${shown} already exist${outcome.taken.length === 1 ? 's' : ''}: nothing of this request was added`);
    }
    metrics.tasksSubmitted.inc(items.filter((i) => i.spec.kind === 'task').length);
    return items.map((i) => ({ id: i.id, content: i.content, ...i.spec }));
  }

  async updateWork(id: string, input: WorkChange): Promise<WorkView> {
    checkId(id, 'work id');
    const change = parseWorkChange(input);
    if (change.content !== undefined) this.checkSize(change.content);
    if (!(await updateItem(this.store, this.once, this.keys, id, change))) throw new NotFoundError('work', id);
    return this.getWork(id);
  }

  /** Deletes an item with its spec, result and attempts: the same id added again runs afresh. */
  async deleteWork(id: string): Promise<void> {
    checkId(id, 'work id');
    if (!(await deleteItem(this.once, this.keys, id))) throw new NotFoundError('work', id);
  }

  async getWork(id: string): Promise<WorkView> {
    checkId(id, 'work id');
    const r = await this.store.txn({
      success: [this.keys.item(id), this.keys.spec(id), this.keys.claim(id), this.keys.itemStatus(id), this.keys.result(id)].map((key) => ({ type: 'range' as const, key })),
    });
    const [item, spec, claim, status, result] = r.results.map((x) => (x.type === 'range' ? x.kvs[0] : undefined));
    if (!item) throw new NotFoundError('work', id);
    const assign = await assignmentsOf(this.store, this.keys, [id]);
    const active = new Map(claim ? [[id, claim]] : []);
    if (decodeSpec(spec?.value).kind === 'task') await placeTasks(this.store, this.keys, assign, active, id);
    return workView(id, item, spec, assign.get(id), active.get(id), status, result);
  }

  listWork(): Promise<WorkView[]> {
    return allPages((after) => this.listWorkPage({ after }));
  }

  listWorkPage(options: WorkListOptions = {}): Promise<Page<WorkView>> {
    return listWorkPage(this.store, this.keys, options);
  }

  countWork(): Promise<WorkCounts> {
    return countWork(this.store, this.keys);
  }

  async workAttempts(id: string): Promise<AttemptView[]> {
    checkId(id, 'work id');
    if (!(await this.store.get(this.keys.item(id)))) throw new NotFoundError('work', id);
    return taskAttempts(this.store, this.keys, id);
  }

  async retryWork(id: string): Promise<WorkView> {
    checkId(id, 'work id');
    if (!(await refusedAsConflict(retryTask(this.store, this.keys, id)))) throw new NotFoundError('work', id);
    return this.getWork(id);
  }

  async retryJob(id: string): Promise<{ retried: number }> {
    await this.job(id); // 404 for no such job
    return { retried: await refusedAsConflict(retryFailed(this.store, this.keys, id)) };
  }

  listWorkers(): Promise<WorkerView[]> {
    return allPages((after) => this.listWorkerPage({ after }));
  }

  listWorkerPage(options: WorkerListOptions = {}): Promise<Page<WorkerView>> {
    return this.workers.listWorkerPage(options);
  }
  setDraining(workerId: string, draining: boolean): Promise<WorkerView> {
    return this.workers.setDraining(workerId, draining);
  }
  configureWorker(workerId: string, patch: WorkerConfigPatch): Promise<WorkerConfigView> {
    return this.workers.configureWorker(workerId, patch);
  }
  workerConfig(workerId: string): Promise<WorkerConfigView> {
    return this.workers.workerConfig(workerId);
  }

  async submitJob(text: string): Promise<JobStatus> {
    try {
      const job = await submitJob(this.once, this.keys, parseJobSpec(text), Date.now());
      metrics.tasksSubmitted.inc(job.total);
      return summarize(job, [], Date.now());
    } catch (err) {
      if (err instanceof JobExistsError || err instanceof JobChangedError) throw new ConflictError(err.message);
      throw err;
    }
  }

  async listJobs(): Promise<JobStatus[]> {
    const jobs = await allPages((after) => this.listJobPage({ after }));
    return jobs.sort((a, b) => a.createdAt - b.createdAt);
  }

  async listJobPage(options: PageRequest = {}): Promise<Page<JobStatus>> {
    checkPage(options, 'job');
    const page = await readPage(this.store, this.keys.jobs, { after: options.after && this.keys.job(options.after), limit: options.limit ?? 100, maxBytes: RESPONSE_BYTES });
    const jobs = page.kvs.flatMap((kv) => decodeJson<JobRecord>(kv.value) ?? []);
    // One job's counts at a time: each reads all of that job's tasks, page by page.
    const out: JobStatus[] = [];
    for (const job of jobs) out.push(await jobSummary(this.store, this.keys, job, Date.now()));
    const last = page.kvs.at(-1)?.key.slice(this.keys.jobs.length);
    return { ...fitPage(out, (j) => j.id, page.more, last), total: (await this.store.range(this.keys.jobs, { prefix: true, countOnly: true })).count };
  }

  async getJob(id: string): Promise<JobStatus> {
    return jobSummary(this.store, this.keys, await this.job(id), Date.now());
  }

  async jobTasks(id: string): Promise<JobTask[]> {
    const tasks = await allPages((after) => this.jobTaskPage(id, { after, output: true }));
    return tasks.sort((a, b) => a.index - b.index);
  }

  async jobTaskPage(id: string, options: TaskListOptions = {}): Promise<Page<JobTask>> {
    return jobTaskPage(this.store, this.keys, await this.job(id), options);
  }

  async cancelJob(id: string): Promise<JobStatus> {
    checkId(id, 'job id');
    try {
      if ((await cancelJob(this.once, this.keys, id, Date.now())) === undefined) throw new NotFoundError('job', id);
    } catch (err) {
      if (err instanceof JobDeletingError) throw new ConflictError(err.message);
      throw err;
    }
    return this.getJob(id);
  }

  /** Deletes a job with its tasks, their results and attempts; running tasks are stopped. */
  async deleteJob(id: string): Promise<void> {
    checkId(id, 'job id');
    if (!(await deleteJob(this.once, this.keys, id))) throw new NotFoundError('job', id);
  }

  private async job(id: string): Promise<JobRecord> {
    const job = await getJob(this.store, this.keys, id);
    if (!job) throw new NotFoundError('job', id);
    return job;
  }

  status(): Promise<StatusView> {
    return fleetStatus(this.store, this.keys);
  }

  private checkSize(content: string): void {
    const size = Buffer.byteLength(content);
    if (size > this.maxContent) throw new TooLargeError(size, this.maxContent);
  }
}

/** `p`, a refused retry made the ConflictError (409) users get. */
async function refusedAsConflict<T>(p: Promise<T>): Promise<T> {
  try {
    return await p;
  } catch (err) {
    throw err instanceof RetryRefusedError ? new ConflictError(err.message) : err;
  }
}
