// The leader's planning rounds, kept between rounds of one term so that a round costs what changed
// (DESIGN "Data flow"). The leader tells it which items changed (registry and specs events) and
// how the assignments changed (its inbox-by-worker view's events); a round then re-plans only those
// items, with the incremental planner for services, and the tasks it knows (tasks are few and
// short-lived: their part is O(tasks), never O(items)); workers joining or leaving move only their
// share. After a reload of any view, or a change of a worker's capacity, labels or draining, it
// plans a full round (plan-round.ts) and starts again from that.
import type { KeyValue, WatchEvent } from '../store/index.js';
import type { Placement } from './fleet/placement.js';
import { GroupedPlanner } from './grouped-planner.js';
import type { Keys } from './keys.js';
import { batchesOf, classify, fleetOf, indexAssignments, planRound, RoundWriter, taskChangesOf, type AssignIndex, type Round, type Snapshot, type TaskEntry } from './plan-round.js';
import type { PlanItem } from './planner.js';
import { batchOf, isBatchId } from './tasks/batch.js';
import type { BatchView } from './tasks/task-changes.js';

/** Planning rounds that cost what changed since the last one. */
export class RoundPlanner {
  /** Tasks without a result, kept oldest first (see sortTasks). */
  private tasks = new Map<string, TaskEntry>();
  private tasksSorted = true;
  private lastOrder = 0;
  /** The task batches in the inboxes, by key. */
  private batches = new Map<string, BatchView>();
  private readonly dirty = new Set<string>();
  private index: AssignIndex = { worker: new Map(), kv: new Map() };
  private stale = true;
  /** Whether the last round was planned from scratch (for tests and logs). */
  lastWasFull = false;

  private readonly services: GroupedPlanner;

  constructor(
    private readonly keys: Keys,
    private readonly random: () => number,
    /** How services that name no placement share the fleet. */
    private readonly placement: Placement = 'capacity',
  ) {
    this.services = new GroupedPlanner(placement);
  }

  /** Item `id` (its registry key or spec) changed: it is looked at in the next round. */
  itemChanged(id: string): void {
    this.dirty.add(id);
  }

  /** Results changed: a task with one is done (a result deleted makes its task looked at again). */
  resultsChanged(events: WatchEvent[]): void {
    for (const ev of events) {
      const id = ev.kv.key.slice(this.keys.results.length);
      if (ev.type === 'put') this.tasks.delete(id);
      else this.dirty.add(id);
    }
  }

  /** Assignments changed (events of the assign/ view): the index of who holds what follows them. */
  assignmentsChanged(events: WatchEvent[]): void {
    for (const ev of events) {
      const a = this.keys.assignmentOf(ev.kv.key);
      if (!a) continue;
      if (isBatchId(a.id)) {
        const record = ev.type === 'put' ? batchOf(ev.kv) : undefined;
        if (record) this.batches.set(ev.kv.key, { worker: a.worker, id: a.id, kv: ev.kv, record });
        else this.batches.delete(ev.kv.key);
        continue;
      }
      if (ev.type === 'put') (this.index.worker.set(a.id, a.worker), this.index.kv.set(a.id, ev.kv));
      else if (this.index.worker.get(a.id) === a.worker) (this.index.worker.delete(a.id), this.index.kv.delete(a.id));
    }
  }

  /** Services planned (and how many of them no worker can take) and tasks without a result, as of the last round. */
  counts(): { services: number; unassignable: number; tasks: number } {
    return { services: this.services.size, unassignable: this.services.unassignableIds().length, tasks: this.tasks.size };
  }

  /** Plan the next round from scratch (a view was listed again: its events may have been missed). */
  invalidate(): void {
    this.stale = true;
  }

  /** Plans one round from `s`. */
  round(s: Snapshot): Round {
    const fleet = fleetOf(s);
    if (this.stale) return this.full(s);
    // Workers joined or left: only their share moves (anything else about the workers: from scratch).
    const known = this.services.planned(fleet);
    const workersDelta = known ? undefined : this.services.updateWorkers(fleet);
    if (!known && !workersDelta) return this.full(s);
    this.lastWasFull = false;
    const upserts: PlanItem[] = [];
    const removals: string[] = [];
    const changed = [...this.dirty];
    this.dirty.clear();
    for (const id of changed) {
      const kv: KeyValue | undefined = s.registry.get(this.keys.item(id));
      const c = kv ? classify(s, this.keys, id, kv) : undefined;
      if (c && 'service' in c) {
        upserts.push(c.service);
        this.tasks.delete(id);
      } else {
        removals.push(id);
        if (c && 'task' in c) this.addTask(c.task);
        else this.tasks.delete(id);
      }
    }
    const delta = this.services.update(upserts, removals);
    if (!this.tasksSorted) this.sortTasks();
    const taskChanges = taskChangesOf(s, this.keys, this.random, fleet, this.tasks.values(), [...this.batches.values()]);
    const w = new RoundWriter(s, this.keys, this.index, { unassignable: this.services.unassignableIds().length, services: this.services.size, tasks: this.tasks.size }, taskChanges);
    for (const [id, to] of delta.assign) w.put(id, to);
    for (const id of delta.unassign) w.remove(id);
    const unassigned = new Set(delta.unassign);
    for (const id of workersDelta ? [...workersDelta.assign.keys(), ...workersDelta.unassign] : []) {
      if (delta.assign.has(id) || unassigned.has(id)) continue; // the item's own change decided
      const to = this.services.assignment(id);
      if (to !== undefined) w.put(id, to);
      else w.remove(id);
    }
    for (const id of changed) {
      if (delta.assign.has(id)) continue;
      const to = this.services.assignment(id);
      // A service that stays where it is: its newer content, if any, goes to its owner.
      if (to !== undefined && to === this.index.worker.get(id)) w.forward(id);
      // Gone from the registry, or a task (tasks go in batches): an assignment of it on its own is removed.
      else if (to === undefined && !unassigned.has(id)) w.remove(id);
    }
    return w.round;
  }

  /** Tasks arrive in the order of their creation, but for a reload or an update: then sorted again, once. */
  private addTask(t: TaskEntry): void {
    if (t.order < this.lastOrder && !this.tasks.has(t.id)) this.tasksSorted = false;
    this.lastOrder = Math.max(this.lastOrder, t.order);
    this.tasks.set(t.id, t);
  }

  private sortTasks(): void {
    this.tasks = new Map([...this.tasks.values()].sort((a, b) => a.order - b.order).map((t) => [t.id, t]));
    this.lastOrder = Math.max(0, ...[...this.tasks.values()].slice(-1).map((t) => t.order));
    this.tasksSorted = true;
  }

  /** A round from scratch; the state kept between rounds starts again from it. */
  private full(s: Snapshot): Round {
    const round = planRound(s, this.keys, this.random, this.placement);
    const { fleet, services, assignments, tasks } = round.basis;
    this.services.adopt(fleet, services, assignments);
    this.tasks = new Map(tasks.map((t) => [t.id, t]));
    this.sortTasks();
    this.batches = new Map(batchesOf(s, this.keys).map((b) => [b.kv.key, b]));
    const index = indexAssignments(s, this.keys);
    this.index = { worker: index.worker, kv: index.kv };
    this.dirty.clear();
    this.stale = false;
    this.lastWasFull = true;
    return round;
  }
}
