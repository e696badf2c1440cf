// A worker's side of one claimed task: record the attempt, run it, and record how it ended under
// the claim (with the result when it is done for good, and when a retry may start otherwise).
import type { Clock, Store } from '../../store/index.js';
import { releaseItem, type TxnRunner } from '../claims.js';
import { Limiter } from '../limit.js';
import type { Keys } from '../keys.js';
import type { Logger } from '../log.js';
import type { WorkItem } from '../model.js';
import type { ProcessorContext, StopReason } from '../processors/types.js';
import { beginAttempt, endAttempt } from './attempts.js';
import { DEFAULT_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, retryDelay, type AttemptRecord, type TaskResult } from './task-model.js';
import { startAttempt, type RunningAttempt } from './task-run.js';

export interface TaskRunnerOptions {
  store: Store;
  keys: Keys;
  workerId: string;
  log: Logger;
  clock: Clock;
  random: () => number;
  /** The worker's --exec command, for tasks without their own. */
  workerExec?: string;
  /** Task slots: how many attempts run at once; claimed tasks beyond wait here for a slot. */
  slots: number;
  /** Batches the attempt writes of many tasks into few transactions. */
  batcher: TxnRunner;
}

/** A task being run; `done` settles once its end is recorded (or refused). */
export interface TaskHandle {
  readonly done: Promise<void>;
  stop(reason: StopReason): void;
}

/** Runs claimed tasks for one worker, at most `slots` at once. */
export class TaskRunner {
  private readonly slots: Limiter;

  constructor(private readonly o: TaskRunnerOptions) {
    this.slots = new Limiter(o.slots);
  }

  /**
   * Runs one attempt of `item`, claimed with `token`, as soon as a slot is free. The leader assigns
   * a worker more tasks than it has slots (a queue as deep as its slots), so the next one starts the
   * moment one ends, without waiting for a planning round.
   */
  start(item: WorkItem, token: number, ctx: ProcessorContext): TaskHandle {
    let running: RunningAttempt | undefined;
    let stoppedFor: StopReason | undefined;
    const done = this.slots.run(async () => {
      const { store, keys, workerId, log, clock } = this.o;
      if (stoppedFor) {
        // Taken away while it waited for a slot: it never began, so no attempt counts.
        await releaseItem(store, keys, item.id, token).catch(() => false);
        return;
      }
      const begun = await beginAttempt(this.o.batcher, keys, item.id, token, workerId, clock.now());
      if (!begun) {
        // Done or cancelled before it began: just let go of the claim.
        await releaseItem(store, keys, item.id, token).catch(() => false);
        return;
      }
      if (stoppedFor) return; // stopped while the attempt was being recorded; the leader sees it open and lost
      log.info(`Running task=${item.id}`, { attempt: begun.attempt, token });
      running = startAttempt(item, begun.attempt, ctx, this.o.workerExec);
      const out = await running.done;
      if (stoppedFor === 'fenced' || stoppedFor === 'claim-lost' || stoppedFor === 'shutdown') return; // the leader records it lost
      const finishedAt = clock.now();
      const max = item.spec.maxAttempts ?? DEFAULT_MAX_ATTEMPTS;
      const final = out.ok || (out.reason !== 'cancelled' && begun.attempt >= max);
      const end: AttemptRecord['end'] = { ok: out.ok, reason: out.reason, exitCode: out.exitCode, signal: out.signal, finishedAt };
      if (!final) end.retryAt = finishedAt + (out.reason === 'cancelled' ? 0 : retryDelay(begun.attempt, item.spec.backoffMs ?? DEFAULT_BACKOFF_MS, this.o.random));
      const result: TaskResult | undefined = final
        ? {
            status: out.ok ? 'succeeded' : 'failed',
            reason: out.reason,
            exitCode: out.exitCode,
            signal: out.signal,
            attempts: begun.attempt,
            worker: workerId,
            startedAt: begun.record.startedAt,
            finishedAt,
            durationMs: finishedAt - begun.record.startedAt,
            output: out.output,
          }
        : undefined;
      const recorded = await endAttempt(this.o.batcher, keys, item.id, { ...begun.record, end }, result);
      if (recorded === 'refused') log.warn(`Result of task=${item.id} refused: the claim is no longer ours`, { token });
      else log.info(result ? `Finished task=${item.id}` : `Attempt of task=${item.id} failed`, { status: result?.status, reason: out.reason, exitCode: out.exitCode ?? undefined, attempt: begun.attempt, retryAt: end.retryAt });
    });
    return {
      done,
      stop: (reason) => {
        stoppedFor ??= reason;
        running?.stop('cancelled', reason === 'fenced' || reason === 'claim-lost' ? 300 : 2000);
      },
    };
  }
}
