// The worker agent: registers a worker on a session, follows its own inbox of the leader's
// assignments (and nothing else: its work per change is O(its own items), whatever the size of the
// fleet), claims what is assigned to it, runs it with a processor, and lets go in the safe order:
// stop the processor first, then delete the claim only if it still holds it. When the session is lost it stops every
// processor before the lease can expire (a stop already under way is escalated to a fenced one),
// releases the old lease once nothing runs under it, and opens a new session — retried for as long
// as it takes, so the worker comes back by itself after any outage of the store.
import { EventEmitter } from 'node:events';
import type { Session } from '../recipes/session.js';
import { PrefixView } from '../recipes/prefix-view.js';
import { systemClock, type Clock, type KeyValue, type Store, type TimerHandle } from '../store/index.js';
import { ClaimAudit } from './claim-audit.js';
import { claimItem, releaseItem } from './claims.js';
import { itemContext } from './item-context.js';
import { ItemRun, type StopDeps } from './item-run.js';
import { Keys } from './keys.js';
import { Limiter } from '../store/limiter.js';
import { ReleaseWaiter } from './release-wait.js';
import type { Logger } from './log.js';
import { decodeSpec, type WorkItem } from './model.js';
import type { Processor, StopReason } from './processors/types.js';
import { isBatchId } from './tasks/batch.js';
import { BatchRunner } from './tasks/batch-runner.js';
import { TxnBatcher } from './txn-batcher.js';
import { WorkerRecordPublisher } from './worker-record.js';
import { WorkerSession } from './worker-session.js';
import { ConfigFollower } from './fleet/config-follower.js';
import type { ResourceFlags } from './fleet/resources.js';

export interface AgentOptions {
  store: Store;
  keys: Keys;
  workerId: string;
  processor: Processor;
  log: Logger;
  capacity?: number;
  labels?: Record<string, string>;
  /** Lease TTL in seconds (default 5). */
  ttl?: number;
  /** The API URL of the node this worker lives in, shown in its record. */
  api?: string;
  clock?: Clock;
  /** Safety-net reconcile of every item, in ms (events do the real work). */
  reconcileMs?: number;
  /** List the inbox again and check every claim held about this often (ms, jittered), repairing anything a watch missed (default 45 s). */
  relistMs?: number;
  /** The --exec command tasks without a command of their own run with. */
  taskExec?: string;
  /** Randomness for retry jitter (default Math.random). */
  random?: () => number;
  /** Arranges for a session's lease to be revoked if this process dies; returns the cancel. */
  releaseOnDeath?: (lease: string) => () => void;
  /** CPUs and memory to report instead of the machine's (--cpus, --memory). */
  resources?: ResourceFlags;
  /** Its node's rank in the leader election, shown in its record (--priority). */
  priority?: number;
}

export interface AgentEvents {
  /** The worker holds the claim and its processor has started. */
  grabbed: [id: string, token: number];
  /** The worker stopped the item and (unless fenced) deleted its claim. */
  released: [id: string, reason: StopReason];
  /** A new session: the worker (re)registered. */
  registered: [lease: string];
}

/** One worker of the fleet. */
export class Agent extends EventEmitter<AgentEvents> {
  readonly id: string;
  private readonly keys: Keys;
  private readonly clock: Clock;
  private readonly random: () => number;
  private readonly log: Logger;
  /** assign/<this worker>/: the items the leader gave it. */
  private readonly inbox: PrefixView;
  private readonly releases: ReleaseWaiter;
  private readonly running = new Map<string, ItemRun>();
  private readonly chains = new Map<string, Promise<void>>();
  private readonly limiter = new Limiter(64);
  private readonly batcher: TxnBatcher;
  private readonly tasks: BatchRunner;
  private readonly sessions: WorkerSession;
  private readonly publisher: WorkerRecordPublisher;
  /** config/<this worker>: capacity, labels, draining and max memory set live. */
  private readonly config: ConfigFollower;
  private readonly stopDeps: StopDeps;
  private stopping = false;
  /** Aborted on stop or crash: ends the session loop and the release of old leases. */
  private readonly halted = new AbortController();
  private reconcileTimer?: NodeJS.Timeout;
  private readonly claimAudit: ClaimAudit;
  private retryTimer?: TimerHandle;
  /** Claims refused while no one held them, by item: retried a few times. */
  private readonly freeRetries = new Map<string, number>();

