// The operations users call, one interface with two transports: on a store (the server, library
// users in-process) and over HTTP (the CLI, remote users).
import type { JobStatus, JobTask } from '../engine/jobs/jobs.js';
import type { Completion, CreateRun, RunRecord, RunReport, RunView } from '../engine/runs/runs.js';
import type { WorkInput, WorkSpec } from '../engine/model.js';
import type { WorkerConfig, WorkerConfigPatch } from '../engine/fleet/worker-config.js';
import type { CacheCreate } from '../engine/caches/cache-model.js';
import type { PartitionHolder } from '../engine/caches/cache-ops.js';
import type { CacheView } from './store-caches.js';

export type { CacheCreate, CacheView, PartitionHolder };

export type { WorkerConfig, WorkerConfigPatch };
import type { TaskResult } from '../engine/tasks/task-model.js';
import type { Page, PageRequest, TaskListOptions, WorkListOptions, WorkStatus } from './paging.js';

import type { AttemptView } from './work-attempts.js';
export type { AttemptView };
export type { WorkStatus };
export type { Completion, CreateRun, JobStatus, JobTask, Page, PageRequest, RunRecord, RunReport, RunView, TaskListOptions, TaskResult, WorkListOptions };

/** A task's outcome as views show it: in lists the output may be cut to its last 1 KiB. */
export type ResultView = TaskResult & {
  /** Set in list views when `output` is only the tail (GET /work/:id has all of it). */
  outputTruncated?: boolean;
};

/** An item with where it runs (and, as set, its placement and task fields). */
export interface WorkView extends Partial<Pick<WorkSpec, 'placement' | 'command' | 'env' | 'timeoutMs' | 'maxAttempts' | 'backoffMs' | 'job' | 'values'>> {
  id: string;
  /** The content; in list views only its first 1 KiB unless the whole was asked for. */
  content: string;
  /** List views: the content's whole size in bytes. */
  contentBytes?: number;
  /** List views: set when `content` is only the head of it. */
  contentTruncated?: boolean;
  kind: 'service' | 'task';
  weight: number;
  selector: Record<string, string>;
  /** The worker the leader assigned it to. */
  assignedTo?: string;
  /** The worker holding its claim (the one running it). */
  claimedBy?: string;
  /** The claim's fencing token. */
  fencingToken?: number;
  /** How often its process restarted on the current worker. */
  restarts?: number;
  /** Tasks: the outcome, once done. */
  result?: ResultView;
  /** Where it stands (lists and GET /work/:id). */
  status?: WorkStatus;
  /** Tasks: attempts that ended and will be (or were) retried. */
  attempts?: number;
}

/** How many items there are of each kind, by status (GET /counts). */
export interface WorkCounts {
  service: Record<WorkStatus, number>;
  task: Record<WorkStatus, number>;
  total: number;
}

/** A worker with its current load. */
export interface WorkerView {
  id: string;
  host: string;
  pid: number;
  capacity: number;
  labels: Record<string, string>;
  load: number;
  leader: boolean;
  draining: boolean;
  startedAt: string;
  api?: string;
  /** CPUs of its machine (or its --cpus). */
  cpus?: number;
  /** Bytes of memory of its machine (or its --mem), and available now. */
  memory?: number;
  memoryAvailable?: number;
  /** Bytes it may use at most, if configured. */
  maxMemory?: number;
  /** Its node's rank in the leader election. */
  priority?: number;
  /** Its session's lease, when asked for: granted TTL and seconds left (renewed every third of it while the worker lives). */
  lease?: { ttl: number; remaining: number };
}

/** A page of workers, only those with every one of `labels` if given. */
export interface WorkerListOptions extends PageRequest {
  labels?: Record<string, string>;
  /** Also each worker's lease: its TTL and the seconds left (one more store call per worker). */
  lease?: boolean;
}

/** A worker's live configuration (config/<id>) and, if it runs, its record with the values in force. */
export interface WorkerConfigView {
  id: string;
  config: WorkerConfig;
  worker?: WorkerView;
}

/** A change of an item: new content, and/or new placement settings. */
export interface WorkChange {
  content?: string;
  weight?: number;
  selector?: Record<string, string>;
}

/** Fleet-wide summary. */
export interface StatusView {
  leader?: string;
  workers: number;
  /** Every item, finished tasks included. */
  items: number;
  /** Tasks with a result. */
  finished: number;
  assigned: number;
  running: number;
  /** Workers away for a restart (--return-within), with the seconds they have left to come back. */
  returning?: Array<{ id: string; remaining: number }>;
}

