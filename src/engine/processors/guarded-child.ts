// The node's side of a guarded child: spawns the guard, feeds it deadlines, reads the child's
// output, and stops it. See guard.ts for why a guard exists at all.
import { spawn, type ChildProcess } from 'node:child_process';
import { EventEmitter } from 'node:events';
import fs from 'node:fs';
import readline from 'node:readline';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';

export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** exited (on its own), stopped (asked), fenced (deadline passed), orphaned, spawn-failed, lost. */
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
  /** Grace between SIGTERM and SIGKILL when the node is gone. */
  orphanGraceMs?: number;
  onLine?: (stream: 'stdout' | 'stderr', line: string) => void;
}

export interface GuardedChildEvents {
  exit: [exit: ChildExit];
}

const here = fileURLToPath(import.meta.url);
// Built code runs guard.js; tests running the sources run guard.ts through tsx.
const guardPath = here.replace(/guarded-child\.(ts|js)$/, (_, ext: string) => `guard.${ext}`);
const guardArgs = guardPath.endsWith('.ts') ? ['--import', 'tsx', guardPath] : [guardPath];

/** One child process run through a guard. */
export class GuardedChild extends EventEmitter<GuardedChildEvents> {
  /** The child's pid once it runs (the guard's is `guard.pid`). */
  pid?: number;
  readonly guard: ChildProcess;
  readonly exited: Promise<ChildExit>;
  private readonly control: Duplex;
  private exit?: ChildExit;

  constructor(options: GuardedChildOptions) {
    super();
    const config = { command: options.command, until: options.until, killAfterMs: options.killAfterMs, orphanGraceMs: options.orphanGraceMs ?? 300 };
    this.guard = spawn(process.execPath, [...guardArgs, JSON.stringify(config)], {
      stdio: ['pipe', 'pipe', 'pipe', 'pipe'],
      env: options.env,
      cwd: options.cwd,
    });
    this.control = this.guard.stdio[3] as Duplex;
    this.exited = new Promise((resolve) => this.once('exit', resolve));
    this.guard.stdin!.on('error', () => undefined); // the child may exit without reading its input
    this.guard.stdin!.end(options.input);
    // The exit is reported once the output is read to its end, so no line comes after it.
    const outputRead = Promise.all(
      (['stdout', 'stderr'] as const).map((stream) => {
        const lines = readline.createInterface({ input: this.guard[stream]!, crlfDelay: Infinity });
        lines.on('line', (line) => options.onLine?.(stream, line));
        return new Promise((resolve) => lines.once('close', resolve));
      }),
    );
    let buffered = '';
    this.control.setEncoding('utf8');
    this.control.on('error', () => undefined);
    this.control.on('data', (chunk: string) => {
      buffered += chunk;
      let nl: number;
      while ((nl = buffered.indexOf('\n')) >= 0) {
        const msg = JSON.parse(buffered.slice(0, nl)) as { pid?: number; exit?: { code: number | null; signal: string | null }; reason?: string };
        buffered = buffered.slice(nl + 1);
        if (msg.pid) this.pid = msg.pid;
        if (msg.exit) {
          const exit = { ...msg.exit, reason: msg.reason ?? 'exited' };
          void outputRead.then(() => this.finish(exit));
        }
      }
    });
    // 'close' comes after all output and control messages, so a real exit report wins.
    this.guard.on('close', (code, signal) => setImmediate(() => this.finish({ code, signal, reason: 'lost' })));
  }

  /** Moves the deadline. */
  feed(until: number): void {
    if (!this.exit && this.control.writable) this.control.write(`${JSON.stringify({ until })}\n`);
  }

  /** Asks the guard to stop the child (SIGTERM, SIGKILL after `graceMs`) and waits for the exit. */
  async stop(graceMs: number): Promise<ChildExit> {
    if (this.exit) return this.exit;
    if (this.control.writable) this.control.write(`${JSON.stringify({ stop: graceMs })}\n`);
    // If the guard itself does not answer, end both by force.
    const force = setTimeout(() => this.kill(), graceMs + 2000);
    const exit = await this.exited;
    clearTimeout(force);
    return exit;
  }

  /** Kills the child's process group and the guard at once. */
  kill(): void {
    if (this.pid) {
      try {
        process.kill(-this.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    this.guard.kill('SIGKILL');
  }

  private finish(exit: ChildExit): void {
    if (this.exit) return;
    this.exit = exit;
    this.emit('exit', exit);
  }
}

/** Whether the built guard exists (false only in a broken install). */
export function guardAvailable(): boolean {
  return fs.existsSync(guardPath);
}
