// The run's etcd: one member on free loopback ports with a data dir of its own, fast raft timers
// (as the tests run it), that a fault can stop (SIGTERM, wait for the exit) and start again on the
// same data dir and ports. Spawned in a process group of its own, tagged with the run's id.
import { spawn, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { freePort } from '../../test/helpers/processes.js';
import { RUN_TAG } from './procfs.js';

/** A single-member etcd that can be stopped and started again. */
export class EtcdServer {
  private child?: ChildProcess;
  private exited?: Promise<void>;

  private constructor(
    private readonly dir: string,
    private readonly clientPort: number,
    private readonly peerPort: number,
    private readonly tag: string,
  ) {}

  /** Picks ports under `dir` (data and log go there) and starts it. */
  static async start(dir: string, tag: string): Promise<EtcdServer> {
    const etcd = new EtcdServer(dir, await freePort(), await freePort(), tag);
    await etcd.start();
    return etcd;
  }

  get url(): string {
    return `http://127.0.0.1:${this.clientPort}`;
  }

  get port(): number {
    return this.clientPort;
  }

  get running(): boolean {
    return this.child !== undefined;
  }

  get pid(): number | undefined {
    return this.child?.pid;
  }

  /** Starts the member (on the data it has) and waits until it is healthy. */
  async start(): Promise<void> {
    if (this.child) return;
    const peer = `http://127.0.0.1:${this.peerPort}`;
    const log = fs.openSync(path.join(this.dir, 'etcd.log'), 'a');
    const child = spawn('etcd', [
      '--name', 'chaos',
      '--data-dir', path.join(this.dir, 'etcd-data'),
      '--listen-client-urls', this.url,
      '--advertise-client-urls', this.url,
      '--listen-peer-urls', peer,
      '--initial-advertise-peer-urls', peer,
      '--initial-cluster', `chaos=${peer}`,
      '--initial-cluster-state', 'new',
      '--unsafe-no-fsync',
      '--logger', 'zap',
      '--log-level', 'warn',
      '--heartbeat-interval', '10',
      '--election-timeout', '100',
    ], { detached: true, stdio: ['ignore', log, log], env: { ...process.env, [RUN_TAG]: this.tag, ROTA_CHAOS_ROLE: 'etcd' } });
    fs.closeSync(log);
    this.child = child;
    this.exited = new Promise((resolve) => child.once('exit', () => resolve()));
    const deadline = Date.now() + 30_000;
    while (!(await this.healthy())) {
      if (child.exitCode !== null || child.signalCode !== null) throw new Error(`etcd exited at start (${child.exitCode ?? child.signalCode}); see ${this.dir}/etcd.log`);
      if (Date.now() > deadline) throw new Error(`etcd not healthy within 30 s; see ${this.dir}/etcd.log`);
      await delay(50);
    }
  }

  /** SIGTERM, and waits for the exit (SIGKILL after 10 s): its ports and data dir are free after. */
  async stop(): Promise<void> {
    const child = this.child;
    if (!child) return;
    child.kill('SIGTERM');
    const timer = setTimeout(() => child.kill('SIGKILL'), 10_000);
    await this.exited;
    clearTimeout(timer);
    this.child = undefined;
  }

  /** SIGKILL at once (cleanup). */
  kill(): void {
    this.child?.kill('SIGKILL');
  }

  /** Whether etcd answers its health check now. */
  async healthy(): Promise<boolean> {
    try {
      const res = await fetch(`${this.url}/health`, { signal: AbortSignal.timeout(1000) });
      return ((await res.json()) as { health: string }).health === 'true';
    } catch {
      return false;
    }
  }
}
