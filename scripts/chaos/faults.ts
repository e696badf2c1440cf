// The faults, and a schedule that injects every kind at least once (in a random order) and then
// random kinds until the chaos phase ends. One fault at a time acts on any one target (a node,
// etcd, the proxy), but faults on different targets overlap: a node is killed while etcd is down.
// Every fault undoes itself (SIGCONT, etcd started, proxy restored) when the run ends early.
import { setTimeout as delay } from 'node:timers/promises';
import type { TcpProxy } from '../../test/helpers/tcp-proxy.js';
import type { EtcdServer } from './etcd.js';
import type { NodeSlot } from './nodes.js';
import { ProcReader } from './procfs.js';
import type { Random } from './random.js';

/** Every fault the runner injects. */
export const FAULT_KINDS = ['kill-node', 'kill-guard', 'kill-group', 'freeze-node', 'term-node', 'stop-etcd', 'cut-proxy'] as const;

export type FaultKind = (typeof FAULT_KINDS)[number];

/** How often each kind comes once every kind has come: outages mask node faults, so they are rarer. */
const WEIGHTS: Record<FaultKind, number> = { 'kill-node': 1, 'kill-guard': 1, 'kill-group': 1, 'freeze-node': 1, 'term-node': 1, 'cut-proxy': 0.7, 'stop-etcd': 0.35 };

export interface FaultTargets {
  etcd: EtcdServer;
  /** Between slot 0's node and etcd. */
  proxy: TcpProxy;
  slots: NodeSlot[];
  ttl: number;
  random: Random;
  log: (line: string) => void;
}

/** Sleeps `ms`, or less if `signal` aborts (it never rejects). */
function sleep(ms: number, signal: AbortSignal): Promise<void> {
  return delay(ms, undefined, { signal }).catch(() => undefined);
}

/** Injects faults and counts them by kind. */
export class Faults {
  readonly counts = Object.fromEntries(FAULT_KINDS.map((k) => [k, 0])) as Record<FaultKind, number>;
  /** What went wrong in a fault itself (etcd that would not start again…). */
  readonly problems: string[] = [];
  private readonly abort = new AbortController();
  private readonly running = new Set<Promise<void>>();
  private etcdBusy = false;
  private readonly reader = new ProcReader();
  private proxyBusy = false;

  constructor(private readonly t: FaultTargets) {}

  /** Injects faults for `ms`: every kind once first, in a random order, then random kinds. */
  async run(ms: number): Promise<void> {
    const { random } = this.t;
    const end = Date.now() + ms;
    const todo: FaultKind[] = random.shuffle(FAULT_KINDS);
    while (!this.abort.signal.aborted) {
      const left = end - Date.now();
      // Gaps leave room for every kind still owed before the end.
      await sleep(Math.min(random.between(500, 3000), left / (todo.length + 1)), this.abort.signal);
      if (this.abort.signal.aborted || Date.now() >= end) break;
      // Owed kinds first; a kind with no free target now is tried again after the next gap.
      const choices = todo.length > 0 ? todo : [random.weighted(FAULT_KINDS.map((k) => [k, WEIGHTS[k]] as const))];
      for (const kind of choices) {
        const done = this.inject(kind, end);
        if (!done) continue;
        const i = todo.indexOf(kind);
        if (i >= 0) todo.splice(i, 1);
        break;
      }
    }
  }

  /** Ends every fault under way (processes continued, etcd started, proxy restored) and waits for it. */
  async heal(): Promise<void> {
    this.abort.abort();
    await Promise.all(this.running);
  }

  /** Starts a fault of `kind` if it has a target now; false if it has none. */
  private inject(kind: FaultKind, end: number): boolean {
    const act = this.plan(kind, end);
    if (!act) return false;
    this.counts[kind]++;
    const p = act()
      .catch((err) => void this.problems.push(`${kind}: ${(err as Error).message}`))
      .finally(() => this.running.delete(p));
    this.running.add(p);
    return true;
  }

  /** A node no fault acts on, among those that run items now if any does (a fault hurts most there). */
  private freeSlot(filter: (s: NodeSlot) => boolean = () => true): NodeSlot | undefined {
    const ready = this.t.slots.filter((s) => !s.busy && s.pid !== undefined && filter(s));
    const working = ready.filter((s) => s.items(this.reader) > 0);
    const from = working.length > 0 ? working : ready;
    return from.length > 0 ? this.t.random.pick(from) : undefined;
  }

  /** The action of a fault of `kind` on a target free now, or undefined. */
  private plan(kind: FaultKind, end: number): (() => Promise<void>) | undefined {
    const { random, ttl, log } = this.t;
    const signal = this.abort.signal;
    const onSlot = (slot: NodeSlot | undefined, act: (s: NodeSlot) => Promise<void>) => {
      if (!slot) return undefined;
      slot.busy = true;
      return () => act(slot).finally(() => (slot.busy = false));
    };
    switch (kind) {
      case 'kill-node':
        return onSlot(this.freeSlot(), async (s) => {
          log(`fault: SIGKILL node ${s.id} (pid ${s.pid})`);
          s.signal('SIGKILL');
          await s.exited();
        });
      case 'kill-group':
        return onSlot(this.freeSlot(), async (s) => {
          log(`fault: SIGKILL the process group of node ${s.id} (pgid ${s.pid})`);
          s.signal('SIGKILL', true);
          await s.exited();
        });
      case 'kill-guard': {
        const guards = new Map(this.t.slots.map((s) => [s, s.busy ? undefined : s.guardPid(this.reader)]));
        return onSlot(this.freeSlot((s) => guards.get(s) !== undefined), async (s) => {
          const guard = guards.get(s)!;
          log(`fault: SIGKILL the guard (pid ${guard}) of node ${s.id}`);
          try {
            process.kill(guard, 'SIGKILL');
          } catch {
            // it ended meanwhile
          }
        });
      }
      case 'freeze-node':
        return onSlot(this.freeSlot(), async (s) => {
          const ms = Math.round((ttl + random.between(1, 3)) * 1000);
          log(`fault: SIGSTOP node ${s.id} for ${ms} ms`);
          s.signal('SIGSTOP');
          await sleep(ms, signal);
          s.signal('SIGCONT');
        });
      case 'term-node':
        return onSlot(this.freeSlot(), async (s) => {
          log(`fault: SIGTERM node ${s.id}`);
          s.signal('SIGTERM');
          await Promise.race([s.exited(), sleep(30_000, signal)]);
        });
      case 'stop-etcd': {
        if (this.etcdBusy) return undefined;
        this.etcdBusy = true;
        return async () => {
          // 5-30 s, short ones likelier; shorter near the end so the outage ends inside the chaos phase when it can.
          const ms = Math.round(Math.max(5000, Math.min(5000 + 25_000 * random.next() ** 2, end - Date.now() - 2000)));
          try {
            log(`fault: etcd stopped for ${ms} ms`);
            await this.t.etcd.stop();
            await sleep(ms, signal);
          } finally {
            await this.t.etcd.start();
            log('fault healed: etcd started again');
            this.etcdBusy = false;
          }
        };
      }
      case 'cut-proxy': {
        if (this.proxyBusy) return undefined;
        this.proxyBusy = true;
        return async () => {
          const ms = Math.round(random.between(1000, (ttl * 3 + 4) * 1000));
          log(`fault: network between node ${this.t.slots[0].id} and etcd cut for ${ms} ms`);
          this.t.proxy.cut();
          try {
            await sleep(ms, signal);
          } finally {
            this.t.proxy.restore();
            this.proxyBusy = false;
          }
        };
      }
    }
  }
}
