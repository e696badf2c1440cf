// The fleet under test: K slots, each running one `rota node --exec` process (the built CLI, as
// operators run it), in a process group of its own so a fault can kill the whole group, with its
// API on a free port. A slot is its own supervisor: when its node exits for any reason but the
// final stop, it starts a node again (with the same --id or a new one, chosen by the seed), so the
// fleet keeps K nodes, as systemd's Restart=always would.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../test/helpers/processes.js';
import { rotaBin } from '../../test/helpers/rota-process.js';
import { cmdline, ProcReader, RUN_TAG } from './procfs.js';
import type { Random } from './random.js';

/** How every node of the run is started. */
export interface NodeConfig {
  /** The run's tag (ROTA_CHAOS_RUN) and where items announce themselves (ROTA_CHAOS_LOG). */
  tag: string;
  announceLog: string;
  /** The shell script each item runs. */
  itemScript: string;
  ttl: number;
  logDir: string;
  random: Random;
}

/** One node's place in the fleet. */
export class NodeSlot {
  /** The node process now (undefined between a death and the restart). */
  proc?: ChildProcess;
  id: string;
  port = 0;
  /** Set by a fault that is acting on this node, so two faults never act on one node at once. */
  busy = false;
  starts = 0;
  /** Exits nobody asked for (a crash, an exit on its own), with the end of what the node said. */
  readonly crashes: string[] = [];
  /** Starts that failed because another process took the port first. */
  portRaces = 0;
  private expectExit = false;
  private stopping = false;
  private generation = 0;

  constructor(
    readonly index: number,
    private readonly etcdUrl: () => string,
    private readonly config: NodeConfig,
  ) {
    this.id = `${config.tag}-n${index}`;
  }

  get pid(): number | undefined {
    return this.proc?.pid;
  }

  get api(): string {
    return `http://127.0.0.1:${this.port}`;
  }

  /** Starts the node and waits until its API answers (or `timeoutMs` passes). */
  async start(timeoutMs = 30_000): Promise<boolean> {
    this.port = await freePort();
    this.starts++;
    const gen = ++this.generation;
    const logFile = path.join(this.config.logDir, `node-${this.index}.log`);
    const log = fs.openSync(logFile, 'a');
    fs.writeSync(log, `--- start ${this.starts} as ${this.id} on :${this.port} at ${new Date().toISOString()}\n`);
    const logFrom = fs.fstatSync(log).size;
    const env: NodeJS.ProcessEnv = { ...process.env, [RUN_TAG]: this.config.tag, ROTA_CHAOS_ROLE: 'node', ROTA_CHAOS_LOG: this.config.announceLog };
    delete env.ROTA_TOKEN;
    delete env.ROTA_ETCD;
    const proc = spawn(process.execPath, [
      rotaBin, 'node',
      '--etcd', this.etcdUrl(),
      '--id', this.id,
      '--ttl', String(this.config.ttl),
      '--exec', `exec /bin/sh ${this.config.itemScript}`,
      '--port', String(this.port),
      '--log-format', 'json',
    ], { detached: true, stdio: ['ignore', log, log], env });
    fs.closeSync(log);
    this.proc = proc;
    this.expectExit = false;
    proc.once('exit', (code, signal) => {
      if (this.proc === proc) this.proc = undefined;
      if (!this.expectExit) {
        const said = readFrom(logFile, logFrom);
        // The free port was taken between the check and the listen: the runner's race, not rota's fault.
        if (/EADDRINUSE/.test(said)) this.portRaces++;
        else this.crashes.push(`${this.id} exited by itself (${signal ?? `code ${code}`}): ${lastLines(said)}`);
      }
      if (this.stopping || gen !== this.generation) return;
      // A supervisor's restart: after a short pause, as the same worker or a new one.
      setTimeout(() => {
        if (this.stopping || gen !== this.generation) return;
        if (this.config.random.chance(0.5)) this.id = `${this.config.tag}-n${this.index}-${this.starts}`;
        void this.start();
      }, this.config.random.int(200, 1500));
    });
    return this.ready(timeoutMs);
  }

  /** Whether the node's API answers /healthz now. */
  async answers(): Promise<boolean> {
    if (!this.proc) return false;
    try {
      const res = await fetch(`${this.api}/healthz`, { signal: AbortSignal.timeout(1000) });
      return res.ok;
    } catch {
      return false;
    }
  }

  /** Waits until the API answers; false after `timeoutMs`. */
  async ready(timeoutMs: number): Promise<boolean> {
    const deadline = Date.now() + timeoutMs;
    while (Date.now() < deadline) {
      if (await this.answers()) return true;
      await delay(100);
    }
    return false;
  }

  /** Sends `signal` to the node process (or, with `group`, its whole process group) as a fault: the exit that may follow is expected. */
  signal(signal: NodeJS.Signals, group = false): boolean {
    const pid = this.pid;
    if (!pid) return false;
    if (signal === 'SIGKILL' || signal === 'SIGTERM') this.expectExit = true;
    try {
      process.kill(group ? -pid : pid, signal);
      return true;
    } catch {
      return false;
    }
  }

  /** The node's guard process (its child running guard.js), if it has one now. */
  guardPid(reader = new ProcReader()): number | undefined {
    const pid = this.pid;
    if (!pid) return undefined;
    return reader.list(this.config.tag).find((p) => p.ppid === pid && cmdline(p.pid).includes('guard'))?.pid;
  }

  /** How many item processes the node's guard runs now. */
  items(reader = new ProcReader()): number {
    const guard = this.guardPid(reader);
    return guard === undefined ? 0 : reader.list(this.config.tag).filter((p) => p.ppid === guard && p.env.ROTA_WORK_ID !== undefined).length;
  }

  /** Resolves once the node process now running has exited (at once if none runs). */
  exited(): Promise<void> {
    const proc = this.proc;
    if (!proc || proc.exitCode !== null || proc.signalCode !== null) return Promise.resolve();
    return new Promise((resolve) => proc.once('exit', () => resolve()));
  }

  /** The final stop: no more restarts; SIGTERM (and SIGCONT), then SIGKILL of the group after `graceMs`. */
  async stop(graceMs: number): Promise<'clean' | 'killed'> {
    this.stopping = true;
    this.expectExit = true;
    const proc = this.proc;
    if (!proc) return 'clean';
    this.signal('SIGCONT');
    this.signal('SIGTERM');
    const clean = await Promise.race([this.exited().then(() => true), delay(graceMs).then(() => false)]);
    if (!clean) {
      this.signal('SIGKILL', true);
      await this.exited();
    }
    return clean ? 'clean' : 'killed';
  }

  /** Kills the node's group at once and restarts nothing (cleanup when interrupted). */
  kill(): void {
    this.stopping = true;
    this.expectExit = true;
    const pid = this.pid;
    if (!pid) return;
    for (const sig of ['SIGKILL', 'SIGCONT'] as const) {
      try {
        process.kill(-pid, sig);
      } catch {
        // gone
      }
    }
  }
}

function readFrom(file: string, offset: number): string {
  try {
    const buf = fs.readFileSync(file);
    return buf.subarray(offset).toString('utf8');
  } catch {
    return '';
  }
}

/** The first line of an error report, else the last line (one line for the figures). */
function lastLines(text: string): string {
  const lines = text.split('\n').map((l) => l.trim()).filter(Boolean);
  const error = lines.find((l) => /^(\w*Error|Error)\b/.test(l));
  return (error ?? lines[lines.length - 1] ?? '').slice(0, 200);
}
