// One planning round of the leader, from a snapshot of the stored state to the writes that bring
// assignments in line: services by the balancing planner, tasks by the slot planner. Pure. The
// pieces are shared with the round planner kept between rounds (round-planner.ts), which uses this
// full round after any reload and its own incremental one otherwise.
import type { KeyValue, TxnOp } from '../store/index.js';
import type { Keys } from './keys.js';
import type { WorkerRecord, WorkSpec } from './model.js';
import type { Placement } from './fleet/placement.js';
import { planGrouped } from './grouped-planner.js';
import type { PlanItem, PlanWorker } from './planner.js';
import { batchOf, isBatchId } from './tasks/batch.js';
import { planTaskChanges, type BatchView, type GuardedWrite, type TaskChanges } from './tasks/task-changes.js';
import { decodedOnce, specOf } from './decoded.js';
import { decodeJson, type AttemptRecord, type TaskResult } from './tasks/task-model.js';

/** Tasks assigned to a worker per slot: one running, one batch waiting on the worker. */
export const TASK_QUEUE_FACTOR = 2;

/** Everything the leader follows, as key → key-value maps. */
export interface Snapshot {
  now: number;
  /** `away`: announced as returning (fleet/returning.ts): services stay assigned to it, tasks go elsewhere. */
  workers: Array<{ id: string; record: WorkerRecord; away?: true }>;
  registry: ReadonlyMap<string, KeyValue>;
  specs: ReadonlyMap<string, KeyValue>;
  assign: ReadonlyMap<string, KeyValue>;
  active: ReadonlyMap<string, KeyValue>;
  results: ReadonlyMap<string, KeyValue>;
  /** A task's attempt key-values. */
  attempts: (taskId: string) => Iterable<KeyValue>;
  jobs: ReadonlyMap<string, KeyValue>;
}

export interface Round {
  /** Assignment puts and deletes, unconditional but for the leader's fence. */
  ops: TxnOp[];
  /** Writes that carry their own compares (lost attempts). */
  guarded: GuardedWrite[];
  moved: Array<{ id: string; from?: string; to: string }>;
  placed: Array<{ id: string; to: string }>;
  removed: number;
  unassignable: number;
  services: number;
  tasks: number;
  /** When to plan again even if nothing changes (a backed-off task becomes runnable). */
  wakeAt?: number;
}

/** A task as the slot planner sees it. */
export interface TaskEntry {
  id: string;
  spec: WorkSpec;
  order: number;
}

/** Assignments by item (they are filed by worker: assign/<worker>/<item>); task batches aside. */
export interface AssignIndex {
  worker: Map<string, string>;
  kv: Map<string, KeyValue>;
}

const attemptOf = decodedOnce((value) => decodeJson<AttemptRecord>(value) ?? null);
/** A job record's state: a record holds its whole spec (a 10,000-value matrix), and every task of the job asks. */
const jobStateOf = decodedOnce((value) => decodeJson<{ state?: string }>(value)?.state ?? null);
const resultOf = decodedOnce((value) => decodeJson<TaskResult>(value) ?? null);

/** The assignments by item, and the keys of an item's second inbox (left by an older leader's half-applied writes). */
export function indexAssignments(s: Snapshot, keys: Keys): AssignIndex & { strays: string[] } {
  const index: AssignIndex & { strays: string[] } = { worker: new Map(), kv: new Map(), strays: [] };
  for (const kv of s.assign.values()) {
    const a = keys.assignmentOf(kv.key);
    if (!a || isBatchId(a.id)) continue;
    if (index.worker.has(a.id)) index.strays.push(kv.key);
    else (index.worker.set(a.id, a.worker), index.kv.set(a.id, kv));
  }
  return index;
}

/** The task batches in the workers' inboxes. */
export function batchesOf(s: Snapshot, keys: Keys): BatchView[] {
  const out: BatchView[] = [];
  for (const kv of s.assign.values()) {
    const a = keys.assignmentOf(kv.key);
    const record = a && isBatchId(a.id) ? batchOf(kv) : undefined;
    if (record) out.push({ worker: a!.worker, id: a!.id, kv, record });
  }
  return out;
}

/** What item `id` is to the planners: a service, a task, or nothing to do (a finished task). */
export function classify(s: Snapshot, keys: Keys, id: string, kv: KeyValue): { service: PlanItem } | { task: TaskEntry } | undefined {
  if (s.results.has(keys.result(id))) return undefined;
  const spec = specOf(s.specs.get(keys.spec(id)));
  return spec.kind === 'task' ? { task: { id, spec, order: kv.createRevision } } : { service: { id, weight: spec.weight, selector: spec.selector, placement: spec.placement } };
}

/** The live workers as the planners see them. */
export const fleetOf = (s: Snapshot): PlanWorker[] =>
  s.workers.map(({ id, record: r }) => ({ id, capacity: r.capacity, labels: r.labels, draining: r.draining, cpus: r.cpus, memoryAvailable: r.memoryAvailable, maxMemory: r.maxMemory }));

