// The client operations over HTTP: what the CLI and remote users call.
import type { WorkInput } from '../engine/model.js';
import { allPages, type Page, type PageRequest, type TaskListOptions, type WorkListOptions } from './paging.js';
import type { AttemptView, Completion, CreateRun, JobStatus, JobTask, RotaClient, RunRecord, RunReport, RunView, StatusView, WorkChange, WorkCounts, WorkView, WorkerConfigPatch, WorkerConfigView, WorkerListOptions, WorkerView, CacheCreate, CacheView, PartitionHolder } from './types.js';

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

  addWork(input: WorkInput): Promise<WorkView>;
  addWork(inputs: WorkInput[]): Promise<WorkView[]>;
  addWork(input: WorkInput | WorkInput[]): Promise<WorkView | WorkView[]> {
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
    return allPages((after) => this.listWorkPage({ after }));
  }
  listWorkPage(options: WorkListOptions = {}): Promise<Page<WorkView>> {
    return this.page('/work', options);
  }
  countWork(): Promise<WorkCounts> {
    return this.call('GET', '/counts');
  }
  workAttempts(id: string): Promise<AttemptView[]> {
    return this.call('GET', `/work/${encodeURIComponent(id)}/attempts`);
  }
  retryWork(id: string): Promise<WorkView> {
    return this.call('POST', `/work/${encodeURIComponent(id)}/retry`);
  }
  retryJob(id: string): Promise<{ retried: number }> {
    return this.call('POST', `/jobs/${encodeURIComponent(id)}/retry`);
  }
  listWorkers(): Promise<WorkerView[]> {
    return allPages((after) => this.listWorkerPage({ after }));
  }
  listWorkerPage(options: WorkerListOptions = {}): Promise<Page<WorkerView>> {
    const { labels, lease, ...page } = options;
    return this.page('/workers', { ...page, ...(labels ? { label: Object.entries(labels).map(([k, v]) => `${k}=${v}`).join(',') } : {}), ...(lease ? { lease: 'true' } : {}) });
  }
  configureWorker(workerId: string, patch: WorkerConfigPatch): Promise<WorkerConfigView> {
    return this.call('PATCH', `/workers/${encodeURIComponent(workerId)}`, patch);
  }
  workerConfig(workerId: string): Promise<WorkerConfigView> {
    return this.call('GET', `/workers/${encodeURIComponent(workerId)}`);
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
  async listJobs(): Promise<JobStatus[]> {
    return (await allPages((after) => this.listJobPage({ after }))).sort((a, b) => a.createdAt - b.createdAt);
  }
  listJobPage(options: PageRequest = {}): Promise<Page<JobStatus>> {
    return this.page('/jobs', options);
  }
  getJob(id: string): Promise<JobStatus> {
    return this.call('GET', `/jobs/${encodeURIComponent(id)}`);
  }
  async jobTasks(id: string): Promise<JobTask[]> {
    return (await allPages((after) => this.jobTaskPage(id, { after, output: true }))).sort((a, b) => a.index - b.index);
  }
  jobTaskPage(id: string, options: TaskListOptions = {}): Promise<Page<JobTask>> {
    return this.page(`/jobs/${encodeURIComponent(id)}/tasks`, options);
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
    return allPages((after) => this.listRunPage({ after }));
  }
  listRunPage(options: PageRequest = {}): Promise<Page<RunRecord>> {
    return this.page('/runs', options);
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
  createCache(input: CacheCreate): Promise<CacheView & { added: number }> {
    return this.call('POST', '/caches', input);
  }
  listCaches(): Promise<CacheView[]> {
    return this.call('GET', '/caches');
  }
  getCache(name: string): Promise<CacheView> {
    return this.call('GET', `/caches/${encodeURIComponent(name)}`);
  }
  cacheNodes(name: string, id: string): Promise<{ epoch: number; holders: PartitionHolder[] }> {
    return this.call('GET', `/caches/${encodeURIComponent(name)}/${encodeURIComponent(id)}/nodes`);
  }
  cacheBest(name: string, id: string): Promise<PartitionHolder> {
    return this.call('GET', `/caches/${encodeURIComponent(name)}/${encodeURIComponent(id)}/best`);
  }
  cacheScore(name: string, id: string, node: string): Promise<{ node: string; score: number }> {
    return this.call('GET', `/caches/${encodeURIComponent(name)}/${encodeURIComponent(id)}/score?node=${encodeURIComponent(node)}`);
  }
  async deleteCacheId(name: string, id: string): Promise<void> {
    await this.call('DELETE', `/caches/${encodeURIComponent(name)}/${encodeURIComponent(id)}`);
  }
  async deleteCache(name: string): Promise<void> {
    await this.call('DELETE', `/caches/${encodeURIComponent(name)}`);
  }
  /** Sets a cache id's value; resolves with its length once every holder has it. */
  async cacheSet(name: string, id: string, data: Buffer): Promise<number> {
    return (await this.call<{ length: number }>('PUT', `/caches/${encodeURIComponent(name)}/${encodeURIComponent(id)}`, data, 'application/octet-stream')).length;
  }
  /** Appends to a cache id's value; resolves with its new length once every holder has it. */
  async cacheAppend(name: string, id: string, data: Buffer): Promise<number> {
    return (await this.call<{ length: number }>('POST', `/caches/${encodeURIComponent(name)}/${encodeURIComponent(id)}/append`, data, 'application/octet-stream')).length;
  }
  /** A cache id's value. */
  async cacheGet(name: string, id: string): Promise<Buffer> {
    return this.call<Buffer>('GET', `/caches/${encodeURIComponent(name)}/${encodeURIComponent(id)}`, undefined, undefined, undefined, true);
  }


  /** One page of a list: the body, `next` from the Link header, `total` from X-Total-Count. */
  async page<T>(path: string, params: WorkListOptions | TaskListOptions): Promise<Page<T>> {
    const query = new URLSearchParams();
    for (const [k, v] of Object.entries(params as Record<string, unknown>)) if (v !== undefined && v !== false) query.set(k, String(v));
    let headers: Headers | undefined;
    const items = await this.call<T[]>('GET', query.size ? `${path}?${query}` : path, undefined, undefined, (h) => (headers = h));
    const link = headers?.get('link')?.match(/<([^>]*)>;\s*rel="next"/)?.[1];
    const next = link ? (new URL(link, this.baseUrl).searchParams.get('after') ?? undefined) : undefined;
    const total = headers?.get('x-total-count');
    return { items, next, total: total ? Number(total) : undefined };
  }

  /** Any call of the API; JSON out, and JSON in unless `type` says the body is text of that type. */
  async call<T>(method: string, path: string, body?: unknown, type?: string, onHeaders?: (headers: Headers) => void, binary = false): Promise<T> {
    const headers: Record<string, string> = {};
    if (body !== undefined) headers['content-type'] = type ?? 'application/json';
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    let res: Response;
    try {
      const payload = body === undefined ? undefined : Buffer.isBuffer(body) ? body : type ? String(body) : JSON.stringify(body);
      res = await fetch(new URL(path, this.baseUrl), { method, headers, body: payload });
    } catch (err) {
      throw new ApiError(0, 'unreachable', `cannot reach the rota API at ${this.baseUrl}: ${(err as Error).cause ?? (err as Error).message}`);
    }
    onHeaders?.(res.headers);
    if (binary && res.ok) return Buffer.from(await res.arrayBuffer()) as T;
    const text = await res.text();
    const data = text ? (JSON.parse(text) as unknown) : undefined;
    if (!res.ok) {
      const e = (data ?? {}) as { error?: string; message?: string };
      throw new ApiError(res.status, e.error ?? 'error', e.message ?? `${res.status} ${res.statusText}`);
    }
    return data as T;
  }
}
