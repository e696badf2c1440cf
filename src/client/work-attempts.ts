// A task's attempts as users read them: each one that ended before the last (from attempts/, with
// its output's tail), then the last (from the result, with its longer tail); oldest first.
import type { Keys } from '../engine/keys.js';
import { decodeJson, type AttemptRecord, type TaskResult } from '../engine/tasks/task-model.js';
import { listPrefix, type Store } from '../store/index.js';

/** One attempt of a task. */
export interface AttemptView {
  /** 1 for the first. */
  attempt: number;
  worker?: string;
  startedAt?: number;
  finishedAt?: number;
  /** failed, lost, timeout… for a retried attempt; the task's status for the last. */
  status: string;
  reason?: string;
  exitCode?: number | null;
  signal?: string | null;
  /** Retried attempts: when the next could start. */
  retryAt?: number;
  output?: string;
}

/** Task `id`'s attempts, oldest first (none for a service or a task never run). */
export async function taskAttempts(store: Store, keys: Keys, id: string): Promise<AttemptView[]> {
  const [{ kvs }, result] = await Promise.all([listPrefix(store, keys.attempt(id)), store.get(keys.result(id))]);
  const records = kvs.flatMap((kv) => decodeJson<AttemptRecord>(kv.value) ?? []).sort((a, b) => a.token - b.token);
  const out: AttemptView[] = records.map((r, i) => ({
    attempt: i + 1,
    worker: r.worker,
    startedAt: r.startedAt,
    finishedAt: r.end?.finishedAt,
    status: r.end ? (r.end.ok ? 'succeeded' : r.end.reason === 'exit' ? 'failed' : r.end.reason) : 'running',
    reason: r.end?.reason,
    exitCode: r.end?.exitCode,
    signal: r.end?.signal,
    retryAt: r.end?.retryAt,
    output: r.end?.output,
  }));
  const last = decodeJson<TaskResult>(result?.value);
  if (last) out.push({ attempt: last.attempts, worker: last.worker, startedAt: last.startedAt, finishedAt: last.finishedAt, status: last.status, reason: last.reason, exitCode: last.exitCode, signal: last.signal, output: last.output });
  return out;
}
