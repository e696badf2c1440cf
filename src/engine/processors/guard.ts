// The guard: a small process between a node and the children it runs. A child must never outlive
// its node's right to run it, and the node may die (SIGKILL, OOM) or freeze (SIGSTOP, partition)
// without a chance to clean up. So the guard, not the node, enforces it:
//   - the node feeds each child's deadline ("until"); when it passes, the child's process group is
//     stopped (SIGTERM, then SIGKILL), so a frozen or cut-off node's children end before its lease
//     can expire;
//   - when the control channel (fd 3) closes — the node died — every child is stopped at once;
//   - children's output passes through the guard, which keeps reading it after the node is gone,
//     so a child is stopped in order (SIGTERM first) and never killed by SIGPIPE.
//   - when the node died and every child has exited, it revokes the node's leases (guard-release.ts),
//     so its work moves at once rather than after a TTL.
// One guard serves all the children of a node: a child costs a fork, not another Node process.
// Protocol: JSON lines. In: spawn, feed, stop, release, forget. Out: started, out, exit.
// Only Node builtins: it must start fast.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import readline from 'node:readline';
import { revokeLeases, type EtcdGateway } from './guard-release.js';

interface SpawnMsg {
  op: 'spawn';
  id: number;
  command: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  input: string;
  until: number;
  killAfterMs: number;
}
type InMsg =
  | SpawnMsg
  | { op: 'feed'; id: number; until: number }
  | { op: 'stop'; id: number; graceMs: number }
  | { op: 'release'; lease: string; gateway: EtcdGateway }
  | { op: 'forget'; lease: string };

interface Child {
  proc: ChildProcess;
  until: number;
  killAfterMs: number;
  reason?: string;
}

const ORPHAN_GRACE_MS = Number(process.argv[2] ?? 300);
const children = new Map<number, Child>();
/** Leases to revoke if the node dies: its workers' and its election session's. */
const leases = new Map<string, EtcdGateway>();
let nodeGone = false;

const control = new net.Socket({ fd: 3, readable: true, writable: true });
control.on('error', () => undefined);
const send = (msg: object) => {
  if (!nodeGone && control.writable) control.write(`${JSON.stringify(msg)}\n`);
};

function signalGroup(proc: ChildProcess, signal: NodeJS.Signals): void {
  if (proc.pid === undefined) return;
  try {
    process.kill(-proc.pid, signal);
  } catch {
    // already gone
  }
}

function stop(c: Child, why: string, graceMs: number): void {
  if (c.reason) return;
  c.reason = why;
  signalGroup(c.proc, 'SIGTERM');
  setTimeout(() => signalGroup(c.proc, 'SIGKILL'), graceMs).unref();
}

function start(m: SpawnMsg): void {
  const proc = spawn(m.command[0], m.command.slice(1), { env: m.env, cwd: m.cwd, stdio: ['pipe', 'pipe', 'pipe'], detached: true });
  const c: Child = { proc, until: m.until, killAfterMs: m.killAfterMs };
  children.set(m.id, c);
  proc.stdin!.on('error', () => undefined); // it may exit without reading its input
  proc.stdin!.end(m.input);
  for (const stream of ['stdout', 'stderr'] as const) {
    readline.createInterface({ input: proc[stream]!, crlfDelay: Infinity }).on('line', (line) => send({ op: 'out', id: m.id, stream, line }));
  }
  proc.on('error', (err) => {
    children.delete(m.id);
    send({ op: 'exit', id: m.id, code: 127, signal: null, reason: 'spawn-failed', error: err.message });
  });
  // Nothing the child started may stay behind (and hold its output open).
  proc.on('exit', () => signalGroup(proc, 'SIGKILL'));
  proc.on('close', (code, signal) => {
    children.delete(m.id);
    send({ op: 'exit', id: m.id, code, signal, reason: c.reason ?? 'exited' });
    if (nodeGone && children.size === 0) void releaseAndExit();
  });
  if (proc.pid !== undefined) send({ op: 'started', id: m.id, pid: proc.pid });
}

readline.createInterface({ input: control, crlfDelay: Infinity }).on('line', (line) => {
  let msg: InMsg;
  try {
    msg = JSON.parse(line) as InMsg;
  } catch {
    return;
  }
  if (msg.op === 'spawn') return start(msg);
  if (msg.op === 'release') return void leases.set(msg.lease, msg.gateway);
  if (msg.op === 'forget') return void leases.delete(msg.lease);
  const c = children.get(msg.id);
  if (!c) return;
  if (msg.op === 'feed') c.until = msg.until;
  else if (msg.op === 'stop') stop(c, 'stopped', msg.graceMs);
});

// Called only once no child is left: revoking earlier could start an item elsewhere while it runs here.
let releasing = false;
async function releaseAndExit(): Promise<void> {
  if (releasing) return;
  releasing = true;
  await revokeLeases(leases);
  process.exit(0);
}

const orphaned = () => {
  if (nodeGone) return;
  nodeGone = true;
  for (const c of children.values()) stop(c, 'orphaned', ORPHAN_GRACE_MS);
  if (children.size === 0) return void releaseAndExit();
  // A child that will not go away even after SIGKILL: leave the leases to expire.
  setTimeout(() => children.size > 0 && process.exit(0), ORPHAN_GRACE_MS + 1000).unref();
};
control.on('end', orphaned);
control.on('close', orphaned);

setInterval(() => {
  const now = Date.now();
  for (const c of children.values()) if (now >= c.until) stop(c, 'fenced', c.killAfterMs);
}, 20);

process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole group; the node decides
process.on('SIGTERM', () => {
  for (const c of children.values()) stop(c, 'terminated', 300);
});
