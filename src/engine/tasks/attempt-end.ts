// What an attempt that ran to its end leaves behind, and what the worker says of it once written:
// the task's result if it was the last attempt, else the failed attempt with when to try again.
import type { Logger } from '../log.js';
import { metrics } from '../metrics.js';
import type { BatchTask, TaskEnd } from './batch.js';
import type { EndOutcome } from './batch-ends.js';
import { ATTEMPT_OUTPUT_BYTES, DEFAULT_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, outputTail, retryDelay, type AttemptRecord } from './task-model.js';
import type { AttemptOutcome } from './task-run.js';
import type { WorkItem } from '../model.js';

/** An attempt's end, ready to be written under the batch's claim. */
export interface AttemptEnd {
  end: TaskEnd;
  final: boolean;
  out: AttemptOutcome;
  retryAt?: number;
}

/** The end of attempt `task.attempt` of `item`, which ran from `startedAt` to `finishedAt` on `worker` under `token`. */
export function attemptEnd(task: BatchTask, item: WorkItem, out: AttemptOutcome, run: { worker: string; token: number; startedAt: number; finishedAt: number; random: () => number }): AttemptEnd {
  const { worker, token, startedAt, finishedAt } = run;
  const spec = item.spec;
  const final = out.ok || task.attempt >= (spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS);
  const endOf: NonNullable<AttemptRecord['end']> = { ok: out.ok, reason: out.reason, exitCode: out.exitCode, signal: out.signal, finishedAt };
  const end: TaskEnd = { task };
  if (final) {
    end.result = { status: out.ok ? 'succeeded' : 'failed', reason: out.reason, exitCode: out.exitCode, signal: out.signal, attempts: task.attempt, worker, startedAt, finishedAt, durationMs: finishedAt - startedAt, output: out.output };
  } else {
    endOf.retryAt = finishedAt + retryDelay(task.attempt, spec.backoffMs ?? DEFAULT_BACKOFF_MS, run.random);
    endOf.output = outputTail(out.output, ATTEMPT_OUTPUT_BYTES);
    end.attempt = { worker, token, startedAt, end: endOf };
  }
  return { end, final, out, retryAt: endOf.retryAt };
}

/** Counts an attempt's start: the first one's wait since the task was submitted (clocks of two nodes: never below 0). */
export function reportStart(task: BatchTask, item: WorkItem, startedAt: number): void {
  const submitted = item.spec.submittedAt;
  if (task.attempt === 1 && submitted !== undefined) metrics.taskWaitSeconds.observe(Math.max(0, startedAt - submitted) / 1000);
}

/** Logs what became of an attempt's end, and counts it once recorded. */
export function reportEnd(log: Logger, ended: AttemptEnd, outcome: EndOutcome, token: number): void {
  const { end, final, out, retryAt } = ended;
  const id = end.task.id;
  if (outcome === 'refused') return log.warn(`Result of task=${id} refused: the claim or the task is no longer ours (cancelled, deleted, or the batch lost)`, { token });
  if (outcome === 'gave up') return log.warn(`Result of task=${id} not recorded: the store was away until shutdown (the attempt counts as lost)`, { token });
  if (end.result) (metrics.tasksFinished.inc({ status: end.result.status }), metrics.taskRunSeconds.observe((end.result.durationMs ?? 0) / 1000));
  else metrics.taskRetries.inc();
  log.info(final ? `Finished task=${id}` : `Attempt of task=${id} failed`, { status: end.result?.status, reason: out.reason, exitCode: out.exitCode ?? undefined, attempt: end.task.attempt, retryAt });
}
