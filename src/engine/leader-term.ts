// One term of leadership: what the elected leader follows (the worker set, the registry, the
// claims, tasks' results and attempts, jobs) and the planning rounds it runs on their changes —
// debounced, written in batched transactions fenced by its election key — until it is deposed.
import { FailoverClock } from './failover-clock.js';
import { itemCounts, moveReasons, type ItemCount } from './leader-metrics.js';
import { metrics } from './metrics.js';
import { Election } from '../recipes/election.js';
import type { PrefixView } from '../recipes/prefix-view.js';
import { LeaderViews } from './leader-views.js';
import { RoundSchedule } from './round-schedule.js';
import { sleep, type Clock, type Store } from '../store/index.js';
import type { Keys } from './keys.js';
import type { Logger } from './log.js';
import { DEFAULT_RETENTION, type RetentionPolicy } from './retention/policy.js';
import { RetentionSweeper } from './retention/sweeper.js';
import { RoundPlanner } from './round-planner.js';
import { CachePlacer } from './caches/cache-placer.js';
import { writeRound } from './round-writes.js';
import type { Placement } from './fleet/placement.js';
import { PlannedFleet } from './fleet/planned-fleet.js';

/** Workers join and leave in bursts: one plan for the burst moves fewer items than one per worker. */
const WORKER_COALESCE_MS = 25;

/** What one planning round did, as the leader reports it. */
export interface PlanSummary {
  moved: number;
  placed: number;
  removed: number;
  lost: number;
  unassignable: number;
  services: number;
  tasks: number;
  workers: number;
}

/** What a term needs from its leader (see LeaderOptions). */
export interface TermOptions {
  store: Store;
  keys: Keys;
  clock: Clock;
  random: () => number;
  log: Logger;
  debounceMs?: number;
  reconcileMs?: number;
  retention?: RetentionPolicy;
  retentionEveryMs?: number;
  /** How services that name no placement share the fleet (default `capacity`). */
  placement?: Placement;
  onPlanned(summary: PlanSummary): void;
}

/** The leader's work while one election leads. */
export class LeaderTerm {
  /** Revision of this term's last assignment write. */
  private lastWrite = 0;
  /** A write had no answer: it may have been made, unseen by the views. */
  private unsure = false;
  /** What the last round's planning took (ms), its writes aside. */
  private planMs = 0;
  /** What the last round's writes took (ms). */
  private writeMs = 0;
  /** Rounds that cost what changed since the last one. */
  private readonly rounds: RoundPlanner;
  /** Workers as planned: memory figures held steady. */
  private readonly fleet = new PlannedFleet();
  /** Items by kind and state, and the watch's lag behind our last write, while the term's views are followed. */
  private counting?: () => ItemCount[];
  private lagging?: () => number;

  constructor(
    private readonly election: Election,
    private readonly o: TermOptions,
  ) {
    this.rounds = new RoundPlanner(o.keys, o.random, o.placement);
  }

  /** Items by kind and state as this term sees them (none once it has ended). */
  itemCounts(): ItemCount[] {
    return this.counting?.() ?? [];
  }

  /** Revisions of our own writes the views have not applied yet (undefined once the term has ended). */
  watchLag(): number | undefined {
    return this.lagging?.();
  }

