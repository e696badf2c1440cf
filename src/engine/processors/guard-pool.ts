// The guard of this process: started on first use (guard-process.ts), replaced when it dies or
// fails, and told which leases to revoke if this process dies.
import type { EtcdGateway } from './guard-release.js';
import type { SpawnMsg } from './guard-protocol.js';
import { GuardProcess, type GuardClient } from './guard-process.js';
import { monoNow } from './mono.js';

export type { ChildExit, GuardClient } from './guard-process.js';

/** The guard of this process and the leases it revokes if this process dies. */
export class GuardPool {
  private current?: GuardProcess;
  private nextId = 1;
  private readonly releases = new Map<string, EtcdGateway>();
  private restartDelay = 1000;
  private restartTimer?: NodeJS.Timeout;

  /** `nodePath`: the Node binary that runs the guard. */
  constructor(private readonly nodePath = process.execPath) {
    // The node exits (a second Ctrl-C, an uncaught error): a live guard stops the children in order;
    // a frozen one cannot, so it goes, and every child's group with it.
    process.on('exit', () => {
      if (this.current?.busy && this.current.silentMs > 1000 && this.current.pid) {
        try {
          process.kill(this.current.pid, 'SIGKILL');
        } catch {
          // gone
        }
      }
    });
  }

  /** Starts a child under the guard (starting a guard if need be); returns the guard and the child's id. */
  spawn(client: GuardClient, child: Omit<SpawnMsg, 'op' | 'id' | 'deadline'> & { remainingMs: number }): { guard: GuardProcess; id: number } {
    const guard = this.guard();
    const id = this.nextId++;
    const { remainingMs, ...rest } = child;
    guard.spawn(client, { op: 'spawn', id, ...rest, deadline: { ms: remainingMs, at: monoNow() } });
    return { guard, id };
  }

  /** Has the guard revoke `lease` if this process dies (after its children have exited). */
  release(lease: string, gateway: EtcdGateway): void {
    this.releases.set(lease, gateway);
    this.guard().send({ op: 'release', lease, gateway });
  }

  forget(lease: string): void {
    if (this.releases.delete(lease)) this.current?.send({ op: 'forget', lease });
  }

  /** The guard, started if there is none (the new one is told the leases). */
  private guard(): GuardProcess {
    if (this.current?.usable) return this.current;
    const guard = new GuardProcess(this.nodePath, this.releases, (g) => this.gone(g));
    this.current = guard;
    return guard;
  }

  private gone(guard: GuardProcess): void {
    if (this.current !== guard) return;
    this.current = undefined;
    if (monoNow() - guard.startedAt > 60_000) this.restartDelay = 1000;
    // Leases still need a guard to revoke them if this process dies; retry slower while it fails.
    if (this.releases.size === 0 || this.restartTimer) return;
    this.restartTimer = setTimeout(() => {
      this.restartTimer = undefined;
      if (!this.current && this.releases.size > 0) this.guard();
    }, this.restartDelay).unref();
    this.restartDelay = Math.min(this.restartDelay * 2, 30_000);
  }
}
