// What the leader follows while it leads, fed from one list revision and one watch (so a round
// never sees an item without the spec written with it, nor a result without the claim deleted
// with it): the workers, those announced as returning, the registry, specs, assignments, claims,
// results, attempts and jobs.
import { Membership } from '../recipes/membership.js';
import { PrefixGroups, PrefixView } from '../recipes/prefix-view.js';
import { ViewGroup } from '../recipes/view-group.js';
import type { Clock, Store } from '../store/index.js';
import type { Keys } from './keys.js';
import { decodeWorker, type WorkerRecord } from './model.js';

/** A worker the leader plans with; `away`: announced as returning, not running now (fleet/returning.ts). */
export interface PlannedWorker {
  id: string;
  record: WorkerRecord;
  away?: true;
}

/** The leader's views of the store. */
export class LeaderViews {
  readonly workers: Membership<WorkerRecord>;
  readonly returning: Membership<WorkerRecord>;
  /** Which items exist, keys only: a new leader lists no 200 MiB of contents before it can plan. */
  readonly registry: PrefixView;
  readonly specs: PrefixView;
  readonly assign: PrefixView;
  readonly active: PrefixView;
  /** Read whole: retention orders them by when they finished. */
  readonly results: PrefixView;
  readonly attempts: PrefixView;
  /** Attempts by task id. */
  readonly attemptGroups: PrefixGroups;
  readonly jobs: PrefixView;
  /** Feeds them all. */
  readonly group: ViewGroup;
  /** Every view, the workers' first. */
  readonly all: PrefixView[];

  constructor(store: Store, keys: Keys, clock: Clock) {
    const view = (prefix: string, keysOnly = false) => new PrefixView(store, prefix, clock, { keysOnly });
    this.workers = new Membership<WorkerRecord>(store, keys.workers, decodeWorker, clock);
    this.returning = new Membership<WorkerRecord>(store, keys.returning, decodeWorker, clock);
    this.registry = view(keys.registry, true);
    this.specs = view(keys.specs);
    this.assign = view(keys.assign);
    this.active = view(keys.active);
    this.results = view(keys.results);
    this.attempts = view(keys.attempts);
    this.attemptGroups = new PrefixGroups(this.attempts);
    this.jobs = view(keys.jobs);
    this.all = [this.workers.view, this.returning.view, this.registry, this.specs, this.assign, this.active, this.results, this.attempts, this.jobs];
    this.group = new ViewGroup(store, keys.prefix, this.all, clock);
  }

  /** A worker's record: live, else as it left when announced as returning. */
  recordOf(id: string): WorkerRecord | undefined {
    return this.workers.get(id)?.record ?? this.returning.get(id)?.record;
  }

  /** The workers to plan with: the live ones, and those returning that are not back yet (away). */
  planned(): PlannedWorker[] {
    const live = this.workers.members().map((m) => ({ id: m.id, record: m.record }));
    const ids = new Set(live.map((w) => w.id));
    const away = this.returning.members().filter((m) => !ids.has(m.id)).map((m) => ({ id: m.id, record: m.record, away: true as const }));
    return [...live, ...away];
  }

  /** Calls `changed` with the ids of workers that joined, left, changed or were announced returning (undefined: any may have). */
  onWorkers(changed: (ids: Iterable<string> | undefined) => void): void {
    this.workers.on('change', changed);
    this.returning.on('change', changed);
  }

  /** Stops following the store. */
  async close(): Promise<void> {
    await this.group.close();
    await Promise.all([this.workers.close(), this.returning.close(), ...this.all.slice(2).map((v) => v.close())]);
  }
}
