// The node's side of guarded children: one guard process per node (see guard.ts), started on
// first use; each GuardedChild is one child it runs, fed deadlines, read and stopped through it.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import readline from 'node:readline';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { EtcdGateway } from './guard-release.js';

export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** exited (on its own), stopped (asked), fenced (deadline passed), orphaned, spawn-failed, lost (the guard died). */
  reason: string;
}

export interface GuardedChildOptions {
  /** argv of the command; never a shell string built from item content. */
  command: string[];
  env: NodeJS.ProcessEnv;
  /** Written to the child's stdin, which is then closed. */
  input: string;
  cwd?: string;
  /** The first deadline (epoch ms). */
  until: number;
  /** Grace between SIGTERM and SIGKILL when the deadline passes. */
  killAfterMs: number;
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface GuardedChildEvents {
  exit: [exit: ChildExit];
}

const here = fileURLToPath(import.meta.url);
// Built code runs guard.js. The sources (tests, benchmarks through tsx) run the built guard when
// there is one — it starts in a tenth of the time — and guard.ts through tsx otherwise.
const builtGuard = here.endsWith('.ts') ? here.replace(/src([/\\]engine[/\\]processors[/\\])guarded-child\.ts$/, 'dist$1guard.js') : here.replace(/guarded-child\.js$/, 'guard.js');
const guardPath = fs.existsSync(builtGuard) ? builtGuard : here.replace(/guarded-child\.ts$/, 'guard.ts');
const guardArgs = guardPath.endsWith('.ts') ? ['--import', 'tsx', guardPath] : [guardPath];

/** Grace between SIGTERM and SIGKILL for children whose node died. */
const ORPHAN_GRACE_MS = 300;

/** The guard process of this node and the children it runs for it. */
class GuardPool {
  private proc?: ChildProcess;
  private control?: Duplex;
  private nextId = 1;
  private readonly children = new Map<number, GuardedChild>();
  private readonly releases = new Map<string, EtcdGateway>();

  /** Starts `child` under the guard (starting the guard if need be); returns its id. */
  spawn(child: GuardedChild, options: GuardedChildOptions): number {
    const id = this.nextId++;
    this.children.set(id, child);
    this.hold();
    this.send({ op: 'spawn', id, command: options.command, env: options.env, cwd: options.cwd, input: options.input, until: options.until, killAfterMs: options.killAfterMs });
    return id;
  }

  send(msg: object): void {
    if (!this.control?.writable) this.start();
    this.control!.write(`${JSON.stringify(msg)}\n`);
  }

  /** Has the guard revoke `lease` if this process dies (after its children have exited). */
  release(lease: string, gateway: EtcdGateway): void {
    this.releases.set(lease, gateway);
    this.send({ op: 'release', lease, gateway });
  }

  forget(lease: string): void {
    if (this.releases.delete(lease) && this.control?.writable) this.send({ op: 'forget', lease });
  }

  /** The guard keeps the node alive only while it runs children for it. */
  private hold(): void {
    const busy = this.children.size > 0;
    for (const h of [this.proc, this.control] as Array<{ ref?: () => void; unref?: () => void } | undefined>) {
      if (busy) h?.ref?.();
      else h?.unref?.();
    }
  }

  private start(): void {
    const proc = spawn(process.execPath, [...guardArgs, String(ORPHAN_GRACE_MS)], { stdio: ['ignore', 'inherit', 'inherit', 'pipe'] });
    const control = proc.stdio[3] as Duplex;
    this.proc = proc;
    this.control = control;
    control.on('error', () => undefined);
    for (const [lease, gateway] of this.releases) control.write(`${JSON.stringify({ op: 'release', lease, gateway })}\n`);
    readline.createInterface({ input: control, crlfDelay: Infinity }).on('line', (line) => {
      const msg = JSON.parse(line) as { op: string; id: number; pid?: number; stream?: 'stdout' | 'stderr'; line?: string; code?: number | null; signal?: string | null; reason?: string };
      const child = this.children.get(msg.id);
      if (!child) return;
      if (msg.op === 'started') child.pid = msg.pid;
      else if (msg.op === 'out') child.line(msg.stream!, msg.line!);
      else if (msg.op === 'exit') {
        this.children.delete(msg.id);
        this.hold();
        child.finish({ code: msg.code ?? null, signal: msg.signal ?? null, reason: msg.reason ?? 'exited' });
      }
    });
    this.hold();
    proc.on('exit', () => {
      if (this.proc !== proc) return;
      this.proc = this.control = undefined;
      // Whatever it ran is on its own now: stop it here, and report it lost.
      for (const [id, child] of this.children) {
        this.children.delete(id);
        child.kill();
        child.finish({ code: null, signal: null, reason: 'lost' });
      }
    });
  }
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
  /** The child's pid once it runs. */
  pid?: number;
  readonly exited: Promise<ChildExit>;
  private readonly id: number;
  private exit?: ChildExit;

  constructor(private readonly options: GuardedChildOptions) {
    super();
    this.exited = new Promise((resolve) => this.once('exit', resolve));
    this.id = pool.spawn(this, options);
  }

  /** Moves the deadline. */
  feed(until: number): void {
    if (!this.exit) pool.send({ op: 'feed', id: this.id, until });
  }

  /** Asks the guard to stop the child (SIGTERM, SIGKILL after `graceMs`) and waits for the exit. */
  async stop(graceMs: number): Promise<ChildExit> {
    if (this.exit) return this.exit;
    pool.send({ op: 'stop', id: this.id, graceMs });
    // If the guard does not answer, end it by force.
    const force = setTimeout(() => this.kill(), graceMs + 2000);
    const exit = await this.exited;
    clearTimeout(force);
    return exit;
  }

  /** Kills the child's process group at once (used when the guard cannot). */
  kill(): void {
    if (!this.pid) return;
    try {
      process.kill(-this.pid, 'SIGKILL');
    } catch {
      // gone
    }
  }

  /** @internal A line the child wrote. */
  line(stream: 'stdout' | 'stderr', text: string): void {
    this.options.onLine?.(stream, text);
  }

  /** @internal The child ended. */
  finish(exit: ChildExit): void {
    if (this.exit) return;
    this.exit = exit;
    this.emit('exit', exit);
  }
}
