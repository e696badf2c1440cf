// One attempt of a task on a worker: its command (argv, never a shell string built from values)
// under a guard, with a timeout that kills the process tree and the tail of its output.
import type { WorkItem } from '../model.js';
import { GuardedChild } from '../processors/guarded-child.js';
import type { ProcessorContext } from '../processors/types.js';
import { OutputTail, type EndReason } from './task-model.js';

export interface AttemptOutcome {
  ok: boolean;
  reason: EndReason;
  exitCode: number | null;
  signal: string | null;
  output: string;
}

export interface RunningAttempt {
  readonly done: Promise<AttemptOutcome>;
  /** Stops the attempt; it ends with `reason`. */
  stop(reason: EndReason, graceMs: number): void;
}

/** Linux refuses an environment string over 128 KiB; larger content goes on stdin only. */
const MAX_ENV_CONTENT = 64 * 1024;
/** Between SIGTERM and SIGKILL for a timed-out attempt. */
const TIMEOUT_GRACE_MS = 1000;

/**
 * Starts an attempt: the task's own command if it has one, else the worker's --exec command with
 * the content, else nothing at all (a no-op task succeeds at once).
 */
export function startAttempt(item: WorkItem, attempt: number, ctx: ProcessorContext, workerExec?: string): RunningAttempt {
  const spec = item.spec;
  const command = spec.command ?? (workerExec ? ['/bin/sh', '-c', workerExec] : undefined);
  if (!command) {
    return { done: Promise.resolve({ ok: true, reason: 'exit', exitCode: 0, signal: null, output: '' }), stop: () => undefined };
  }
  const env: NodeJS.ProcessEnv = {
    ...process.env,
    ...spec.env,
    ROTA_WORK_ID: item.id,
    ROTA_FENCING_TOKEN: String(ctx.fencingToken),
    ROTA_WORKER_ID: ctx.workerId,
    ROTA_ATTEMPT: String(attempt),
  };
  if (spec.job) env.ROTA_JOB_ID = spec.job;
  if (Buffer.byteLength(item.content) <= MAX_ENV_CONTENT) env.ROTA_WORK_CONTENT = item.content;
  const tail = new OutputTail();
  const child = new GuardedChild({
    command,
    env,
    input: item.content,
    remainingMs: ctx.remainingMs(),
    killAfterMs: 300,
    onLine: (_stream, line) => tail.append(line),
  });
  const unfeed = ctx.onRenewed(() => child.feed(ctx.remainingMs()));
  let stopReason: EndReason | undefined;
  const stop = (reason: EndReason, graceMs: number) => {
    stopReason ??= reason;
    void child.stop(graceMs);
  };
  const timer = spec.timeoutMs ? setTimeout(() => stop('timeout', TIMEOUT_GRACE_MS), spec.timeoutMs) : undefined;
  const onAbort = () => stop('cancelled', 300);
  ctx.signal.addEventListener('abort', onAbort, { once: true });
  const done = child.exited.then((exit) => {
    clearTimeout(timer);
    unfeed();
    ctx.signal.removeEventListener('abort', onAbort);
    if (exit.reason === 'spawn-failed') tail.append(`rota: cannot start ${command[0]}`);
    const reason: EndReason = stopReason ?? (exit.reason === 'fenced' || exit.reason === 'orphaned' ? 'cancelled' : 'exit');
    return { ok: reason === 'exit' && exit.code === 0, reason, exitCode: exit.code, signal: exit.signal, output: tail.toString() };
  });
  return { done, stop };
}
