// The guard: a small process between a node and the children it runs. A child must never outlive
// its node's right to run it, and the node may die (SIGKILL, OOM, a second Ctrl-C) or freeze
// (SIGSTOP, partition) without a chance to clean up. So the guard, not the node, enforces it:
//   - it runs in a session of its own (guard-pool.ts starts it detached): a kill of the node's
//     process group does not reach it, and it outlives the node long enough to stop the children;
//   - the node feeds each child's deadline (a duration on the host's monotonic clock); when it
//     passes, the child's process group is stopped (SIGTERM, then SIGKILL), so a frozen or cut-off
//     node's children end before its lease can expire;
//   - a stop under way is shortened by any later, stricter one (a deadline passing, the node dying),
//     and the SIGKILL is never left to a timer that lets the guard exit first;
//   - when the control channel (fd 3, from the node) closes — the node died — every child is stopped at once;
//   - each child leads a process group whose leader ends the group if the guard dies
//     (process-group.ts), so even a SIGKILL of the guard leaves nothing running;
//   - it reports a child's exit only once the child's group is gone, and never exits while a child
//     it ran may live unless it SIGKILLed that child's group;
//   - children's output passes through it, in lines of at most 64 KiB; it keeps reading after the
//     node is gone, so a child is stopped in order (SIGTERM first) and never killed by SIGPIPE;
//   - when the node died and every child's group is gone, it revokes the node's leases
//     (guard-release.ts), so its work moves at once rather than after a TTL.
// One guard serves all the children of a node: a child costs a fork, not another Node process.
// Protocol: guard-protocol.ts. Only Node builtins: it must start fast.
import { spawn, type ChildProcess } from 'node:child_process';
import net from 'node:net';
import type { Readable } from 'node:stream';
import { revokeLeases, type EtcdGateway } from './guard-release.js';
import { GUARD_IN_MAX, OUTPUT_LINE_MAX, TICK_MS, type Deadline, type GuardIn, type GuardOut, type SpawnMsg } from './guard-protocol.js';
import { LineSplitter } from './lines.js';
import { monoNow } from './mono.js';
import { cannotRun, groupAlive, leaderArgs, parseStatus, signalGroup } from './process-group.js';

interface Exit {
  code: number | null;
  signal: string | null;
}

interface Child {
  id: number;
  proc: ChildProcess;
  /** Monotonic ms from which it must not run. */
  deadline: number;
  killAfterMs: number;
  reason?: string;
  /** Monotonic ms at which its group gets SIGKILL: the earliest any stop asked for. */
  killAt?: number;
  killed: boolean;
  /** How the command ended, as its group leader reported it. */
  status?: Exit;
  /** How the group leader ended. */
  end?: Exit;
  /** Its streams (stdout, stderr, fd 3) not yet closed. */
  open: number;
  /** Called once the last of them has closed (while its end is being settled). */
  onClosed?: () => void;
}

const ORPHAN_GRACE_MS = Number(process.argv[2] ?? 300);
/** After a group was SIGKILLed: how long to wait for it to be empty and its output read. */
const SETTLE_MS = 2000;
const children = new Map<number, Child>();
/** Leases to revoke if the node dies: its workers' and its election session's. */
const leases = new Map<string, EtcdGateway>();
let nodeGone = false;
/** A group outlived its SIGKILL (uninterruptible sleep, or it escaped): leave the leases to expire. */
let lingered = false;

// Two one-way channels: the node's messages on fd 3, ours on fd 4. On one socket for both, a
// write that fails (EPIPE: the node just died) destroys it before we read what the node sent last,
// such as the leases to revoke.
const control = new net.Socket({ fd: 3, readable: true, writable: false });
control.on('error', () => undefined);
const reports = new net.Socket({ fd: 4, readable: false, writable: true });
reports.on('error', () => undefined);
const send = (msg: GuardOut) => {
  if (!nodeGone && reports.writable) reports.write(`${JSON.stringify(msg)}\n`);
};
const due = (d: Deadline) => d.at + d.ms;

/** SIGTERM now, SIGKILL at `killAt` (monotonic ms) — or sooner, if a stop under way already asked for sooner. */
function stop(c: Child, why: string, killAt: number): void {
  if (c.end) return; // its leader exited and its group was SIGKILLed then
  if (c.killAt === undefined || killAt < c.killAt) c.killAt = killAt;
  if (c.reason) return;
  c.reason = why;
  signalGroup(c.proc.pid, 'SIGTERM');
  send({ op: 'stopping', id: c.id });
}

function kill(c: Child): void {
  if (c.killed) return;
  c.killed = true;
  signalGroup(c.proc.pid, 'SIGKILL');
  send({ op: 'killed', id: c.id });
}

