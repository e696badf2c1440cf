// A child process run through the node's guard (guard.ts, guard-pool.ts): fed the holder's
// remaining right to run it, read, and stopped through the guard, which ends it even if this
// process dies or freezes.
import { EventEmitter } from 'node:events';
import type { EtcdGateway } from './guard-release.js';
import { GuardPool } from './guard-pool.js';
import type { ChildExit, GuardProcess } from './guard-process.js';
import { signalGroup } from './process-group.js';
import { metrics } from '../metrics.js';

export type { ChildExit } from './guard-process.js';
export { GuardPool } from './guard-pool.js';

export interface GuardedChildOptions {
  /** argv of the command; never a shell string built from item content. */
  command: string[];
  env: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input: string;
  cwd?: string;
  /** How long from now the child may run unless fed again: the holder's remaining right to run it. */
  remainingMs: number;
  /** Grace between SIGTERM and SIGKILL when the deadline passes. */
  killAfterMs: number;
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface GuardedChildEvents {
  exit: [exit: ChildExit];
}

const pool = new GuardPool();

/**
 * If this process dies, its guard revokes `lease` through etcd's gateway once every child it ran
 * has exited, so the fleet takes over at once. Returns the function that cancels it.
 */
export function releaseOnDeath(lease: string, gateway: EtcdGateway): () => void {
  pool.release(lease, gateway);
  return () => pool.forget(lease);
}

/** One child process run through the node's guard. */
export class GuardedChild extends EventEmitter<GuardedChildEvents> {
  /** The pid of the child's group leader (and so its process group id) once it runs. */
  pid?: number;
  readonly exited: Promise<ChildExit>;
  private readonly id: number;
  private readonly guard: GuardProcess;
  private exit?: ChildExit;

  /** `via`: the guard pool to run it in (this process's own by default). */
  constructor(private readonly options: GuardedChildOptions, via: GuardPool = pool) {
    super();
    this.exited = new Promise((resolve) => this.once('exit', resolve));
    const { command, env, cwd, input, remainingMs, killAfterMs } = options;
    const client = {
      started: (pid: number) => (this.pid = pid),
      line: (stream: 'stdout' | 'stderr', text: string) => this.options.onLine?.(stream, text),
      finish: (exit: ChildExit) => this.finish(exit),
    };
    ({ guard: this.guard, id: this.id } = via.spawn(client, { command, env, cwd, input, remainingMs, killAfterMs }));
    metrics.guardedChildren.inc();
  }

  /** Moves the deadline to `remainingMs` from now. */
  feed(remainingMs: number): void {
    if (!this.exit) this.guard.feed(this.id, remainingMs);
  }

  /**
   * Stops the child (SIGTERM, SIGKILL after `graceMs`) and waits for it to be gone. Called again
   * with a shorter grace, it shortens the stop under way.
   */
  async stop(graceMs: number): Promise<ChildExit> {
    if (this.exit) return this.exit;
    this.guard.stop(this.id, graceMs);
    return this.exited;
  }

  /** SIGKILLs the child's process group at once, without the guard. */
  kill(): void {
    signalGroup(this.pid, 'SIGKILL');
  }

  private finish(exit: ChildExit): void {
    if (this.exit) return;
    this.exit = exit;
    metrics.guardedChildren.dec();
    this.emit('exit', exit);
  }
}
