// One planning round of the leader, from a snapshot of the stored state to the writes that bring
// assignments in line: services by the balancing planner, tasks by the slot planner. Pure.
import type { KeyValue, TxnOp, TxnRequest } from '../store/index.js';
import type { Keys } from './keys.js';
import { decodeSpec, type WorkerRecord, type WorkSpec } from './model.js';
import { planAssignments, type PlanItem } from './planner.js';
import { attemptsOf } from './tasks/attempts.js';
import { planTaskChanges } from './tasks/task-changes.js';
import { decodeJson } from './tasks/task-model.js';

/** Everything the leader follows, as key → key-value maps. */
export interface Snapshot {
  now: number;
  workers: Array<{ id: string; record: WorkerRecord }>;
  registry: ReadonlyMap<string, KeyValue>;
  specs: ReadonlyMap<string, KeyValue>;
  assign: ReadonlyMap<string, KeyValue>;
  active: ReadonlyMap<string, KeyValue>;
  results: ReadonlyMap<string, KeyValue>;
  attempts: ReadonlyMap<string, KeyValue>;
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

/** Plans one round. */
export function planRound(s: Snapshot, keys: Keys, random: () => number): Round {
  const idIn = (prefix: string, key: string) => key.slice(prefix.length);
  const byId = (m: ReadonlyMap<string, KeyValue>, prefix: string) => new Map([...m.values()].map((kv) => [idIn(prefix, kv.key), kv]));
  const specs = byId(s.specs, keys.specs);
  const assign = new Map([...s.assign.values()].map((kv) => [idIn(keys.assign, kv.key), kv.value]));
  const services: PlanItem[] = [];
  const tasks: Array<{ id: string; spec: WorkSpec; order: number }> = [];
  for (const kv of s.registry.values()) {
    const id = idIn(keys.registry, kv.key);
    const spec = decodeSpec(specs.get(id)?.value);
    if (spec.kind === 'task') tasks.push({ id, spec, order: kv.createRevision });
    else services.push({ id, weight: spec.weight, selector: spec.selector });
  }
  const fleet = s.workers.map((w) => ({ id: w.id, capacity: w.record.capacity, labels: w.record.labels, draining: w.record.draining }));
  const serviceIds = new Set(services.map((i) => i.id));
  const current = new Map([...assign].filter(([id]) => serviceIds.has(id)));
  const plan = planAssignments(fleet, services, current);

  const attempts = new Map<string, KeyValue[]>();
  for (const kv of s.attempts.values()) {
    const id = idIn(keys.attempts, kv.key).split('/')[0];
    attempts.set(id, [...(attempts.get(id) ?? []), kv]);
  }
  const jobs = byId(s.jobs, keys.jobs);
  const taskChanges = planTaskChanges(
    {
      now: s.now,
      workers: fleet,
      tasks,
      assign,
      claims: byId(s.active, keys.active),
      results: new Set([...s.results.values()].map((kv) => idIn(keys.results, kv.key))),
      attempts: new Map([...attempts].map(([id, kvs]) => [id, attemptsOf(kvs)])),
      jobReady: (job) => decodeJson<{ state?: string }>(jobs.get(job)?.value)?.state === 'ready',
    },
    keys,
    random,
  );

  const ops: TxnOp[] = [];
  const round: Round = { ops, guarded: taskChanges.lost, moved: [], placed: [], removed: 0, unassignable: plan.unassignable.length, services: services.length, tasks: tasks.length, wakeAt: taskChanges.wakeAt };
  const put = (id: string, to: string) => {
    const from = assign.get(id);
    if (from === to) return;
    ops.push({ type: 'put', key: keys.assignment(id), value: to });
    (from === undefined ? round.placed : round.moved).push({ id, from, to } as { id: string; from?: string; to: string });
  };
  for (const [id, to] of plan.assignments) put(id, to);
  for (const [id, to] of taskChanges.assign) put(id, to);
  const remove = (id: string) => {
    ops.push({ type: 'delete', key: keys.assignment(id) });
    round.removed++;
  };
  for (const id of taskChanges.unassign) remove(id);
  const known = new Set([...serviceIds, ...tasks.map((t) => t.id)]);
  for (const id of assign.keys()) {
    // Assignments of deleted items, and of services no worker may run now.
    if (!known.has(id) || (serviceIds.has(id) && !plan.assignments.has(id))) remove(id);
  }
  return round;
}
