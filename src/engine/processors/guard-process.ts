// One guard process (guard.ts), seen from the node. It starts the guard in a session of its own,
// so that a kill of the node's process group (`kill -9 -- -PGID`, `timeout -s KILL`, Ctrl-C)
// leaves the guard to stop the children; it speaks the guard's protocol; and it checks that the
// guard does its job. A guard that falls silent, or lets a deadline or a stop's grace pass without
// acting (frozen by SIGSTOP, wedged), is SIGKILLed — every child's group ends with it — and the
// node SIGKILLs the groups it knows itself. When the guard is gone, for whatever reason, its
// children are reported once their groups are gone: 'lost' ('fenced' if their deadline had passed),
// or 'spawn-failed' if the guard never ran. guard-pool.ts starts a new one for the next child.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import type { Duplex } from 'node:stream';
import { fileURLToPath } from 'node:url';
import type { EtcdGateway } from './guard-release.js';
import { GUARD_OUT_MAX, type GuardIn, type GuardOut, type SpawnMsg } from './guard-protocol.js';
import { LineSplitter } from './lines.js';
import { monoNow } from './mono.js';
import { groupAlive, signalGroup } from './process-group.js';

export interface ChildExit {
  code: number | null;
  signal: string | null;
  /** exited (on its own), stopped (asked), fenced (deadline passed), orphaned, terminated, spawn-failed, lost (the guard died). */
  reason: string;
  /** Why it failed to start, or how the guard was lost. */
  error?: string;
  /** Something of its process group outlived the SIGKILL (uninterruptible sleep, or it left the group). */
  lingering?: boolean;
}

/** What the pool tells a child it runs. */
export interface GuardClient {
  started(pid: number): void;
  line(stream: 'stdout' | 'stderr', text: string): void;
  finish(exit: ChildExit): void;
}

interface Tracked {
  client: GuardClient;
  pid?: number;
  /** Monotonic ms from which it must not run. */
  deadline: number;
  killAfterMs: number;
  /** By when the grace of the strictest stop asked for ends (monotonic ms). */
  stopKillBy?: number;
  /** What the guard said it did: nothing yet, SIGTERM, SIGKILL. */
  state: 'running' | 'stopping' | 'killed';
}

const here = fileURLToPath(import.meta.url);
// Built code runs guard.js. The sources (tests, benchmarks through tsx) run the built guard when
// there is one — it starts in a tenth of the time — and guard.ts through tsx otherwise.
const builtGuard = here.endsWith('.ts') ? here.replace(/src([/\\]engine[/\\]processors[/\\])guard-process\.ts$/, 'dist$1guard.js') : here.replace(/guard-process\.js$/, 'guard.js');
const guardPath = fs.existsSync(builtGuard) ? builtGuard : here.replace(/guard-process\.ts$/, 'guard.ts');
const guardArgs = guardPath.endsWith('.ts') ? ['--import', 'tsx', guardPath] : [guardPath];

/** Grace between SIGTERM and SIGKILL for children whose node died. */
const ORPHAN_GRACE_MS = 300;
/** How long the guard may take to act on a deadline or on a stop's end before the node acts itself. */
const SLACK_MS = 300;
/** A guard silent this long (it ticks every 500 ms) is taken for frozen... */
const SILENT_MS = 3000;
/** ...and this long before its first word (it may be starting on a loaded host; nothing runs yet). */
const BOOT_MS = 10_000;
/** How long to wait for the groups of a dead guard's children to be gone before reporting them. */
const SETTLE_MS = 2000;

/** One guard process and the children it runs. */
export class GuardProcess {
  private readonly tracked = new Map<number, Tracked>();
  private readonly proc?: ChildProcess;
  /** Our messages to the guard (its fd 3). */
  private readonly control?: Duplex;
  /** The guard's messages to us (its fd 4). */
  private readonly reports?: Duplex;
  readonly startedAt = monoNow();
  private heardAt = this.startedAt;
  private greeted = false;
  private failure?: string;
  private over = false;
  private readonly watchdog: NodeJS.Timeout;

  constructor(
    nodePath: string,
    releases: Map<string, EtcdGateway>,
    private readonly onGone: (guard: GuardProcess) => void,
  ) {
    this.watchdog = setInterval(() => setImmediate(() => this.check()), 100).unref();
    try {
      this.proc = spawn(nodePath, [...guardArgs, String(ORPHAN_GRACE_MS)], { stdio: ['ignore', 'ignore', 'inherit', 'pipe', 'pipe'], detached: true });
    } catch (err) {
      this.failure = `cannot start the guard: ${(err as Error).message}`;
      setImmediate(() => this.gone());
      return;
    }
    const proc = this.proc;
    proc.on('error', (err) => {
      if (proc.pid !== undefined) return;
      this.failure = `cannot start the guard: ${err.message}`;
      this.gone();
    });
    proc.on('exit', () => this.gone());
    this.control = proc.stdio[3] as Duplex | undefined;
    this.reports = proc.stdio[4] as Duplex | undefined;
    if (!this.control || !this.reports) return;
    this.control.on('error', () => undefined);
    this.reports.on('error', () => undefined);
    const lines = new LineSplitter((line) => this.onMessage(line), { maxBytes: GUARD_OUT_MAX, overflow: 'drop' });
    this.reports.on('data', (chunk: Buffer) => {
      this.heardAt = monoNow();
      lines.push(chunk);
    });
    for (const [lease, gateway] of releases) this.send({ op: 'release', lease, gateway });
    this.hold();
  }

