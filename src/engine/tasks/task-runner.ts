// A worker's side of one claimed task: record the attempt, run it, and record how it ended under
// the claim (with the result when it is done for good, and when a retry may start otherwise).
//
// The store may be away at any step. Every write here is guarded by the claim (a compare on its
// create revision), so it is retried until the store answers: an attempt that ended during an
// outage is recorded once the store is back if the claim still holds, and refused otherwise — then
// the leader counts it lost. Never both, and nothing here ever rejects.
import { backoff, sleep, StoreError, UnavailableError, type Clock, type Store } from '../../store/index.js';
import { releaseItem, type TxnRunner } from '../claims.js';
import { Limiter } from '../limit.js';
import type { Keys } from '../keys.js';
import type { Logger } from '../log.js';
import type { WorkItem } from '../model.js';
import type { ProcessorContext, StopReason } from '../processors/types.js';
import { attemptId, beginAttempt, endAttempt, type EndOutcome } from './attempts.js';
import { decodeJson, DEFAULT_BACKOFF_MS, DEFAULT_MAX_ATTEMPTS, retryDelay, type AttemptRecord, type TaskResult } from './task-model.js';
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

/** A task being run. Neither promise ever rejects. */
export interface TaskHandle {
  /** Settles once the attempt's process is over (or it never started). */
  readonly stopped: Promise<void>;
  /** Settles once its end is recorded, refused, or given up on (the runner was closed). */
  readonly done: Promise<void>;
  stop(reason: StopReason): void;
}

/** Stops that take the right to run away: the attempt is not recorded, the leader counts it lost. */
const LOSING: ReadonlySet<StopReason> = new Set(['fenced', 'claim-lost', 'shutdown']);

/** Runs claimed tasks for one worker, at most `slots` at once. */
export class TaskRunner {
  private readonly slots: Limiter;
  /** Aborted when the worker shuts down: writes still failing then are given up. */
  private readonly closing = new AbortController();

  constructor(private readonly o: TaskRunnerOptions) {
    this.slots = new Limiter(o.slots);
  }

  /** Gives up, after `graceMs`, the writes that still wait for the store (their attempts count as lost). */
  close(graceMs = 0): void {
    if (graceMs <= 0) return this.closing.abort();
    const t = this.o.clock.setTimeout(() => this.closing.abort(), graceMs);
    this.closing.signal.addEventListener('abort', () => this.o.clock.clearTimeout(t), { once: true });
  }

  /**
   * Runs one attempt of `item`, claimed with `token`, as soon as a slot is free. The leader assigns
   * a worker more tasks than it has slots (a queue as deep as its slots), so the next one starts the
   * moment one ends, without waiting for a planning round.
   */
  start(item: WorkItem, token: number, ctx: ProcessorContext): TaskHandle {
    let running: RunningAttempt | undefined;
    let stoppedFor: StopReason | undefined;
    let markStopped!: () => void;
    const stopped = new Promise<void>((resolve) => (markStopped = resolve));
    const { store, keys, workerId, log, clock } = this.o;
    // Until the store answers, or the right to write is gone: ctx.signal aborts when the worker
    // stops the item; a write of the end goes on regardless (the claim compare decides).
    const retried = <T>(what: string, write: () => Promise<T>, signal?: AbortSignal) => this.retried(item.id, what, write, signal);
    const letGo = () => retried('release the claim', () => releaseItem(store, keys, item.id, token), ctx.signal).catch(() => false);
    const done = this.slots
      .run(async () => {
        if (stoppedFor) {
          // Taken away while it waited for a slot: it never began, so no attempt counts.
          markStopped();
          return void (await letGo());
        }
        const begun = await retried('record the start of an attempt', () => beginAttempt(this.o.batcher, keys, item.id, token, workerId, clock.now()), ctx.signal).catch(
          () => 'gave up' as const,
        );
        if (begun === 'gave up' || stoppedFor) {
          // Stopped before it could begin (maybe recorded as begun: then the leader counts it lost).
          markStopped();
          if (!stoppedFor || !LOSING.has(stoppedFor)) await letGo();
          return;
        }
        if (!begun) {
          // Done or cancelled before it began: just let go of the claim.
          markStopped();
          return void (await letGo());
        }
        log.info(`Running task=${item.id}`, { attempt: begun.attempt, token });
        running = startAttempt(item, begun.attempt, ctx, this.o.workerExec);
        const out = await running.done;
        markStopped();
        if (stoppedFor && LOSING.has(stoppedFor)) return; // the leader records it lost
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
        const record = { ...begun.record, end };
        const recorded = await this.recordEnd(item.id, record, result);
        if (recorded === 'refused') log.warn(`Result of task=${item.id} refused: the claim is no longer ours (the attempt counts as lost)`, { token });
        else if (recorded === 'gave up') log.warn(`Result of task=${item.id} not recorded: the store was away until shutdown (the attempt counts as lost)`, { token });
        else log.info(result ? `Finished task=${item.id}` : `Attempt of task=${item.id} failed`, { status: result?.status, reason: out.reason, exitCode: out.exitCode ?? undefined, attempt: begun.attempt, retryAt: end.retryAt });
      })
      .catch((err: Error) => {
        markStopped();
        log.error(`task=${item.id} failed in the worker`, { error: err.message });
      });
    return {
      stopped,
      done,
      stop: (reason) => {
        stoppedFor ??= reason;
        running?.stop('cancelled', reason === 'fenced' || reason === 'claim-lost' ? 300 : 2000);
      },
    };
  }

  /**
   * Writes an attempt's end under its claim, retrying while the store is away. A retry after a
   * write whose outcome was unknown may find it already done (the claim is then gone): the attempt
   * record, read back, tells "already ours" from "refused".
   */
  private async recordEnd(id: string, record: AttemptRecord, result: TaskResult | undefined): Promise<EndOutcome | 'gave up'> {
    let unsure = false;
    try {
      return await this.retried(id, 'record the end of an attempt', async () => {
        try {
          const outcome = await endAttempt(this.o.batcher, this.o.keys, id, record, result);
          if (outcome === 'refused' && unsure) {
            const kv = await this.o.store.get(this.o.keys.attempt(id, attemptId(record.token)));
            if (decodeJson<AttemptRecord>(kv?.value)?.end?.finishedAt === record.end?.finishedAt) return 'recorded';
          }
          return outcome;
        } catch (err) {
          if (err instanceof UnavailableError) unsure = true;
          throw err;
        }
      });
    } catch {
      return 'gave up';
    }
  }

  /** `write`, retried with backoff while the store is unavailable, until `signal` or the runner's close aborts. */
  private async retried<T>(id: string, what: string, write: () => Promise<T>, signal?: AbortSignal): Promise<T> {
    const delay = backoff(100, 2000, this.o.random);
    const stop = signal ? AbortSignal.any([signal, this.closing.signal]) : this.closing.signal;
    for (let tries = 1; ; tries++) {
      try {
        return await write();
      } catch (err) {
        if (!(err instanceof UnavailableError) || stop.aborted) throw err;
        if (tries === 1) this.o.log.warn(`cannot ${what} of task=${id} yet, retrying until the store answers`, { error: (err as StoreError).message });
        await sleep(this.o.clock, delay.next(), stop).catch(() => undefined);
        if (stop.aborted) throw err;
      }
    }
  }
}