  /** Plans while the election leads; returns when it no longer does. */
  async run(): Promise<void> {
    const election = this.election;
    const { store, keys } = this.o;
    const views = new LeaderViews(store, keys, this.o.clock);
    const { workers, group } = views;
    this.lagging = () => Math.max(0, this.lastWrite - views.assign.revision);
    this.counting = () => itemCounts({ ...this.rounds.counts(), results: views.results.kvs.size, claimed: [...views.active.kvs.keys()].map((k) => k.slice(keys.active.length)) });
    // What the planner reads of each worker: a load update changes none of it and plans nothing.
    const seen = new Map<string, string>();
    const planned = (id: string) => this.fleet.signature(id, views.recordOf(id), views.registry.kvs.size);
    // No round before the first (see below): views announce their first load one by one ('reset'),
    // and planning before every one has loaded would read a registry still being listed as empty
    // and remove every assignment (seen with 200 items of 1 MiB, whose list takes seconds).
    const over = new AbortController(); // leading has ended: a round under way gives up waiting
    const rounds = new RoundSchedule({
      clock: this.o.clock,
      random: this.o.random,
      log: this.o.log,
      debounceMs: this.o.debounceMs,
      round: () => this.planOnce(election, views, over.signal),
      spacingMs: () => 2 * Math.max(this.planMs, this.writeMs),
      leading: () => election.isLeader,
    });
    const schedule = (coalesceMs?: number) => rounds.schedule(coalesceMs);
    const onChange = () => schedule();
    new FailoverClock(views.active, (w) => workers.get(w) !== undefined, () => this.o.clock.now(), (s) => metrics.failoverSeconds.observe(s));
    // Cache partitions: placed by this leader too, from the same worker set.
    const placer = new CachePlacer({ store, keys, clock: this.o.clock, log: this.o.log, fence: () => election.fence(), workers: () => workers.members() });
    views.onWorkers((ids) => {
      // Only the workers that changed are looked at: O(what changed), not O(workers). A worker that
      // left announcing its return plans as before (its record as it left): nothing moves.
      let changed = false;
      for (const id of ids ?? new Set([...seen.keys(), ...views.planned().map((m) => m.id)])) {
        const now = planned(id);
        if (now === seen.get(id)) continue;
        changed = true;
        if (now === undefined) seen.delete(id);
        else seen.set(id, now);
      }
      if (changed) {
        schedule(Math.max(this.o.debounceMs ?? 2, WORKER_COALESCE_MS));
        // Caches are placed from the same worker facts: a load update replans nothing there either.
        placer.workersChanged();
      }
    });
    // What changed, for the next round to look at (and only that); a reload of any view makes it a full round.
    const itemOf = (prefix: string) => (b: { events: Array<{ kv: { key: string } }> }) => b.events.forEach((e) => this.rounds.itemChanged(e.kv.key.slice(prefix.length)));
    views.registry.on('change', itemOf(keys.registry));
    views.specs.on('change', itemOf(keys.specs));
    views.assign.on('change', (b) => this.rounds.assignmentsChanged(b.events));
    views.results.on('change', (b) => this.rounds.resultsChanged(b.events));
    for (const v of views.all) v.on('reset', () => this.rounds.invalidate());
    // Every change of the registry: an update is forwarded to its owner through its assignment.
    views.registry.on('change', onChange);
    views.active.on('change', (b) => b.events.some((e) => e.type === 'delete') && schedule());
    for (const v of [views.specs, views.assign, views.results, views.attempts, views.jobs]) v.on('change', onChange);
    for (const v of views.all) {
      v.on('reset', onChange);
      v.on('failed', (err) => this.o.log.warn('watch failed, listing again', { prefix: v.prefix, error: err.message }));
    }
    // Also when it ended before we listened (the session may end between election and here).
    const deposed = new Promise<void>((resolve) => {
      election.once('deposed', () => resolve());
      if (!election.isLeader) resolve();
    });
    const sweeper = new RetentionSweeper({
      store,
      keys,
      policy: this.o.retention ?? DEFAULT_RETENTION,
      clock: this.o.clock,
      log: this.o.log,
      fence: () => election.fence(),
      snapshot: () => ({ registry: views.registry.kvs, specs: views.specs.kvs, results: views.results.kvs, jobs: views.jobs.kvs }),
      everyMs: this.o.retentionEveryMs,
    });
    try {
      // While the store is away the first lists wait for it; a leader deposed meanwhile stops waiting.
      await Promise.race([group.start(), deposed]);
      // Items assigned to a worker that is not there: after an outage every worker re-registers at
      // about the same time, so let the worker set settle a moment rather than move items away
      // from a worker that is coming back (and back again once it has).
      const present = new Set(views.planned().map((m) => m.id));
      if ([...views.assign.kvs.keys()].some((key) => !present.has(keys.assignmentOf(key)?.worker ?? ''))) await Promise.race([workers.settled(300, 1000), deposed]);
      if (!election.isLeader) return;
      sweeper.start();
      void placer.start().catch((err: Error) => this.o.log.warn('could not follow the caches', { error: err.message }));
      rounds.start();
      // The periodic re-list is a safety net (the watch misses nothing and a gap makes it list
      // again): it lists every view and plans a full round, so it is spaced to take at most ~2% of
      // the leader's time (every 10 s at 10,000 items; at 100,000 it took over 1 s each time).
      let reconcile: NodeJS.Timeout | undefined;
      const reconcileLater = (ms: number) => {
        reconcile = setTimeout(() => {
          const started = this.o.clock.monotonic();
          void group
            .resync()
            .then(() => (rounds.plan(), rounds.planning))
            .catch(() => undefined)
            .then(() => {
              if (election.isLeader) reconcileLater(Math.max(this.o.reconcileMs ?? 10_000, 50 * (this.o.clock.monotonic() - started)));
            });
        }, ms);
      };
      reconcileLater(this.o.reconcileMs ?? 10_000);
      await deposed;
      clearTimeout(reconcile);
    } finally {
      this.counting = this.lagging = undefined;
      over.abort();
      const lastRound = rounds.stop();
      await sweeper.stop();
      await placer.stop();
      // Views first: a round waiting on a view that re-lists while the store is away returns then.
      await views.close();
      await lastRound;
    }
  }