/** The task part of a round: record lost attempts, take back and stop tasks, fill free slots with batches. */
export function taskChangesOf(s: Snapshot, keys: Keys, random: () => number, fleet: PlanWorker[], tasks: Iterable<TaskEntry>, batches: BatchView[] = batchesOf(s, keys)): TaskChanges {
  const attemptsOf = (id: string) => {
    const list: Array<{ kv: KeyValue; record: AttemptRecord }> = [];
    for (const kv of s.attempts(id)) {
      const record = attemptOf(kv);
      if (record) list.push({ kv, record });
    }
    return list.sort((x, y) => x.record.token - y.record.token);
  };
  // A worker holds twice its slots in tasks: the second half waits on it, ready to start at once.
  const away = new Set(s.workers.filter((w) => w.away).map((w) => w.id));
  const taskFleet = fleet.filter((w) => !away.has(w.id)).map((w) => ({ ...w, capacity: w.capacity * TASK_QUEUE_FACTOR, slots: w.capacity }));
  return planTaskChanges(
    {
      now: s.now,
      workers: taskFleet,
      tasks,
      batches,
      item: (id) => s.registry.get(keys.item(id)),
      spec: (id) => s.specs.get(keys.spec(id)),
      claimOf: (batch) => s.active.get(keys.claim(batch)),
      resultOf: (id) => {
        const kv = s.results.get(keys.result(id));
        return kv ? (resultOf(kv) ?? undefined) : undefined;
      },
      attemptsOf,
      jobReady: (job) => {
        const kv = s.jobs.get(keys.job(job));
        return kv !== undefined && jobStateOf(kv) === 'ready';
      },
    },
    keys,
    random,
  );
}

/** Turns a round's decisions into its writes, against the assignments as stored. */
export class RoundWriter {
  readonly round: Round;

  constructor(
    private readonly s: Snapshot,
    private readonly keys: Keys,
    private readonly index: AssignIndex,
    counts: { unassignable: number; services: number; tasks: number },
    taskChanges: TaskChanges,
  ) {
    this.round = { ops: [...taskChanges.ops], guarded: taskChanges.guarded, moved: [], placed: [...taskChanges.placed], removed: 0, ...counts, wakeAt: taskChanges.wakeAt };
  }

  // An assignment's value is the content revision it hands its worker: a newer one is an update
  // the owner reads (workers follow their inbox, never the registry).
  private contentRevision(id: string): string {
    return String(this.s.registry.get(this.keys.item(id))?.modRevision ?? 0);
  }

  /** Item `id` goes to `to`: placed, moved, or (if it is there already) handed its newer content. */
  put(id: string, to: string): void {
    const from = this.index.worker.get(id);
    if (from === to) return this.forward(id);
    if (from !== undefined) this.round.ops.push({ type: 'delete', key: this.keys.assignment(from, id) });
    this.round.ops.push({ type: 'put', key: this.keys.assignment(to, id), value: this.contentRevision(id) });
    (from === undefined ? this.round.placed : this.round.moved).push({ id, from, to } as { id: string; from?: string; to: string });
  }

  /** Hands the owner of `id` its newer content, if the assignment names an older revision. */
  forward(id: string): void {
    const kv = this.index.kv.get(id);
    const revision = this.contentRevision(id);
    if (kv && Number(kv.value) < Number(revision)) this.round.ops.push({ type: 'put', key: kv.key, value: revision });
  }

  /** Item `id` has no worker any more. */
  remove(id: string): void {
    const from = this.index.worker.get(id);
    if (from === undefined) return;
    this.round.ops.push({ type: 'delete', key: this.keys.assignment(from, id) });
    this.round.removed++;
  }

  /** Deletes of `keys` (second inboxes) that no other write of the round touches. */
  drop(keys: string[]): void {
    const touched = new Set(this.round.ops.map((op) => op.key));
    for (const key of keys) if (!touched.has(key)) this.round.ops.push({ type: 'delete', key });
  }
}

/** What a full round planned, for a planner kept between rounds to start from. */
export interface RoundBasis {
  fleet: PlanWorker[];
  services: PlanItem[];
  assignments: Map<string, string>;
  tasks: TaskEntry[];
}

/** Plans one round from scratch; services that name no placement share the fleet by `placement`. */
export function planRound(s: Snapshot, keys: Keys, random: () => number, placement: Placement = 'capacity'): Round & { basis: RoundBasis } {
  const index = indexAssignments(s, keys);
  const services: PlanItem[] = [];
  const tasks: TaskEntry[] = [];
  for (const kv of s.registry.values()) {
    const id = kv.key.slice(keys.registry.length);
    const c = classify(s, keys, id, kv);
    if (c && 'task' in c) tasks.push(c.task);
    else if (c) services.push(c.service);
  }
  const fleet = fleetOf(s);
  const serviceIds = new Set(services.map((i) => i.id));
  const current = new Map([...index.worker].filter(([id]) => serviceIds.has(id)));
  const plan = planGrouped(fleet, services, current, placement);
  tasks.sort((a, b) => a.order - b.order);
  const taskChanges = taskChangesOf(s, keys, random, fleet, tasks);

  const w = new RoundWriter(s, keys, index, { unassignable: plan.unassignable.length, services: services.length, tasks: tasks.length }, taskChanges);
  for (const [id, to] of plan.assignments) w.put(id, to);
  for (const id of index.worker.keys()) {
    // Assignments of deleted items, of services no worker may run now, and of tasks on their own (an older leader's).
    if (!serviceIds.has(id) || !plan.assignments.has(id)) w.remove(id);
  }
  w.drop(index.strays);
  return { ...w.round, basis: { fleet, services, assignments: plan.assignments, tasks } };
}
