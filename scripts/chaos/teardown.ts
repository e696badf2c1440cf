// Stopping the run, and the orphan check: after every node was stopped (SIGTERM, as an operator
// would; its group SIGKILLed if it does not exit within the grace) and etcd too, no process of the
// run may be left on the machine. Whatever is left is counted, described and killed.
import { setTimeout as delay } from 'node:timers/promises';
import type { TcpProxy } from '../../test/helpers/tcp-proxy.js';
import type { EtcdServer } from './etcd.js';
import type { NodeSlot } from './nodes.js';
import { cmdline, isLive, killTagged, ProcReader, type Proc } from './procfs.js';

/** What the stop left behind. */
export interface Leftovers {
  orphans: string[];
  /** Nodes that had to be SIGKILLed because a SIGTERM did not end them. */
  killedAtEnd: number;
}

const describe = (p: Proc) => `pid ${p.pid} ${p.state} ${p.env.ROTA_CHAOS_ROLE ?? ''}${p.env.ROTA_WORK_ID ? ` item ${p.env.ROTA_WORK_ID} token ${p.env.ROTA_FENCING_TOKEN}` : ''} ${cmdline(p.pid).slice(0, 80)}`.replace(/\s+/g, ' ').trim();

/** Processes of the run still running (zombies are dead and do not count), but for `except`. */
function leftOver(tag: string, except: number[] = []): Proc[] {
  return new ProcReader().list(tag).filter((p) => p.pid !== process.pid && !except.includes(p.pid) && (isLive(p) || p.state === 'T' || p.state === 't'));
}

async function settleLeftovers(tag: string, except: number[], withinMs: number): Promise<Proc[]> {
  const deadline = Date.now() + withinMs;
  let left = leftOver(tag, except);
  while (left.length > 0 && Date.now() < deadline) {
    await delay(100);
    left = leftOver(tag, except);
  }
  return left;
}

/** Stops every node, then etcd and the proxy; returns what was left of the run, killed. */
export async function stopEverything(tag: string, slots: NodeSlot[], etcd: EtcdServer, proxy: TcpProxy, graceMs: number): Promise<Leftovers> {
  const outcomes = await Promise.all(slots.map((s) => s.stop(graceMs)));
  // A node's guard stops its children within a fraction of a second of the node's end; leave it 3 s.
  const etcdPid = etcd.pid;
  const left = await settleLeftovers(tag, etcdPid ? [etcdPid] : [], 3000);
  const orphans = left.map(describe);
  killTagged(tag, etcdPid ? [etcdPid] : []);
  await etcd.stop();
  await proxy.close();
  const after = await settleLeftovers(tag, [], 1000);
  orphans.push(...after.map(describe));
  killTagged(tag);
  return { orphans, killedAtEnd: outcomes.filter((o) => o === 'killed').length };
}

/** Kills everything of the run at once (interrupted, or failed): synchronous, safe to call twice. */
export function killEverything(tag: string, slots: NodeSlot[], etcd?: EtcdServer): void {
  for (const s of slots) s.kill();
  etcd?.kill();
  killTagged(tag);
}
