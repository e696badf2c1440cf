// The guard: a tiny process between a node and one child it runs. The child must never outlive
// its node's right to run it, and the node may die (SIGKILL, OOM) or freeze (SIGSTOP, partition)
// without a chance to clean up. So the guard, not the node, enforces it:
//   - the node feeds it a deadline ("until") on fd 3; when it passes, the child's process group is
//     stopped (SIGTERM, then SIGKILL), so a frozen or cut-off node's children end before its
//     lease can expire;
//   - when fd 3 closes (the node died), the child's group is stopped at once;
//   - on {"stop": graceMs} it stops the child and reports its exit.
// Run as: node guard.js '{"command":[...],"until":ms,"killAfterMs":ms,"orphanGraceMs":ms}'
// Only Node builtins: it starts once per child and must start fast.
import { spawn } from 'node:child_process';
import net from 'node:net';

interface GuardConfig {
  command: string[];
  until: number;
  killAfterMs: number;
  orphanGraceMs: number;
}

const config = JSON.parse(process.argv[2] ?? '{}') as GuardConfig;
let until = config.until;
let stopping = false;
let reason = 'exited';

const control = new net.Socket({ fd: 3, readable: true, writable: true });
const send = (msg: object) => {
  if (control.writable) control.write(`${JSON.stringify(msg)}\n`);
};

// The child's output passes through the guard: if the node dies, the guard keeps reading it, so
// the child is not killed by SIGPIPE on its next write but stopped in order (SIGTERM first).
const child = spawn(config.command[0], config.command.slice(1), { stdio: ['inherit', 'pipe', 'pipe'], detached: true });
let nodeGone = false;
for (const [from, to] of [[child.stdout, process.stdout], [child.stderr, process.stderr]] as const) {
  to.on('error', () => (nodeGone = true));
  from?.on('data', (chunk: Buffer) => {
    if (!nodeGone) to.write(chunk);
  });
}

function signalGroup(signal: NodeJS.Signals): void {
  if (child.pid === undefined) return;
  try {
    process.kill(-child.pid, signal);
  } catch {
    // already gone
  }
}

function stop(why: string, graceMs: number): void {
  if (stopping) return;
  stopping = true;
  reason = why;
  signalGroup('SIGTERM');
  setTimeout(() => signalGroup('SIGKILL'), graceMs).unref();
}

/** Reports the exit and ends the guard. */
function finish(msg: object): void {
  clearInterval(deadline);
  send(msg);
  control.end(() => process.exit(0));
  setTimeout(() => process.exit(0), 200).unref();
}

child.on('error', (err) => finish({ exit: { code: 127, signal: null }, reason: 'spawn-failed', error: err.message }));

child.on('exit', (code, signal) => {
  signalGroup('SIGKILL'); // nothing the child started may stay behind
  finish({ exit: { code, signal }, reason });
});

if (child.pid !== undefined) send({ pid: child.pid });

let buffered = '';
control.setEncoding('utf8');
control.on('data', (chunk: string) => {
  buffered += chunk;
  let nl: number;
  while ((nl = buffered.indexOf('\n')) >= 0) {
    const line = buffered.slice(0, nl);
    buffered = buffered.slice(nl + 1);
    try {
      const msg = JSON.parse(line) as { until?: number; stop?: number };
      if (typeof msg.until === 'number') until = msg.until;
      if (typeof msg.stop === 'number') stop('stopped', msg.stop);
    } catch {
      // not ours
    }
  }
});
const orphaned = () => {
  nodeGone = true;
  stop('orphaned', config.orphanGraceMs);
};
control.on('end', orphaned);
control.on('close', orphaned);
control.on('error', orphaned);

const deadline = setInterval(() => {
  if (Date.now() >= until) stop('fenced', config.killAfterMs);
}, 20);

process.on('SIGINT', () => undefined); // Ctrl-C reaches the whole group; the node decides
process.on('SIGTERM', () => stop('terminated', config.killAfterMs));
