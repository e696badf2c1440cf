// The operations users call, one interface with two transports: on a store (the server, library
// users in-process) and over HTTP (the CLI, remote users).
import type { JobStatus, JobTask } from '../engine/jobs/jobs.js';
import type { Completion, CreateRun, RunRecord, RunReport, RunView } from '../engine/runs/runs.js';
import type { WorkInput } from '../engine/model.js';
import type { TaskResult } from '../engine/tasks/task-model.js';

export type { Completion, CreateRun, JobStatus, JobTask, RunRecord, RunReport, RunView, TaskResult };

/** An item with where it runs. */
export interface WorkView {
  id: string;
  content: string;
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
  result?: TaskResult;
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
  items: number;
  assigned: number;
  running: number;
}

/** What rota lets a user do with work and workers. */
export interface RotaClient {
  addWork(input: WorkInput): Promise<WorkView>;
  updateWork(id: string, change: WorkChange): Promise<WorkView>;
  deleteWork(id: string): Promise<void>;
  getWork(id: string): Promise<WorkView>;
  listWork(): Promise<WorkView[]>;
  listWorkers(): Promise<WorkerView[]>;
  setDraining(workerId: string, draining: boolean): Promise<WorkerView>;
  status(): Promise<StatusView>;
  /** Submits a job spec (JSON or YAML text). */
  submitJob(spec: string): Promise<JobStatus>;
  listJobs(): Promise<JobStatus[]>;
  getJob(id: string): Promise<JobStatus>;
  jobTasks(id: string): Promise<JobTask[]>;
  /** Cancels what has not finished; running tasks are stopped. */
  cancelJob(id: string): Promise<JobStatus>;
  /** Deletes a job with its tasks, their results and attempts; running tasks are stopped. */
  deleteJob(id: string): Promise<void>;
  createRun(input: CreateRun): Promise<RunView>;
  listRuns(): Promise<RunRecord[]>;
  getRun(id: string): Promise<RunView>;
  /** `node/index` reports `state` done (of `round`, when given: retries of it are then safe); the last report advances the run. */
  completeRun(id: string, report: RunReport): Promise<Completion>;
  setRunParam(id: string, node: string, index: number, name: string, value: string): Promise<void>;
  getRunParam(id: string, node: string, index: number, name: string): Promise<string>;
  deleteRun(id: string): Promise<void>;
}
