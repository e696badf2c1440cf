// The key layout under one prefix (default /work/), so pools can share one etcd (DESIGN "Keys").

/** Names every key rota uses under `prefix`. */
export class Keys {
  /** workers/<workerId>: the worker's JSON record, on its lease. */
  readonly workers: string;
  /** registry/<itemId>: the item's content, as given. */
  readonly registry: string;
  /** specs/<itemId>: the item's spec (kind, weight, selector…) as JSON; absent = defaults. */
  readonly specs: string;
  /** assign/<workerId>/<itemId>: the leader's decision, filed in the chosen worker's inbox (value: the content revision it forwards). */
  readonly assign: string;
  /** active/<itemId>: the worker holding the claim, on its lease; create revision = fencing token. */
  readonly active: string;
  /** status/<itemId>: what the running worker reports (restarts…), on its lease. */
  readonly status: string;
  /** leader/<leaseId>: election candidates, on their leases. */
  readonly leader: string;
  /** results/<taskId>: a task's outcome, written once. */
  readonly results: string;
  /** attempts/<taskId>/<attemptId>: each attempt of a task, begun and (when it ends) its outcome. */
  readonly attempts: string;
  /** jobs/<jobId>: a job's spec and totals. */
  readonly jobs: string;
  /** runs/<runId>/…: a run's record, pending participants and parameters. */
  readonly runs: string;
  /** requests/<requestId>: proof, on a short lease, that a client's write committed (retries). */
  readonly requests: string;
  /** config/<workerId>: what an operator set for a worker (capacity, labels…); no lease, it outlives the worker. */
  readonly configs: string;
  /** returning/<workerId>: a worker restarting, on a lease of the time it will be back within (its record as it left). */
  readonly returning: string;
  /** caches/<name> (spec) and caches/<name>/<id> (a partition's holders and ownership epoch); the bytes live on the workers. */
  readonly caches: string;

  constructor(readonly prefix = '/work/') {
    if (!prefix.endsWith('/')) throw new Error(`prefix must end with "/": ${prefix}`);
    this.workers = `${prefix}workers/`;
    this.registry = `${prefix}registry/`;
    this.specs = `${prefix}specs/`;
    this.assign = `${prefix}assign/`;
    this.active = `${prefix}active/`;
    this.status = `${prefix}status/`;
    this.leader = `${prefix}leader/`;
    this.results = `${prefix}results/`;
    this.attempts = `${prefix}attempts/`;
    this.jobs = `${prefix}jobs/`;
    this.runs = `${prefix}runs/`;
    this.requests = `${prefix}requests/`;
    this.configs = `${prefix}config/`;
    this.caches = `${prefix}caches/`;
    this.returning = `${prefix}returning/`;
  }

  /** Worker `id`'s announcement that it is restarting. */
  returnOf(id: string): string {
    return this.returning + id;
  }

  worker(id: string): string {
    return this.workers + id;
  }
  /** A cache's spec. */
  cache(name: string): string {
    return `${this.caches}${name}`;
  }
  /** A cache partition's placement. */
  partition(name: string, id: string): string {
    return `${this.caches}${name}/${id}`;
  }
  /** A worker's live configuration. */
  config(id: string): string {
    return this.configs + id;
  }
  item(id: string): string {
    return this.registry + id;
  }
  spec(id: string): string {
    return this.specs + id;
  }
  /** A worker's inbox: the prefix of the assignments it follows, and the only one. */
  inbox(workerId: string): string {
    return `${this.assign}${workerId}/`;
  }
  /** The assignment of item `id` to `workerId`. */
  assignment(workerId: string, id: string): string {
    return `${this.assign}${workerId}/${id}`;
  }
  /** The worker and item an assignment key names (ids never contain '/'); undefined for any other key. */
  assignmentOf(key: string): { worker: string; id: string } | undefined {
    if (!key.startsWith(this.assign)) return undefined;
    const rest = key.slice(this.assign.length);
    const slash = rest.indexOf('/');
    if (slash <= 0 || slash === rest.length - 1) return undefined;
    return { worker: rest.slice(0, slash), id: rest.slice(slash + 1) };
  }
  claim(id: string): string {
    return this.active + id;
  }
  itemStatus(id: string): string {
    return this.status + id;
  }
  result(id: string): string {
    return this.results + id;
  }
  /** The prefix of a task's attempts, or one attempt. */
  attempt(taskId: string, attemptId = ''): string {
    return `${this.attempts}${taskId}/${attemptId}`;
  }
  job(id: string): string {
    return this.jobs + id;
  }
  request(id: string): string {
    return this.requests + id;
  }

  /** The id at the end of `key` under `section` (one of the prefixes above). */
  static idOf(key: string, section: string): string {
    return key.slice(section.length);
  }
}
