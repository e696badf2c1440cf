// The client operations over HTTP: what the CLI and remote users call.
import type { WorkInput } from '../engine/model.js';
import type { Completion, CreateRun, JobStatus, JobTask, RotaClient, RunRecord, RunReport, RunView, StatusView, WorkChange, WorkView, WorkerView } from './types.js';

/** An error answer of the API, with its status and code. */
export class ApiError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'ApiError';
  }
}

/** RotaClient talking to a node's API at `baseUrl`. */
export class HttpClient implements RotaClient {
  constructor(
    readonly baseUrl: string,
    private readonly token?: string,
  ) {}

  addWork(input: WorkInput): Promise<WorkView> {
    return this.call('POST', '/work', input);
  }
  updateWork(id: string, change: WorkChange): Promise<WorkView> {
    return this.call('PUT', `/work/${encodeURIComponent(id)}`, change);
  }
  async deleteWork(id: string): Promise<void> {
    await this.call('DELETE', `/work/${encodeURIComponent(id)}`);
  }
  getWork(id: string): Promise<WorkView> {
    return this.call('GET', `/work/${encodeURIComponent(id)}`);
  }
  listWork(): Promise<WorkView[]> {
    return this.call('GET', '/work');
  }
  listWorkers(): Promise<WorkerView[]> {
    return this.call('GET', '/workers');
  }
  setDraining(workerId: string, draining: boolean): Promise<WorkerView> {
    return this.call('POST', `/workers/${encodeURIComponent(workerId)}/${draining ? 'drain' : 'undrain'}`);
  }
  status(): Promise<StatusView> {
    return this.call('GET', '/status');
  }
  submitJob(spec: string): Promise<JobStatus> {
    return this.call('POST', '/jobs', spec, 'application/yaml');
  }
  listJobs(): Promise<JobStatus[]> {
    return this.call('GET', '/jobs');
  }
  getJob(id: string): Promise<JobStatus> {
    return this.call('GET', `/jobs/${encodeURIComponent(id)}`);
  }
  jobTasks(id: string): Promise<JobTask[]> {
    return this.call('GET', `/jobs/${encodeURIComponent(id)}/tasks`);
  }
  cancelJob(id: string): Promise<JobStatus> {
    return this.call('POST', `/jobs/${encodeURIComponent(id)}/cancel`);
  }
  async deleteJob(id: string): Promise<void> {
    await this.call('DELETE', `/jobs/${encodeURIComponent(id)}`);
  }
  createRun(input: CreateRun): Promise<RunView> {
    return this.call('POST', '/runs', input);
  }
  listRuns(): Promise<RunRecord[]> {
    return this.call('GET', '/runs');
  }
  getRun(id: string): Promise<RunView> {
    return this.call('GET', `/runs/${encodeURIComponent(id)}`);
  }
  completeRun(id: string, report: RunReport): Promise<Completion> {
    return this.call('POST', `/runs/${encodeURIComponent(id)}/complete`, report);
  }
  async setRunParam(id: string, node: string, index: number, name: string, value: string): Promise<void> {
    await this.call('PUT', `/runs/${encodeURIComponent(id)}/params/${encodeURIComponent(node)}/${index}/${encodeURIComponent(name)}`, value, 'text/plain');
  }
  async getRunParam(id: string, node: string, index: number, name: string): Promise<string> {
    return (await this.call<{ value: string }>('GET', `/runs/${encodeURIComponent(id)}/params/${encodeURIComponent(node)}/${index}/${encodeURIComponent(name)}`)).value;
  }
  async deleteRun(id: string): Promise<void> {
    await this.call('DELETE', `/runs/${encodeURIComponent(id)}`);
  }

  /** Any call of the API; JSON out, and JSON in unless `type` says the body is text of that type. */
  async call<T>(method: string, path: string, body?: unknown, type?: string): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = type ?? 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      const payload = body === undefined ? undefined : type ? String(body) : JSON.stringify(body);
      res = await fetch(new URL(path, this.baseUrl), { method, headers, body: payload });
    } catch (err) {
      throw new ApiError(0, 'unreachable', `cannot reach the rota API at ${this.baseUrl}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    const text = await res.text();
    const data = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const e = (data ?? {}) as { error?: string; message?: string };
      throw new ApiError(res.status, e.error ?? 'error', e.message ?? `${res.status} ${res.statusText}`);
    }
    return data as T;
  }
}
