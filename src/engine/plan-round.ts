// One planning round of the leader, from a snapshot of the stored state to the writes that bring
// assignments in line: services by the balancing planner, tasks by the slot planner. Pure.
import type { KeyValue, TxnOp, TxnRequest } from '../store/index.js';
import type { Keys } from './keys.js';
import type { WorkerRecord, WorkSpec } from './model.js';
import { planAssignments, type PlanItem } from './planner.js';
import { planTaskChanges } from './tasks/task-changes.js';
import { decodedOnce, specOf } from './decoded.js';
import { decodeJson, type AttemptRecord } from './tasks/task-model.js';

/** Tasks assigned to a worker per slot: one running, one queued on the worker. */
export const TASK_QUEUE_FACTOR = 2;

/** Everything the leader follows, as key → key-value maps. */
export interface Snapshot {
  now: number;
  workers: Array<{ id: string; record: WorkerRecord }>;
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
  guarded: Array<Omit<TxnRequest, 'failure'>>;
  moved: Array<{ id: string; from?: string; to: string }>;
  placed: Array<{ id: string; to: string }>;
  removed: number;
  unassignable: number;
  services: number;
  tasks: number;
  /** When to plan again even if nothing changes (a backed-off task becomes runnable). */
  wakeAt?: number;
}

const attemptOf = decodedOnce((value) => decodeJson<AttemptRecord>(value) ?? null);
/** A job record's state: a record holds its whole spec (a 10,000-value matrix), and every task of the job asks. */
const jobStateOf = decodedOnce((value) => decodeJson<{ state?: string }>(value)?.state ?? null);

/** Plans one round. */
export function planRound(s: Snapshot, keys: Keys, random: () => number): Round {
  const idIn = (prefix: string, key: string) => key.slice(prefix.length);
  // Assignments are filed by worker (assign/<worker>/<item>). One item in two inboxes (left by an
  // older leader's half-applied writes) keeps the first and has the other removed below.
  const assign = new Map<string, string>();
  const assignKv = new Map<string, KeyValue>();
  const strays: string[] = [];
  for (const kv of s.assign.values()) {
    const a = keys.assignmentOf(kv.key);
    if (!a) continue;
    if (assign.has(a.id)) strays.push(kv.key);
    else (assign.set(a.id, a.worker), assignKv.set(a.id, kv));
  }
  const services: PlanItem[] = [];
  const tasks: Array<{ id: string; spec: WorkSpec; order: number }> = [];
  for (const kv of s.registry.values()) {
    const id = idIn(keys.registry, kv.key);
    if (!assign.has(id) && s.results.has(keys.result(id))) continue; // a finished task: nothing to do
    const spec = specOf(s.specs.get(keys.spec(id)));
    if (spec.kind === 'task') tasks.push({ id, spec, order: kv.createRevision });
    else services.push({ id, weight: spec.weight, selector: spec.selector });
  }
  const fleet = s.workers.map((w) => ({ id: w.id, capacity: w.record.capacity, labels: w.record.labels, draining: w.record.draining }));
  const serviceIds = new Set(services.map((i) => i.id));
  const current = new Map([...assign].filter(([id]) => serviceIds.has(id)));
  const plan = planAssignments(fleet, services, current);

  const attemptsOf = (id: string) => {
    const list: Array<{ kv: KeyValue; record: AttemptRecord }> = [];
    for (const kv of s.attempts(id)) {
      const record = attemptOf(kv);
      if (record) list.push({ kv, record });
    }
    return list.sort((x, y) => x.record.token - y.record.token);
  };
  // A worker holds twice its slots in tasks: the second half waits on it, ready to start at once.
  const taskFleet = fleet.map((w) => ({ ...w, capacity: w.capacity * TASK_QUEUE_FACTOR }));
  const taskChanges = planTaskChanges(
    {
      now: s.now,
      workers: taskFleet,
      tasks,
      assign,
      claimOf: (id) => s.active.get(keys.claim(id)),
      hasResult: (id) => s.results.has(keys.result(id)),
      attemptsOf,
      jobReady: (job) => {
        const kv = s.jobs.get(keys.job(job));
        return kv !== undefined && jobStateOf(kv) === 'ready';
      },
    },
    keys,
    random,
  );

  const ops: TxnOp[] = [];
  const round: Round = { ops, guarded: taskChanges.lost, moved: [], placed: [], removed: 0, unassignable: plan.unassignable.length, services: services.length, tasks: tasks.length, wakeAt: taskChanges.wakeAt };
  // An assignment's value is the content revision it hands its worker: a newer one is an update
  // the owner reads (workers follow their inbox, never the registry).
  const contentRevision = (id: string) => String(s.registry.get(keys.item(id))?.modRevision ?? 0);
  const put = (id: string, to: string) => {
    const from = assign.get(id);
    if (from === to) {
      const kv = assignKv.get(id)!;
      if (Number(kv.value) < Number(contentRevision(id))) ops.push({ type: 'put', key: kv.key, value: contentRevision(id) });
      return;
    }
    if (from !== undefined) ops.push({ type: 'delete', key: keys.assignment(from, id) });
    ops.push({ type: 'put', key: keys.assignment(to, id), value: contentRevision(id) });
    (from === undefined ? round.placed : round.moved).push({ id, from, to } as { id: string; from?: string; to: string });
  };
  for (const [id, to] of plan.assignments) put(id, to);
  for (const [id, to] of taskChanges.assign) put(id, to);
  const remove = (id: string) => {
    ops.push({ type: 'delete', key: keys.assignment(assign.get(id)!, id) });
    round.removed++;
  };
  for (const id of taskChanges.unassign) remove(id);
  const known = new Set([...serviceIds, ...tasks.map((t) => t.id)]);
  for (const id of assign.keys()) {
    // Assignments of deleted items, and of services no worker may run now.
    if (!known.has(id) || (serviceIds.has(id) && !plan.assignments.has(id))) remove(id);
  }
  const touched = new Set(ops.map((op) => op.key));
  for (const key of strays) if (!touched.has(key)) ops.push({ type: 'delete', key });
  return round;
}