  /** Waits until the views have seen revision lastWrite (or re-reads them after 5 s), unless leading ends first. */
  private async catchUp(group: LeaderViews['group'], view: PrefixView, over: AbortSignal): Promise<void> {
    const done = new AbortController();
    const stop = () => done.abort();
    over.addEventListener('abort', stop, { once: true });
    const check = () => {
      if (view.revision >= this.lastWrite) done.abort();
    };
    group.on('revision', check);
    check();
    try {
      await sleep(this.o.clock, 5000, done.signal);
      await group.resync();
    } catch {
      // caught up
    } finally {
      over.removeEventListener('abort', stop);
      group.off('revision', check);
    }
  }

  /** Plans one round and writes it; returns when to plan again if nothing else changes. */
  private async planOnce(election: Election, v: LeaderViews, over: AbortSignal): Promise<number | undefined> {
    if (!election.isLeader) return undefined;
    // Plan from a view that shows our own last writes, or we would place the same items twice.
    if (v.assign.revision < this.lastWrite) await this.catchUp(v.group, v.assign, over);
    if (!election.isLeader) return undefined;
    const { store } = this.o;
    if (this.unsure) {
      // A write of the last round had no answer and may have been made: the views are listed
      // again before planning, or the same tasks could go in a second batch.
      await v.group.resync();
      this.unsure = false;
      if (!election.isLeader) return undefined;
    }
    const started = this.o.clock.monotonic();
    const round = this.rounds.round(
      {
        now: this.o.clock.now(),
        workers: v.planned().map((m) => ({ ...m, record: this.fleet.planned(m.id, m.record) })),
        registry: v.registry.kvs,
        specs: v.specs.kvs,
        assign: v.assign.kvs,
        active: v.active.kvs,
        results: v.results.kvs,
        attempts: (id) => v.attemptGroups.get(id),
        jobs: v.jobs.kvs,
      },
    );
    this.planMs = this.o.clock.monotonic() - started;
    const written = await writeRound(store, election.fence(), round);
    this.lastWrite = Math.max(this.lastWrite, written.revision);
    if (written.failed) {
      this.unsure = true;
      throw written.failed;
    }
    if (written.refused) {
      this.o.log.warn('a write was refused: no longer leader');
      return undefined;
    }
    this.writeMs = this.o.clock.monotonic() - started - this.planMs;
    if (round.ops.length + round.guarded.length > 0) {
      const summary = { moved: round.moved.length, placed: round.placed.length, removed: round.removed, lost: round.guarded.length, unassignable: round.unassignable, services: round.services, tasks: round.tasks, workers: v.workers.members().length };
      this.o.log.info('Rebalanced', { ...summary, planMs: Math.round(this.planMs), writeMs: Math.round(this.writeMs) });
      for (const m of round.moved) this.o.log.info(`Moving work=${m.id}`, { from: m.from, to: m.to });
      if (round.placed.length <= 100) for (const p of round.placed) this.o.log.info(`Assigning work=${p.id}`, { to: p.to });
      this.o.onPlanned(summary);
      metrics.assignments.inc({ reason: 'placed' }, round.placed.length);
      metrics.tasksLost.inc(written.lost);
      const why = moveReasons(round.moved, (id) => v.workers.get(id)?.record);
      for (const reason of ['balanced', 'drained', 'lost'] as const) metrics.assignments.inc({ reason }, why[reason]);
    }
    return round.wakeAt;
  }
}