  /** Whether it can take more children. */
  get usable(): boolean {
    return !this.over && this.failure === undefined;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  /** How long since the guard last said anything. */
  get silentMs(): number {
    return monoNow() - this.heardAt;
  }

  get busy(): boolean {
    return this.tracked.size > 0;
  }

  spawn(client: GuardClient, msg: SpawnMsg): void {
    this.tracked.set(msg.id, { client, deadline: msg.deadline.at + msg.deadline.ms, killAfterMs: msg.killAfterMs, state: 'running' });
    this.hold();
    this.send(msg);
  }

  /** Moves a child's deadline to `remainingMs` from now. */
  feed(id: number, remainingMs: number): void {
    const t = this.tracked.get(id);
    if (!t) return;
    const at = monoNow();
    t.deadline = at + remainingMs;
    this.send({ op: 'feed', id, deadline: { ms: remainingMs, at } });
  }

  /** Asks for a stop: SIGTERM, SIGKILL after `graceMs`. A stricter stop shortens one under way. */
  stop(id: number, graceMs: number): void {
    const t = this.tracked.get(id);
    if (!t) return;
    const at = monoNow();
    t.stopKillBy = Math.min(t.stopKillBy ?? Infinity, at + graceMs);
    this.send({ op: 'stop', id, graceMs, at });
  }

  send(msg: GuardIn): void {
    if (this.control?.writable) this.control.write(`${JSON.stringify(msg)}\n`);
  }

  /** SIGKILLs the guard (its children's groups end with it) and the groups it is known to run. */
  fail(why: string): void {
    if (this.over || this.failure !== undefined) return;
    this.failure = why;
    for (const t of this.tracked.values()) signalGroup(t.pid, 'SIGKILL');
    try {
      this.proc?.kill('SIGKILL');
    } catch {
      // gone already
    }
    // Its exit brings gone(); a guard that cannot even be killed (D state) is given up on.
    setTimeout(() => this.gone(), SETTLE_MS).unref();
  }

  /** The guard keeps the node alive only while it runs children for it. */
  private hold(): void {
    const busy = this.tracked.size > 0 && !this.over;
    for (const h of [this.proc, this.control, this.reports] as Array<{ ref?: () => void; unref?: () => void } | undefined>) {
      if (busy) h?.ref?.();
      else h?.unref?.();
    }
  }

  private onMessage(line: string): void {
    let msg: GuardOut;
    try {
      msg = JSON.parse(line) as GuardOut;
    } catch {
      return;
    }
    if (msg.op === 'hello') this.greeted = true;
    if (msg.op === 'hello' || msg.op === 'tick') return;
    const t = this.tracked.get(msg.id);
    if (!t) return;
    if (msg.op === 'started') {
      t.pid = msg.pid;
      t.client.started(msg.pid);
    } else if (msg.op === 'out') t.client.line(msg.stream, msg.line);
    else if (msg.op === 'stopping') t.state = t.state === 'killed' ? 'killed' : 'stopping';
    else if (msg.op === 'killed') t.state = 'killed';
    else if (msg.op === 'exit') {
      this.tracked.delete(msg.id);
      this.hold();
      t.client.finish({ code: msg.code, signal: msg.signal, reason: msg.reason, error: msg.error, lingering: msg.lingering });
    }
  }

  /** Runs after the poll phase, so what the guard sent while this process was busy is read first. */
  private check(): void {
    if (!this.usable || this.tracked.size === 0) return;
    const now = monoNow();
    const silent = now - this.heardAt;
    if (silent > (this.greeted ? SILENT_MS : BOOT_MS)) return this.fail(`the guard said nothing for ${Math.round(silent)} ms`);
    for (const t of this.tracked.values()) {
      // Before its first word the guard has started nothing; after it, it answers every child.
      if (t.state === 'killed' || (t.pid === undefined && !this.greeted)) continue;
      // A deadline passing is acted on at once (all children of a session are being fenced, so a
      // wrong call costs nothing); a stop's SIGTERM may come late, only its SIGKILL may not.
      if (t.state === 'running' && now > t.deadline + SLACK_MS) return this.fail('the guard did not stop a child whose deadline passed');
      if (now > Math.min(t.deadline + t.killAfterMs, t.stopKillBy ?? Infinity) + SLACK_MS) {
        return this.fail('the guard did not SIGKILL a child whose grace was over');
      }
    }
  }

  /** The guard is gone: end what it ran, and report each child once its group is gone. */
  private gone(): void {
    if (this.over) return;
    this.over = true;
    clearInterval(this.watchdog);
    this.onGone(this);
    const neverRan = this.proc?.pid === undefined;
    const until = monoNow() + SETTLE_MS;
    const settle = () => {
      const alive = [...this.tracked.values()].filter((t) => groupAlive(t.pid));
      for (const t of alive) signalGroup(t.pid, 'SIGKILL');
      if (alive.length > 0 && monoNow() < until) return void setTimeout(settle, 25);
      const now = monoNow();
      for (const [id, t] of this.tracked) {
        this.tracked.delete(id);
        const reason = neverRan ? 'spawn-failed' : now >= t.deadline ? 'fenced' : 'lost';
        t.client.finish({ code: null, signal: null, reason, error: this.failure ?? 'the guard died' });
      }
      this.hold();
    };
    settle();
  }
}
