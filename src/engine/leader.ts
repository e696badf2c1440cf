// The leader: elected among nodes, it plans assignments from the stored state and writes them in
// batched transactions that each carry a compare on its election key, so a deposed leader's late
// writes fail. It replans on worker and registry changes (debounced) and on a periodic reconcile;
// a new leader simply picks up from what is stored.
import { EventEmitter } from 'node:events';
import { Election } from '../recipes/election.js';
import { Membership } from '../recipes/membership.js';
import { PrefixView } from '../recipes/prefix-view.js';
import { Session } from '../recipes/session.js';
import { sleep, systemClock, type Clock, type Store, type TxnOp } from '../store/index.js';
import type { Keys } from './keys.js';
import { Limiter } from './limit.js';
import type { Logger } from './log.js';
import { decodeSpec, decodeWorker, type WorkerRecord } from './model.js';
import { planAssignments, type PlanItem, type PlanWorker } from './planner.js';

export interface LeaderOptions {
  store: Store;
  keys: Keys;
  nodeId: string;
  log: Logger;
  ttl?: number;
  clock?: Clock;
  /** Quiet time after a change before planning (ms). */
  debounceMs?: number;
  /** Full re-read of the stored state and replan, every this many ms. */
  reconcileMs?: number;
}

export interface PlanSummary {
  moved: number;
  placed: number;
  removed: number;
  unassignable: number;
  items: number;
  workers: number;
}

export interface LeaderEvents {
  elected: [];
  deposed: [];
  planned: [summary: PlanSummary];
}

/** Etcd allows 128 operations per transaction; one compare is the leader's fence. */
const BATCH = 127;

/** Campaigns for leadership and, while leading, keeps the assignments planned. */
export class Leader extends EventEmitter<LeaderEvents> {
  private readonly clock: Clock;
  private readonly log: Logger;
  private stopped = false;
  /** Revision of the leader's last assignment write. */
  private lastWrite = 0;
  private session?: Session;
  private election?: Election;
  private loop?: Promise<void>;

  constructor(private readonly options: LeaderOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.log = options.log.child({ node: options.nodeId });
  }

  get isLeader(): boolean {
    return this.election?.isLeader ?? false;
  }

  start(): void {
    this.loop ??= this.campaignLoop();
  }

  /** Stops leading (or waiting to) and revokes the election session, so another node takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    await this.session?.close().catch(() => undefined);
    await this.loop;
  }

  private async campaignLoop(): Promise<void> {
    for (let delay = 100; !this.stopped; ) {
      try {
        const session = await Session.open(this.options.store, { ttl: this.options.ttl ?? 5, clock: this.clock });
        this.session = session;
        if (this.stopped) break;
        const election = new Election(this.options.store, session, this.options.keys.leader, this.options.nodeId);
        this.election = election;
        await election.campaign();
        this.options.log.info(`Became leader node=${this.options.nodeId}`);
        this.emit('elected');
        await this.lead(election);
        this.options.log.info(`No longer leader node=${this.options.nodeId}`);
        this.emit('deposed');
        await session.close().catch(() => undefined);
        delay = 100;
      } catch (err) {
        if (this.stopped) break;
        this.log.warn('campaign failed, retrying', { error: (err as Error).message, inMs: delay });
        await sleep(this.clock, delay);
        delay = Math.min(delay * 2, 2000);
      }
    }
    await this.session?.close().catch(() => undefined);
  }

  /** Plans while `election` leads; returns when it no longer does. */
  private async lead(election: Election): Promise<void> {
    const { store, keys } = this.options;
    const workers = new Membership<WorkerRecord>(store, keys.workers, decodeWorker, this.clock);
    const registry = new PrefixView(store, keys.registry, this.clock);
    const specs = new PrefixView(store, keys.specs, this.clock);
    const assign = new PrefixView(store, keys.assign, this.clock);
    const views = [workers.view, registry, specs, assign];
    let timer: NodeJS.Timeout | undefined;
    let firstChangeAt = 0;
    let planning = Promise.resolve();
    let lastFleet = '';
    const plan = () => {
      planning = planning.then(() => this.planOnce(election, workers, registry, specs, assign)).catch((err: Error) => {
        this.log.error('planning failed', { error: err.message });
      });
    };
    const schedule = () => {
      const now = this.clock.now();
      if (!timer) firstChangeAt = now;
      clearTimeout(timer);
      // Debounced, but never postponed past a second under a steady stream of changes.
      const wait = Math.max(0, Math.min(this.options.debounceMs ?? 100, firstChangeAt + 1000 - now));
      timer = setTimeout(() => {
        timer = undefined;
        plan();
      }, wait);
    };
    workers.on('change', () => {
      // Load updates change nothing the planner looks at.
      const fleet = JSON.stringify(workers.members().map((m) => [m.id, m.record.capacity, m.record.labels, m.record.draining]));
      if (fleet !== lastFleet) {
        lastFleet = fleet;
        schedule();
      }
    });
    registry.on('change', (b) => b.events.some((e) => e.type === 'delete' || e.kv.version === 1) && schedule());
    for (const v of [registry, specs, assign]) v.on('reset', schedule);
    specs.on('change', schedule);
    assign.on('change', schedule);
    for (const v of views) v.on('failed', (err) => this.log.warn('watch failed, listing again', { prefix: v.prefix, error: err.message }));
    const deposed = new Promise<void>((resolve) => election.once('deposed', () => resolve()));
    try {
      await Promise.all([workers.start(), registry.start(), specs.start(), assign.start()]);
      plan();
      const reconcile = setInterval(() => {
        void Promise.all(views.map((v) => v.resync())).then(plan);
      }, this.options.reconcileMs ?? 10_000);
      await deposed;
      clearInterval(reconcile);
    } finally {
      clearTimeout(timer);
      await planning;
      await Promise.all([workers.close(), registry.close(), specs.close(), assign.close()]);
    }
  }

