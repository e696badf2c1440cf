// The client operations directly on a store: what the HTTP server serves and library users call.
import { randomUUID } from 'node:crypto';
import { Keys } from '../engine/keys.js';
import { checkId, decodeSpec, decodeWorker, parseWorkChange, parseWorkInput, specOf, type WorkInput, type WorkerRecord } from '../engine/model.js';
import { Election } from '../recipes/election.js';
import { updateRecord } from '../recipes/membership.js';
import { listPrefix, type KeyValue, type Store } from '../store/index.js';
import { ConflictError, NotFoundError, TooLargeError } from './errors.js';
import { deleteJob } from '../engine/jobs/job-delete.js';
import { cancelJob, getJob, JobChangedError, JobDeletingError, JobExistsError, jobTasks, listJobs, submitJob, summarize, type JobRecord } from '../engine/jobs/jobs.js';
import { parseJobSpec } from '../engine/jobs/job-spec.js';
import { decodeJson, type TaskResult } from '../engine/tasks/task-model.js';
import { createItem, deleteItem, updateItem } from '../engine/work.js';
import { WriteOnce } from '../engine/write-once.js';
import { StoreRuns } from './store-runs.js';
import type { Completion, CreateRun, JobStatus, JobTask, RotaClient, RunRecord, RunReport, RunView, StatusView, WorkChange, WorkView, WorkerView } from './types.js';

export interface StoreClientOptions {
  /** Largest content accepted, in bytes (default 1 MiB). */
  maxContentBytes?: number;
}

/** RotaClient on a store. */
export class StoreClient implements RotaClient {
  private readonly maxContent: number;
  private readonly runs: StoreRuns;
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
  }

  createRun(input: CreateRun): Promise<RunView> {
    return this.runs.createRun(input);
  }
  listRuns(): Promise<RunRecord[]> {
    return this.runs.listRuns();
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

  async addWork(input: WorkInput): Promise<WorkView> {
    const checked = parseWorkInput(input);
    this.checkSize(checked.content);
    const id = checked.id ?? randomUUID();
    const spec = specOf(checked);
    if (!(await createItem(this.once, this.keys, id, checked.content, spec))) throw new ConflictError(`work ${id} already exists; update it with PUT /work/${id}`);
    return { id, content: checked.content, ...spec };
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
      success: [this.keys.item(id), this.keys.spec(id), this.keys.assignment(id), this.keys.claim(id), this.keys.itemStatus(id), this.keys.result(id)].map(
        (key) => ({ type: 'range' as const, key }),
      ),
    });
    const [item, spec, assign, claim, status, result] = r.results.map((x) => (x.type === 'range' ? x.kvs[0] : undefined));
    if (!item) throw new NotFoundError('work', id);
    return this.view(id, item, spec, assign, claim, status, result);
  }

  async listWork(): Promise<WorkView[]> {
    const { kvs: items, revision } = await listPrefix(this.store, this.keys.registry);
    const [specs, assign, active, status, results] = await Promise.all(
      [this.keys.specs, this.keys.assign, this.keys.active, this.keys.status, this.keys.results].map(async (prefix) => {
        const { kvs } = await listPrefix(this.store, prefix, { revision });
        return new Map(kvs.map((kv) => [kv.key.slice(prefix.length), kv]));
      }),
    );
    return items.map((item) => {
      const id = item.key.slice(this.keys.registry.length);
      return this.view(id, item, specs.get(id), assign.get(id), active.get(id), status.get(id), results.get(id));
    });
  }

  async listWorkers(): Promise<WorkerView[]> {
    const [{ kvs }, leader] = await Promise.all([listPrefix(this.store, this.keys.workers), Election.leader(this.store, this.keys.leader)]);
    const out: WorkerView[] = [];
    for (const kv of kvs) {
      const record = decodeWorker(kv.value);
      if (record) out.push(workerView(kv.key.slice(this.keys.workers.length), record, leader));
    }
    return out;
  }

  async setDraining(workerId: string, draining: boolean): Promise<WorkerView> {
    checkId(workerId, 'worker id');
    const r = await updateRecord<WorkerRecord>(this.store, this.keys.worker(workerId), (rec) => ({ ...rec!, draining }));
    if (!r.updated) throw new NotFoundError('worker', workerId);
    return workerView(workerId, r.record, await Election.leader(this.store, this.keys.leader));
  }

  async submitJob(text: string): Promise<JobStatus> {
    try {
      const job = await submitJob(this.once, this.keys, parseJobSpec(text), Date.now());
      return summarize(job, [], Date.now());
    } catch (err) {
      if (err instanceof JobExistsError || err instanceof JobChangedError) throw new ConflictError(err.message);
      throw err;
    }
  }

  async listJobs(): Promise<JobStatus[]> {
    const jobs = await listJobs(this.store, this.keys);
    return Promise.all(jobs.map(async (job) => summarize(job, await jobTasks(this.store, this.keys, job), Date.now())));
  }

  async getJob(id: string): Promise<JobStatus> {
    const job = await this.job(id);
    return summarize(job, await jobTasks(this.store, this.keys, job), Date.now());
  }

  async jobTasks(id: string): Promise<JobTask[]> {
    return jobTasks(this.store, this.keys, await this.job(id));
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

  async status(): Promise<StatusView> {
    // Counts only: the status line is asked for often, and a fleet may hold many items.
    const count = async (prefix: string) => (await this.store.range(prefix, { prefix: true, countOnly: true })).count;
    const [items, assigned, running, workers, leader] = await Promise.all([
      count(this.keys.registry),
      count(this.keys.assign),
      count(this.keys.active),
      count(this.keys.workers),
      Election.leader(this.store, this.keys.leader),
    ]);
    return { leader, workers, items, assigned, running };
  }

  private checkSize(content: string): void {
    const size = Buffer.byteLength(content);
    if (size > this.maxContent) throw new TooLargeError(size, this.maxContent);
  }

  private view(id: string, item: KeyValue, spec?: KeyValue, assign?: KeyValue, claim?: KeyValue, status?: KeyValue, result?: KeyValue): WorkView {
    let restarts: number | undefined;
    try {
      const s = status ? (JSON.parse(status.value) as { restarts?: number; token?: number }) : undefined;
      if (s && claim && s.token === claim.createRevision) restarts = s.restarts;
    } catch {
      // a damaged status says nothing
    }
    return {
      id,
      content: item.value,
      ...decodeSpec(spec?.value),
      assignedTo: assign?.value,
      claimedBy: claim?.value,
      fencingToken: claim?.createRevision,
      restarts,
      result: decodeJson<TaskResult>(result?.value),
    };
  }
}

function workerView(id: string, r: WorkerRecord, leader: string | undefined): WorkerView {
  return { id, host: r.host, pid: r.pid, capacity: r.capacity, labels: r.labels, load: r.load, leader: id === leader, draining: r.draining, startedAt: r.startedAt, api: r.api };
}

