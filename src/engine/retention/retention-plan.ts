// What retention deletes in one round, from the leader's copy of the stored state. Pure.
// The units are finished standalone tasks and whole finished jobs, newest first: units are kept
// while they fit the age and the count — the newest always counts as fitting, so a job that just
// finished can be read however large it is — and from the first that does not, everything older goes. Jobs being
// deleted are carried on with, and results whose item is gone (left by an older rota) are taken.
import type { KeyValue } from '../../store/index.js';
import type { JobRecord } from '../jobs/jobs.js';
import type { Keys } from '../keys.js';
import { decodedOnce, specOf } from '../decoded.js';
import { decodeJson, type TaskResult } from '../tasks/task-model.js';
import type { RetentionPolicy } from './policy.js';

/** The part of the leader's state retention looks at, as key → key-value maps. */
export interface RetentionSnapshot {
  now: number;
  registry: ReadonlyMap<string, KeyValue>;
  specs: ReadonlyMap<string, KeyValue>;
  results: ReadonlyMap<string, KeyValue>;
  jobs: ReadonlyMap<string, KeyValue>;
}

/** A finished standalone task to delete, with the key-values its delete is guarded by. */
export interface ExpiredTask {
  id: string;
  item: KeyValue;
  result: KeyValue;
}

/** What one round of retention deletes. */
export interface RetentionPlan {
  /** Finished standalone tasks to delete, oldest first, at most the budget. */
  tasks: ExpiredTask[];
  /** Finished jobs to delete (to be marked 'deleting'), oldest first. */
  jobs: string[];
  /** Jobs marked 'deleting' whose deletion is to be carried on. */
  deleting: string[];
  /** Results without an item, at most what the budget leaves. */
  orphans: Array<{ id: string; result: KeyValue }>;
}

type Unit = { kind: 'task'; at: number; size: 1; task: ExpiredTask } | { kind: 'job'; at: number; size: number; id: string };

const finishedAt = decodedOnce((value) => decodeJson<TaskResult>(value)?.finishedAt ?? 0);
const jobOf = decodedOnce((value) => decodeJson<JobRecord>(value) ?? null);

/** Plans one round of retention: what is beyond `policy`, within `budget` task deletions. */
export function planRetention(s: RetentionSnapshot, keys: Keys, policy: RetentionPolicy, budget: number): RetentionPlan {
  const units: Unit[] = [];
  const byJob = new Map<string, { tasks: number; done: number; last: number }>();
  for (const item of s.registry.values()) {
    const id = item.key.slice(keys.registry.length);
    const spec = specOf(s.specs.get(keys.spec(id)));
    const result = s.results.get(keys.result(id));
    if (spec.job !== undefined) {
      let agg = byJob.get(spec.job);
      if (!agg) byJob.set(spec.job, (agg = { tasks: 0, done: 0, last: 0 }));
      agg.tasks++;
      if (result) {
        agg.done++;
        agg.last = Math.max(agg.last, finishedAt(result));
      }
    } else if (result) {
      units.push({ kind: 'task', at: finishedAt(result), size: 1, task: { id, item, result } });
    }
  }
  const deleting: string[] = [];
  for (const kv of s.jobs.values()) {
    const job = jobOf(kv);
    const id = kv.key.slice(keys.jobs.length);
    if (!job) continue;
    if (job.state === 'deleting') {
      deleting.push(id);
      continue;
    }
    const agg = byJob.get(id) ?? { tasks: 0, done: 0, last: 0 };
    const finished = job.state === 'ready' ? agg.done === job.total : job.state === 'cancelled' && agg.done === agg.tasks;
    if (finished) units.push({ kind: 'job', at: agg.last || job.createdAt, size: Math.max(1, job.total), id });
  }

  units.sort((a, b) => b.at - a.at);
  const expired: Unit[] = [];
  let kept = 0;
  for (let i = 0; i < units.length; i++) {
    const u = units[i];
    const tooMany = policy.maxCount > 0 && kept + u.size > policy.maxCount;
    const tooOld = policy.maxAgeMs > 0 && u.at < s.now - policy.maxAgeMs;
    if ((i > 0 && tooMany) || tooOld) {
      // Past the cut: this one and every older one go.
      expired.push(...units.slice(i));
      break;
    }
    kept += u.size;
  }
  expired.reverse(); // oldest first
  const plan: RetentionPlan = { tasks: [], jobs: [], deleting, orphans: [] };
  for (const u of expired) {
    if (u.kind === 'job') plan.jobs.push(u.id);
    else if (plan.tasks.length < budget) plan.tasks.push(u.task);
  }
  for (const result of s.results.values()) {
    if (plan.tasks.length + plan.orphans.length >= budget) break;
    const id = result.key.slice(keys.results.length);
    if (!s.registry.has(keys.item(id))) plan.orphans.push({ id, result });
  }
  return plan;
}