function start(m: SpawnMsg): void {
  const fail = (error: string) => send({ op: 'exit', id: m.id, code: 127, signal: null, reason: 'spawn-failed', error });
  // Read late (the guard was busy or frozen): the right to run it is already over.
  if (monoNow() >= due(m.deadline)) return send({ op: 'exit', id: m.id, code: null, signal: null, reason: 'fenced' });
  const cannot = cannotRun(m.command[0], m.env, m.cwd);
  if (cannot) return fail(cannot);
  let proc: ChildProcess;
  try {
    proc = spawn('/bin/sh', leaderArgs(m.command), { env: m.env, cwd: m.cwd, stdio: ['pipe', 'pipe', 'pipe', 'pipe'], detached: true });
  } catch (err) {
    return fail((err as Error).message);
  }
  const c: Child = { id: m.id, proc, deadline: due(m.deadline), killAfterMs: m.killAfterMs, killed: false, open: 3 };
  children.set(m.id, c);
  proc.on('error', (err) => {
    if (proc.pid !== undefined || !children.delete(m.id)) return;
    fail(err.message); // fork failed (EAGAIN, ENOMEM): nothing runs
  });
  proc.stdin!.on('error', () => undefined); // it may exit without reading its input
  proc.stdin!.end(m.input);
  for (const stream of ['stdout', 'stderr'] as const) {
    const lines = new LineSplitter((line) => send({ op: 'out', id: m.id, stream, line }), { maxBytes: OUTPUT_LINE_MAX, overflow: 'split' });
    follow(c, proc[stream]!, lines);
  }
  follow(c, proc.stdio[3] as Readable, new LineSplitter((line) => (c.status = parseStatus(line) ?? c.status), { maxBytes: 256, overflow: 'drop' }));
  proc.on('exit', (code, signal) => {
    if (proc.pid === undefined) return;
    c.end = { code, signal };
    kill(c); // nothing the command started may stay behind (and hold its output open)
    settle(c);
  });
  if (proc.pid !== undefined) send({ op: 'started', id: m.id, pid: proc.pid });
}

function follow(c: Child, stream: Readable, lines: LineSplitter): void {
  stream.on('data', (chunk: Buffer) => lines.push(chunk));
  stream.on('end', () => lines.end());
  stream.on('error', () => undefined);
  stream.on('close', () => {
    c.open--;
    if (c.open === 0) c.onClosed?.();
  });
}

/**
 * Reports the exit once the group is gone and its output read (or, for what will not die, after
 * SETTLE_MS). The output's streams close when the last process holding them is gone (the group's
 * watcher holds fd 3), so they are waited on as events; the group is looked for in /proc only
 * then (a scan of every process: the costliest step of a child's end when done on every poll).
 */
function settle(c: Child): void {
  const until = monoNow() + SETTLE_MS;
  // A group SIGKILLed is gone within a millisecond or two: look again soon, then less often.
  let wait = 1;
  let timer: NodeJS.Timeout | undefined;
  const again = () => {
    signalGroup(c.proc.pid, 'SIGKILL'); // one forked while the first was sent
    if (c.open > 0) c.onClosed = check;
    timer = setTimeout(check, wait);
    wait = Math.min(25, wait * 2);
  };
  const check = () => {
    clearTimeout(timer);
    c.onClosed = undefined;
    const late = monoNow() >= until;
    if (c.open > 0 && !late) return again();
    const alive = groupAlive(c.proc.pid);
    if (alive && !late) return again();
    if (alive) lingered = true;
    for (const s of [c.proc.stdout, c.proc.stderr, c.proc.stdio[3]]) s?.destroy();
    if (!children.delete(c.id)) return;
    const { code, signal } = c.status ?? c.end ?? { code: null, signal: null };
    send({ op: 'exit', id: c.id, code, signal, reason: c.reason ?? 'exited', lingering: alive || undefined });
    if (nodeGone && children.size === 0) void releaseAndExit();
  };
  check();
}

function onMessage(line: string): void {
  let msg: GuardIn;
  try {
    msg = JSON.parse(line) as GuardIn;
  } catch {
    return;
  }
  if (msg.op === 'spawn') return start(msg);
  if (msg.op === 'release') return void leases.set(msg.lease, msg.gateway);
  if (msg.op === 'forget') return void leases.delete(msg.lease);
  const c = children.get(msg.id);
  if (!c) return;
  if (msg.op === 'feed') c.deadline = due(msg.deadline);
  else if (msg.op === 'stop') stop(c, 'stopped', msg.at + msg.graceMs); // the grace counts from the asking, however late it is read
}
const controlLines = new LineSplitter(onMessage, { maxBytes: GUARD_IN_MAX, overflow: 'drop' });
control.on('data', (chunk: Buffer) => controlLines.push(chunk));

// Called only once no child is left: revoking earlier could start an item elsewhere while it runs here.
let releasing = false;
async function releaseAndExit(): Promise<void> {
  if (releasing) return;
  releasing = true;
  if (!lingered) await revokeLeases(leases);
  process.exit(0);
}

const orphaned = () => {
  if (nodeGone) return;
  nodeGone = true;
  for (const c of children.values()) stop(c, 'orphaned', monoNow() + ORPHAN_GRACE_MS);
  if (children.size === 0) void releaseAndExit();
};
control.on('end', orphaned);
control.on('close', orphaned);

// Deadlines apply to every child, stopping ones included: they only ever bring the SIGKILL closer.
setInterval(() => {
  const now = monoNow();
  for (const c of children.values()) {
    if (c.end) continue;
    if (now >= c.deadline) stop(c, 'fenced', now + c.killAfterMs);
    if (c.killAt !== undefined && now >= c.killAt) kill(c);
  }
}, 20);
setInterval(() => send({ op: 'tick' }), TICK_MS);
send({ op: 'hello' });

process.on('SIGINT', () => undefined); // not ours: the node decides
process.on('SIGTERM', () => {
  for (const c of children.values()) stop(c, 'terminated', monoNow() + 300);
});
