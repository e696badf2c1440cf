// `--exec CMD`: one guarded child process per item. The item reaches it as data only: its id,
// content and fencing token in the environment, its content on stdin; never in a shell string.
// Services that exit on their own are restarted with backoff; an update restarts the child.
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
  child?: GuardedChild;
  restarts: number;
  stopping: boolean;
  timer?: NodeJS.Timeout;
  unfeed?: () => void;
}

/** A processor that runs `command` (through /bin/sh, as the operator wrote it) per item. */
export function execProcessor(command: string, options: ExecOptions = {}): Processor {
  const graceMs = options.graceMs ?? 5000;
  const fencedGraceMs = options.fencedGraceMs ?? 300;
  const backoff = options.backoffMs ?? 1000;
  const maxBackoff = options.maxBackoffMs ?? 30_000;
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
      until: ctx.fenceAt(),
      killAfterMs: fencedGraceMs,
      onLine: (stream, line) => log.info(line, { stream }),
    });
    run.child = child;
    run.unfeed = ctx.onRenewed((until) => child.feed(until));
    const startedAt = Date.now();
    child.once('exit', (exit: ChildExit) => {
      run.unfeed?.();
      if (run.stopping || run.child !== child) return;
      // Ran a while: it was healthy, start again soon; crashing at once: back off.
      const delay = Date.now() - startedAt > maxBackoff ? backoff : Math.min(maxBackoff, backoff * 2 ** Math.min(run.restarts, 10));
      log.warn('process exited, restarting', { code: exit.code ?? undefined, signal: exit.signal ?? undefined, reason: exit.reason, restarts: run.restarts, inMs: delay });
      run.timer = setTimeout(() => {
        if (run.stopping || ctx.signal.aborted) return;
        run.restarts++;
        ctx.report({ restarts: run.restarts });
        launch(item, ctx, run);
      }, delay);
    });
  };

  const halt = async (run: Running, grace: number) => {
    run.stopping = true;
    clearTimeout(run.timer);
    const child = run.child;
    run.child = undefined;
    if (child) await child.stop(grace);
    run.unfeed?.();
  };

  return {
    async start(item, ctx) {
      const run: Running = { restarts: 0, stopping: false };
      running.set(item.id, run);
      launch(item, ctx, run);
    },
    async update(item, ctx) {
      const run = running.get(item.id);
      if (!run) return this.start(item, ctx);
      await halt(run, graceMs);
      run.stopping = false;
      launch(item, ctx, run);
    },
    async stop(item, _ctx, reason) {
      const run = running.get(item.id);
      if (!run) return;
      running.delete(item.id);
      await halt(run, reason === 'fenced' || reason === 'claim-lost' ? fencedGraceMs : graceMs);
    },
    async close() {
      await Promise.all([...running.values()].map((run) => halt(run, fencedGraceMs)));
      running.clear();
    },
  };
}