/** What rota lets a user do with work and workers. */
export interface RotaClient {
  addWork(input: WorkInput): Promise<WorkView>;
  /** Adds every item of `inputs` or none (all or nothing; at most LIMITS.bulkItems, ids distinct). */
  addWork(inputs: WorkInput[]): Promise<WorkView[]>;
  updateWork(id: string, change: WorkChange): Promise<WorkView>;
  deleteWork(id: string): Promise<void>;
  /** One item, with its whole content and output. */
  getWork(id: string): Promise<WorkView>;
  /** Every item as a list shows it (content and output cut to previews), read page by page. */
  listWork(): Promise<WorkView[]>;
  /** One page of items: at most `limit` after `after`, previews unless `content` (see WorkListOptions). */
  listWorkPage(options?: WorkListOptions): Promise<Page<WorkView>>;
  /** Items by kind and status (every item looked at: for a dashboard's tabs, not a hot loop). */
  countWork(): Promise<WorkCounts>;
  /** A task's attempts, oldest first, each with the tail of its output. */
  workAttempts(id: string): Promise<AttemptView[]>;
  /** Runs a failed or cancelled task again, with a fresh budget of attempts (its result and attempts go). */
  retryWork(id: string): Promise<WorkView>;
  /** Runs every failed task of a job again. */
  retryJob(id: string): Promise<{ retried: number }>;
  /** Every worker, read page by page. */
  listWorkers(): Promise<WorkerView[]>;
  /** One page of workers, in id order. */
  listWorkerPage(options?: WorkerListOptions): Promise<Page<WorkerView>>;
  /** Drains (or undrains) a worker through its live configuration. */
  setDraining(workerId: string, draining: boolean): Promise<WorkerView>;
  /** Changes a worker's live configuration (it need not run yet); null fields go back to its start-up values. */
  configureWorker(workerId: string, patch: WorkerConfigPatch): Promise<WorkerConfigView>;
  /** A worker's live configuration and record. */
  workerConfig(workerId: string): Promise<WorkerConfigView>;
  status(): Promise<StatusView>;
  /** Submits a job spec (JSON or YAML text). */
  submitJob(spec: string): Promise<JobStatus>;
  /** Every job, oldest first, read page by page. */
  listJobs(): Promise<JobStatus[]>;
  /** One page of jobs, in id order. */
  listJobPage(options?: PageRequest): Promise<Page<JobStatus>>;
  getJob(id: string): Promise<JobStatus>;
  /** Every task of a job with its whole output, in index order, read page by page. */
  jobTasks(id: string): Promise<JobTask[]>;
  /** One page of a job's tasks, in id order, outputs cut to their tails unless `output`. */
  jobTaskPage(id: string, options?: TaskListOptions): Promise<Page<JobTask>>;
  /** Cancels what has not finished; running tasks are stopped. */
  cancelJob(id: string): Promise<JobStatus>;
  /** Deletes a job with its tasks, their results and attempts; running tasks are stopped. */
  deleteJob(id: string): Promise<void>;
  createRun(input: CreateRun): Promise<RunView>;
  /** Every run, read page by page. */
  listRuns(): Promise<RunRecord[]>;
  /** One page of runs, in id order. */
  listRunPage(options?: PageRequest): Promise<Page<RunRecord>>;
  getRun(id: string): Promise<RunView>;
  /** `node/index` reports `state` done (of `round`, when given: retries of it are then safe); the last report advances the run. */
  completeRun(id: string, report: RunReport): Promise<Completion>;
  setRunParam(id: string, node: string, index: number, name: string, value: string): Promise<void>;
  getRunParam(id: string, node: string, index: number, name: string): Promise<string>;
  deleteRun(id: string): Promise<void>;
  /** Creates a cache or adds ids to it (placement only: the leader places them). */
  createCache(input: CacheCreate): Promise<CacheView & { added: number }>;
  listCaches(): Promise<CacheView[]>;
  getCache(name: string): Promise<CacheView>;
  /** Where an id lives: owner first, then replicas (shoveling's node_ids). */
  cacheNodes(name: string, id: string): Promise<{ epoch: number; holders: PartitionHolder[] }>;
  /** The node that should process an id: its owner (shoveling's node_id). */
  cacheBest(name: string, id: string): Promise<PartitionHolder>;
  /** How far a worker is from an id's data: 0 owner, 1 replica, 2 same host, 3 same zone, 4 elsewhere. */
  cacheScore(name: string, id: string, node: string): Promise<{ node: string; score: number }>;
  deleteCacheId(name: string, id: string): Promise<void>;
  deleteCache(name: string): Promise<void>;
}