  /** Waits until `view` has seen revision lastWrite (or re-reads it after 5 s). */
  private async catchUp(view: PrefixView): Promise<void> {
    const done = new AbortController();
    const check = () => {
      if (view.revision >= this.lastWrite) done.abort();
    };
    view.on('change', check);
    view.on('reset', check);
    check();
    try {
      await sleep(this.clock, 5000, done.signal);
      await view.resync();
    } catch {
      // caught up
    } finally {
      view.off('change', check);
      view.off('reset', check);
    }
  }

  private async planOnce(election: Election, workers: Membership<WorkerRecord>, registry: PrefixView, specs: PrefixView, assign: PrefixView): Promise<void> {
    if (!election.isLeader) return;
    // Plan from a view that shows our own last writes, or we would place the same items twice.
    if (assign.revision < this.lastWrite) await this.catchUp(assign);
    const { keys, store } = this.options;
    const fleet: PlanWorker[] = workers.members().map((m) => ({ id: m.id, capacity: m.record.capacity, labels: m.record.labels, draining: m.record.draining }));
    const items: PlanItem[] = [];
    for (const key of registry.kvs.keys()) {
      const id = key.slice(keys.registry.length);
      const spec = decodeSpec(specs.kvs.get(keys.spec(id))?.value);
      items.push({ id, weight: spec.weight, selector: spec.selector });
    }
    const current = new Map<string, string>();
    for (const kv of assign.kvs.values()) current.set(kv.key.slice(keys.assign.length), kv.value);
    const plan = planAssignments(fleet, items, current);
    const ops: TxnOp[] = [];
    for (const [id, worker] of plan.assignments) if (current.get(id) !== worker) ops.push({ type: 'put', key: keys.assignment(id), value: worker });
    let removed = 0;
    for (const id of current.keys()) {
      if (plan.assignments.has(id)) continue;
      ops.push({ type: 'delete', key: keys.assignment(id) });
      removed++;
    }
    if (ops.length === 0) return;
    const batches: TxnOp[][] = [];
    for (let i = 0; i < ops.length; i += BATCH) batches.push(ops.slice(i, i + BATCH));
    // Batches touch disjoint keys, so a few may be in flight at once.
    const limiter = new Limiter(8);
    const results = await Promise.all(batches.map((success) => limiter.run(() => store.txn({ compare: [election.fence()], success }))));
    this.lastWrite = Math.max(this.lastWrite, ...results.map((r) => r.revision));
    if (results.some((r) => !r.succeeded)) {
      this.log.warn('a write was refused: no longer leader');
      return;
    }
    const summary = { moved: plan.moved.length, placed: plan.placed.length, removed, unassignable: plan.unassignable.length, items: items.length, workers: fleet.length };
    this.log.info('Rebalanced', summary);
    for (const id of plan.moved) this.log.info(`Moving work=${id}`, { from: current.get(id), to: plan.assignments.get(id) });
    if (plan.placed.length <= 100) for (const id of plan.placed) this.log.info(`Assigning work=${id}`, { to: plan.assignments.get(id) });
    this.emit('planned', summary);
  }
}
