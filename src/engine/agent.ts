// The worker agent: registers a worker on a session, follows its own inbox of the leader's
// assignments (and nothing else: its work per change is O(its own items), whatever the size of the
// fleet) and its own live configuration; its services run in a ServiceRunner (claimed, run, stopped
// then released in the safe order), its task batches in a BatchRunner. When the session is lost it stops every
// processor before the lease can expire (a stop already under way is escalated to a fenced one),
// releases the old lease once nothing runs under it, and opens a new session — retried for as long
// as it takes, so the worker comes back by itself after any outage of the store.
import { EventEmitter } from 'node:events';
import type { Session } from '../recipes/session.js';
import { PrefixView } from '../recipes/prefix-view.js';
import { systemClock, type Clock, type KeyValue, type Store, type TimerHandle } from '../store/index.js';
import { ClaimAudit } from './claim-audit.js';
import { Keys } from './keys.js';
import type { Logger } from './log.js';
import type { Processor, StopReason } from './processors/types.js';
import { ServiceRunner } from './service-runner.js';
import { isBatchId } from './tasks/batch.js';
import { BatchRunner } from './tasks/batch-runner.js';
import { TxnBatcher } from './txn-batcher.js';
import { WorkerRecordPublisher } from './worker-record.js';
import { WorkerSession } from './worker-session.js';
import { ConfigFollower } from './fleet/config-follower.js';
import type { ResourceFlags } from './fleet/resources.js';
import { metrics } from './metrics.js';
import { announceReturn, returned } from './fleet/returning.js';

export interface AgentOptions {
  /** On a clean stop (not draining), announce a return within this many ms (fleet/returning.ts). */
  returnWithinMs?: number;
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
  private readonly services: ServiceRunner;
  private readonly batcher: TxnBatcher;
  private readonly tasks: BatchRunner;
  private readonly sessions: WorkerSession;
  private readonly publisher: WorkerRecordPublisher;
  /** config/<this worker>: capacity, labels, draining and max memory set live. */
  private readonly config: ConfigFollower;
  private stopping = false;
  /** The most memory it may use (live configuration), if set. */
  maxMemory?: number;
  /** Aborted on stop or crash: ends the session loop and the release of old leases. */
  private readonly halted = new AbortController();
  private reconcileTimer?: NodeJS.Timeout;
  private readonly claimAudit: ClaimAudit;
  private retryTimer?: TimerHandle;

  constructor(private readonly options: AgentOptions) {
    super();
    this.id = options.workerId;
    this.keys = options.keys;
    this.clock = options.clock ?? systemClock;
    this.log = options.log.child({ worker: this.id });
    const random = (this.random = options.random ?? Math.random);
    this.inbox = new PrefixView(options.store, this.keys.inbox(this.id), this.clock, { relistMs: options.relistMs ?? 45_000, random });
    this.claimAudit = new ClaimAudit({
      store: options.store,
      keys: this.keys,
      clock: this.clock,
      random,
      log: this.log,
      everyMs: options.relistMs ?? 45_000,
      runs: () => [...this.services.claims(), ...this.tasks.claims()],
      onLost: (id, token) => (isBatchId(id) ? this.tasks.lost(id, token) : this.services.claimLost(id, token)),
    });
    this.batcher = new TxnBatcher(options.store);
    this.services = new ServiceRunner({
      store: options.store,
      keys: this.keys,
      workerId: this.id,
      processor: options.processor,
      log: this.log,
      clock: this.clock,
      inbox: this.inbox,
      batcher: this.batcher,
      session: () => this.session,
      stopping: () => this.stopping,
      failed: () => this.retrySoon(),
      grabbed: (id, token) => (this.emit('grabbed', id, token), this.publishLoad()),
      released: (id, reason) => (this.emit('released', id, reason), this.publishLoad()),
    });
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
      this.maxMemory = settings.maxMemory;
      void this.publisher.applySettings(settings);
      this.tasks.setSlots(settings.capacity);
    });
    this.sessions = new WorkerSession({
      store: options.store,
      workerId: this.id,
      ttl: options.ttl ?? 5,
      clock: this.clock,
      random,
      log: this.log,
      publisher: this.publisher,
      load: () => this.services.running.size + this.tasks.load,
      signal: this.halted.signal,
      releaseOnDeath: options.releaseOnDeath,
      onOpened: (session) => {
        this.options.log.info(`We are worker=${this.id}`, { lease: session.lease, ttl: session.ttl, expiresBy: session.expiresBy, fenceInMs: Math.round(session.remainingMs) });
        this.emit('registered', session.lease);
        // Back (or started without the flag since): an earlier announcement must not hold its items later.
        void returned(this.options.store, this.keys, this.id, () => this.stopping);
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
    return [...this.services.running.keys(), ...this.tasks.ids()].sort();
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
        else this.services.reconcile(id);
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
    // Before anything is released: the leader must see the announcement before the record goes.
    const within = this.options.returnWithinMs;
    if (within && !this.publisher.current.draining && this.session?.valid) await announceReturn(this.options.store, this.keys, this.publisher.current, { id: this.id, withinMs: within, log: this.log });
    this.halted.abort();
    this.clearTimers();
    await Promise.all([this.services.stopAll('shutdown'), this.tasks.close()]);
    await this.options.processor.close?.();
    await this.session?.close().catch(() => undefined);
    await Promise.all([this.inbox.close(), this.services.close(), this.config.close()]);
    this.log.info('worker stopped; lease revoked');
  }

  /** Simulated crash: processors end, but nothing is released; the lease expires after its TTL. */
  async crash(): Promise<void> {
    this.stopping = true;
    this.halted.abort();
    this.clearTimers();
    this.session?.abandon();
    await Promise.all([this.services.stopAll('fenced'), this.tasks.close()]);
    await this.options.processor.close?.();
    await Promise.all([this.inbox.close(), this.services.close(), this.config.close()]);
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
    this.log.warn('session lost: stopping all work', { reason: err.message, items: this.services.under(session) });
    metrics.selfFencings.inc({ worker: this.id });
    const [tasks] = await Promise.all([this.tasks.fence(session), this.services.fence(session)]);
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
    const ids = new Set<string>(this.services.running.keys());
    for (const key of this.inbox.kvs.keys()) ids.add(key.slice(this.inbox.prefix.length));
    for (const id of ids) if (!isBatchId(id)) this.services.reconcile(id);
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

  /** Shows the cache bytes this worker holds in its record. */
  setCacheBytes(bytes: Record<string, number>): void {
    if (!this.stopping) this.publisher.setCacheBytes(bytes);
  }

  private publishLoad(): void {
    if (!this.stopping) this.publisher.publish(() => this.services.running.size + this.tasks.load, () => this.session);
  }
}