  constructor(private readonly options: AgentOptions) {
    super();
    this.id = options.workerId;
    this.keys = options.keys;
    this.clock = options.clock ?? systemClock;
    this.log = options.log.child({ worker: this.id });
    const random = (this.random = options.random ?? Math.random);
    this.inbox = new PrefixView(options.store, this.keys.inbox(this.id), this.clock, { relistMs: options.relistMs ?? 45_000, random });
    this.releases = new ReleaseWaiter(options.store, this.keys, (id) => this.reconcile(id));
    this.claimAudit = new ClaimAudit({
      store: options.store,
      keys: this.keys,
      clock: this.clock,
      random,
      log: this.log,
      everyMs: options.relistMs ?? 45_000,
      runs: () => [...[...this.running.values()].filter((r) => !r.stopping).map((r) => ({ id: r.item.id, token: r.token })), ...this.tasks.claims()],
      onLost: (id, token) => {
        if (isBatchId(id)) return void this.tasks.lost(id, token);
        const run = this.running.get(id);
        if (!run || run.token !== token || run.stopping) return;
        this.log.warn('our claim is gone: stopping', { work: id, token });
        void this.halt(id, 'claim-lost', false);
      },
    });
    this.batcher = new TxnBatcher(options.store);
    this.tasks = new BatchRunner({
      store: options.store,
      keys: this.keys,
      workerId: this.id,
      log: this.log,
      clock: this.clock,
      random,
      workerExec: options.taskExec,
      slots: Math.max(1, options.capacity ?? 1),
      entries: () => this.batchEntries(),
      session: () => this.session,
      changed: () => this.publishLoad(),
    });
    this.publisher = new WorkerRecordPublisher(options.store, this.keys.worker(this.id), {
      capacity: options.capacity ?? 1,
      labels: options.labels ?? {},
      api: options.api,
      startedAt: this.clock.now(),
      resources: options.resources,
    });
    const defaults = { capacity: options.capacity ?? 1, labels: options.labels ?? {}, priority: options.priority };
    this.config = new ConfigFollower(options.store, this.keys, this.id, defaults, this.log, (settings) => {
      void this.publisher.applySettings(settings);
      this.tasks.setSlots(settings.capacity);
    });
    this.stopDeps = {
      processor: options.processor,
      log: this.log,
      // Releases of the same moment share a transaction (a handover of hundreds costs a few writes).
      release: (id, token) => this.limiter.run(() => releaseItem(options.store, this.keys, id, token, this.batcher)),
    };
    this.sessions = new WorkerSession({
      store: options.store,
      workerId: this.id,
      ttl: options.ttl ?? 5,
      clock: this.clock,
      random,
      log: this.log,
      publisher: this.publisher,
      load: () => this.running.size + this.tasks.load,
      signal: this.halted.signal,
      releaseOnDeath: options.releaseOnDeath,
      onOpened: (session) => {
        this.options.log.info(`We are worker=${this.id}`, { lease: session.lease, ttl: session.ttl, expiresBy: session.expiresBy, fenceInMs: Math.round(session.remainingMs) });
        this.emit('registered', session.lease);
        this.reconcileAll();
      },
      onLost: (session, err) => this.onSessionLost(session, err),
    });
  }

  /** The session the worker runs under now, if any. */
  private get session(): Session | undefined {
    return this.sessions.current;
  }

  /** Ids of the items this worker runs now (those still stopping included). */
  get items(): string[] {
    return [...this.running.keys(), ...this.tasks.ids()].sort();
  }

  /** Whether the worker may run items now: it holds a valid session (else why not). */
  health(): { ok: boolean; reason?: string } {
    return this.sessions.health();
  }

  async start(): Promise<void> {
    this.inbox.on('change', (batch) => {
      let batches = false;
      for (const ev of batch.events) {
        const id = ev.kv.key.slice(this.inbox.prefix.length);
        if (isBatchId(id)) batches = true;
        else this.reconcile(id);
      }
      if (batches) this.tasks.reconcile();
    });
    this.inbox.on('reset', () => this.reconcileAll());
    this.inbox.on('failed', (err) => this.log.warn('watch failed, listing again', { prefix: this.inbox.prefix, error: err.message }));
    await this.inbox.start();
    // The configuration before the record: the leader plans with the settings in force from the start.
    await this.config.start();
    await this.sessions.ensure();
    const every = this.options.reconcileMs ?? 5000;
    this.reconcileTimer = setInterval(() => this.reconcileAll(), every);
    this.reconcileTimer.unref();
    this.claimAudit.start();
  }

