// `--exec CMD`: one guarded child process per item. The item reaches it as data only: its id,
// content and fencing token in the environment, its content on stdin; never in a shell string.
// Services that exit on their own are restarted with backoff (also when the guard was lost: the
// claim is still valid and the old child's group is gone by then); an update restarts the child.
// A stop under way is shortened by any stricter one: a stop for a fence or a lost claim, close(),
// or the session ending while the stop's grace runs.
import type { WorkItem } from '../model.js';
import { GuardedChild, type ChildExit } from './guarded-child.js';
import type { Processor, ProcessorContext } from './types.js';

export interface ExecOptions {
  /** Between SIGTERM and SIGKILL when an item stops (default 5 s). */
  graceMs?: number;
  /** Between SIGTERM and SIGKILL when the worker fenced itself (default 300 ms, within the session's margin). */
  fencedGraceMs?: number;
  /** First restart delay; doubles up to maxBackoffMs (default 1 s and 30 s). */
  backoffMs?: number;
  maxBackoffMs?: number;
}

/** Linux refuses an environment string over 128 KiB; larger content goes on stdin only. */
const MAX_ENV_CONTENT = 64 * 1024;

interface Running {
  ctx: ProcessorContext;
  child?: GuardedChild;
  restarts: number;
  /** A stop (for an update or for good) is under way: no restart. */
  stopping: boolean;
  /** Stopped for good: an update under way must not start it again. */
  ended: boolean;
  timer?: NodeJS.Timeout;
}

/** A processor that runs `command` (through /bin/sh, as the operator wrote it) per item. */
export function execProcessor(command: string, options: ExecOptions = {}): Processor {
  const graceMs = options.graceMs ?? 5000;
  const fencedGraceMs = options.fencedGraceMs ?? 300;
  const backoff = options.backoffMs ?? 1000;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
  // Items stay here until their stop is over, so a stricter stop can still reach them.
  const running = new Map<string, Running>();

  const launch = (item: WorkItem, ctx: ProcessorContext, run: Running) => {
    const env: NodeJS.ProcessEnv = {
      ...process.env,
      ROTA_WORK_ID: item.id,
      ROTA_FENCING_TOKEN: String(ctx.fencingToken),
      ROTA_WORKER_ID: ctx.workerId,
    };
    if (Buffer.byteLength(item.content) <= MAX_ENV_CONTENT) env.ROTA_WORK_CONTENT = item.content;
    else env.ROTA_WORK_CONTENT_ON_STDIN = '1';
    const log = ctx.log.child({ work: item.id });
    const child = new GuardedChild({
      command: ['/bin/sh', '-c', command],
      env,
      input: item.content,
      remainingMs: ctx.remainingMs(),
      killAfterMs: fencedGraceMs,
      onLine: (stream, line) => log.info(line, { stream }),
    });
    run.ctx = ctx;
    run.child = child;
    const unfeed = ctx.onRenewed(() => child.feed(ctx.remainingMs()));
    const startedAt = Date.now();
    child.once('exit', (exit: ChildExit) => {
      unfeed();
      if (exit.lingering) log.error('a process of the item outlived SIGKILL of its group (uninterruptible sleep?)', { reason: exit.reason });
      if (run.stopping || run.child !== child) return;
      // Ran a while: it was healthy, start again soon; crashing at once: back off.
      const delay = Date.now() - startedAt > maxBackoff ? backoff : Math.min(maxBackoff, backoff * 2 ** Math.min(run.restarts, 10));
      log.warn('process exited, restarting', { code: exit.code ?? undefined, signal: exit.signal ?? undefined, reason: exit.reason, error: exit.error, restarts: run.restarts, inMs: delay });
      run.timer = setTimeout(() => {
        if (run.stopping || ctx.signal.aborted) return;
        run.restarts++;
        ctx.report({ restarts: run.restarts });
        launch(item, ctx, run);
      }, delay);
    });
  };

  /** Stops the child, SIGKILL after `grace`; called again with less, it shortens the stop under way. */
  const halt = async (run: Running, grace: number) => {
    run.stopping = true;
    clearTimeout(run.timer);
    const child = run.child;
    if (!child) return;
    // The session may end during the grace (it was a move or an update): then the fence's grace applies.
    const offLost = run.ctx.onLost(() => void child.stop(fencedGraceMs));
    await child.stop(grace);
    offLost();
    if (run.child === child) run.child = undefined;
  };

  return {
    async start(item, ctx) {
      const run: Running = { ctx, restarts: 0, stopping: false, ended: false };
      running.set(item.id, run);
      launch(item, ctx, run);
    },
    async update(item, ctx) {
      const run = running.get(item.id);
      if (!run || run.ended) return this.start(item, ctx);
      await halt(run, graceMs);
      if (run.ended || running.get(item.id) !== run) return; // stopped for good meanwhile
      run.stopping = false;
      launch(item, ctx, run);
    },
    async stop(item, _ctx, reason) {
      const run = running.get(item.id);
      if (!run) return;
      run.ended = true;
      await halt(run, reason === 'fenced' || reason === 'claim-lost' ? fencedGraceMs : graceMs);
      if (running.get(item.id) === run) running.delete(item.id);
    },
    async close() {
      await Promise.all([...running.values()].map((run) => ((run.ended = true), halt(run, fencedGraceMs))));
      running.clear();
    },
  };
}