  /** Clean shutdown: stop every processor, then revoke the lease so every claim goes at once. */
  async stop(): Promise<void> {
    if (this.stopping) return;
    this.stopping = true;
    this.halted.abort();
    this.clearTimers();
    await Promise.all([...this.running.keys()].map((id) => this.halt(id, 'shutdown', false)).concat(this.tasks.close()));
    await this.options.processor.close?.();
    await this.session?.close().catch(() => undefined);
    await Promise.all([this.inbox.close(), this.releases.close(), this.config.close()]);
    this.log.info('worker stopped; lease revoked');
  }

  /** Simulated crash: processors end, but nothing is released; the lease expires after its TTL. */
  async crash(): Promise<void> {
    this.stopping = true;
    this.halted.abort();
    this.clearTimers();
    this.session?.abandon();
    await Promise.all([...this.running.keys()].map((id) => this.halt(id, 'fenced', false)).concat(this.tasks.close()));
    await this.options.processor.close?.();
    await Promise.all([this.inbox.close(), this.releases.close(), this.config.close()]);
    this.log.warn('worker crashed (simulated): its lease will expire');
  }

  private clearTimers(): void {
    clearInterval(this.reconcileTimer);
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer);
    this.claimAudit.stop();
    this.publisher.cancel();
  }

  /** The session is lost: stop what ran under it (stops under way are cut short too: none may outlast it). */
  private async onSessionLost(session: Session, err: Error): Promise<{ quiet: Promise<unknown> }> {
    const mine = [...this.running.values()].filter((r) => r.session === session);
    this.log.warn('session lost: stopping all work', { reason: err.message, items: mine.length });
    const [tasks] = await Promise.all([this.tasks.fence(session), ...mine.map((run) => (run.stopping ? run.escalate(this.stopDeps) : this.halt(run.item.id, 'fenced', false)))]);
    // What ended meanwhile is recorded under its claims whenever the store answers.
    return tasks;
  }

  /** After a failed step (the store away a moment), looks at every item again soon rather than at the next periodic reconcile. */
  private retrySoon(): void {
    if (this.retryTimer || this.stopping) return;
    this.retryTimer = this.clock.setTimeout(() => {
      this.retryTimer = undefined;
      if (!this.stopping) this.reconcileAll();
    }, 500 + Math.round(this.random() * 500));
  }

  private reconcileAll(): void {
    const ids = new Set(this.running.keys());
    for (const key of this.inbox.kvs.keys()) ids.add(key.slice(this.inbox.prefix.length));
    for (const id of ids) if (!isBatchId(id)) this.reconcile(id);
    this.tasks.reconcile();
  }

  /** The task batches in the inbox, by batch id. */
  private batchEntries(): Map<string, KeyValue> {
    const out = new Map<string, KeyValue>();
    for (const [key, kv] of this.inbox.kvs) {
      const id = key.slice(this.inbox.prefix.length);
      if (isBatchId(id)) out.set(id, kv);
    }
    return out;
  }

  /** Serializes all work on one item; each step re-reads the views, so steps are idempotent. */
  private reconcile(id: string): void {
    const next = (this.chains.get(id) ?? Promise.resolve())
      .then(() => this.step(id))
      .catch((err: Error) => {
        this.log.error('could not reconcile item', { work: id, error: err.message });
        this.retrySoon();
      });
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
  }

  private async step(id: string): Promise<void> {
    const session = this.session;
    const assignment = this.inbox.kvs.get(this.keys.assignment(this.id, id));
    const run = this.running.get(id);
    if (!assignment) (this.releases.cancel(id), this.freeRetries.delete(id));
    if (run?.stopping) return; // once it has stopped, the item is looked at again
    if (run) {
      if (run.session !== session || !run.session.valid) return this.halt(id, 'fenced', false);
      if (!assignment) return this.halt(id, (await this.exists(id)) ? 'moved' : 'deleted', true);
      // The leader forwards a content update by writing its revision into the assignment.
      if (forwardedRevision(assignment.value) > run.contentRevision) return this.refresh(run);
      return;
    }
    if (!session?.valid || !assignment || this.stopping) return;
    const outcome = await claimItem(this.options.store, this.keys, id, this.id, session.lease, this.batcher);
    if (!outcome.claimed) {
      if (!this.inbox.kvs.has(this.keys.assignment(this.id, id))) return;
      // Held by another worker (or by our own old lease): its deletion brings us back here.
      if (outcome.holder) return this.releases.wait(id, outcome.revision);
      // Free when read: released between our attempt and the read (a handover's usual race), or
      // refused for a reason the inbox has not shown yet (item deleted): a few more tries, then
      // the periodic reconcile.
      const tries = (this.freeRetries.get(id) ?? 0) + 1;
      this.freeRetries.set(id, tries);
      if (tries <= FREE_RETRIES) this.clock.setTimeout(() => this.reconcile(id), 5 * tries);
      return;
    }
    this.freeRetries.delete(id);
    if (this.session !== session || !session.valid || this.stopping) return; // its lease takes the claim away
    await this.begin(id, outcome.token, outcome.content, outcome.spec, session);
  }

  private async begin(id: string, token: number, content: string, spec: string | undefined, session: Session): Promise<void> {
    const abort = new AbortController();
    const item: WorkItem = { id, content, spec: decodeSpec(spec) };
    const ctx = itemContext({ store: this.options.store, keys: this.keys, id, workerId: this.id, token, session, signal: abort.signal, log: this.log });
    const run = new ItemRun(item, token, session, ctx, abort);
    this.running.set(id, run);
    this.log.info(`Successfully grabbed work=${id}`, { token });
    if (item.spec.kind === 'task') {
      // Tasks come in batches; an older leader's assignment of one on its own is let go of.
      this.log.warn(`work=${id} is a task assigned on its own (by an older leader): letting it go`);
      return void this.halt(id, 'moved', true);
    }
    try {
      await this.options.processor.start(item, ctx);
    } catch (err) {
      this.log.error('processor failed to start', { work: id, error: (err as Error).message });
    }
    this.emit('grabbed', id, token);
    this.publishLoad();
  }

  /** Whether item `id` is still in the registry (a count, not its content). */
  /** Whether item `id` still exists (reads of the same moment share a transaction: a handover of hundreds is a few reads). */
  private async exists(id: string): Promise<boolean> {
    const r = await this.batcher.run({ compare: [], success: [{ type: 'range', key: this.keys.item(id), countOnly: true }] });
    const read = r.results[0];
    return read?.type === 'range' && read.count > 0;
  }

  /** Reads the content of a running item again and hands it to the processor if it is newer. */
  private async refresh(run: ItemRun): Promise<void> {
    const kv = await this.options.store.get(this.keys.item(run.item.id));
    if (kv && kv.modRevision > run.contentRevision && this.running.get(run.item.id) === run && !run.stopping) await this.update(run, kv.value, kv.modRevision);
  }

  private async update(run: ItemRun, content: string, revision: number): Promise<void> {
    run.item = { ...run.item, content };
    run.contentRevision = revision;
    this.log.info(`Updated our work=${run.item.id}`);
    await this.options.processor.update(run.item, run.ctx);
  }

  /** Stops a run (see ItemRun.stop); once stopped it leaves `running` and the item is looked at again. */
  private halt(id: string, reason: StopReason, release: boolean): Promise<void> {
    const run = this.running.get(id);
    if (!run) return Promise.resolve();
    if (run.stopping) return run.stopped ?? Promise.resolve();
    return run.stop(reason, release, this.stopDeps).finally(() => {
      if (this.running.get(id) === run) this.running.delete(id);
      this.emit('released', id, reason);
      this.publishLoad();
      if (!this.stopping) this.reconcile(id);
    });
  }

  private publishLoad(): void {
    if (!this.stopping) this.publisher.publish(() => this.running.size + this.tasks.load, () => this.session);
  }
}

/** Claims refused with no holder are tried again this many times before the periodic reconcile. */
const FREE_RETRIES = 3;

/** The content revision an assignment forwards (0 when it names none). */
function forwardedRevision(value: string): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
