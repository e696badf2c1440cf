// The guard between a node and each child it runs: children never outlive the node's right to run
// them, whatever is killed or frozen — the node, the guard, both, their process group.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { after, describe, it } from 'node:test';
import { GuardedChild, GuardPool } from '../../src/engine/processors/guarded-child.js';
import { isRunning, spawnTracked, stopChild, tempDir, waitFor } from '../helpers/processes.js';
import { killAllWith, processesWith, stat } from '../helpers/proc-scan.js';

const alive = isRunning;
// Every process this file starts (guards, children, stand-in nodes) inherits it: see after().
const MARK = randomUUID();
process.env.ROTA_GUARD_TEST = MARK;
const pool = new GuardPool();
/** A child that ignores SIGTERM and has a grandchild that does too; prints the grandchild's pid. */
const STUBBORN = "trap '' TERM; sleep 1000 & echo $!; wait";

function run(script: string, options: { remainingMs?: number; input?: string; env?: NodeJS.ProcessEnv; killAfterMs?: number } = {}) {
  const lines: string[] = [];
  const child = new GuardedChild(
    {
      command: ['/bin/sh', '-c', script],
      env: { ...process.env, ...options.env },
      input: options.input ?? '',
      remainingMs: options.remainingMs ?? 60_000,
      killAfterMs: options.killAfterMs ?? 200,
      onLine: (_s, line) => lines.push(line),
    },
    pool,
  );
  return { child, lines };
}

/** Starts the stand-in node (test/fixtures/guarded-parent.ts); resolves once its child and grandchild run. */
async function standIn(env: NodeJS.ProcessEnv, options: { detached?: boolean; waitForChild?: boolean } = {}) {
  const node = spawnTracked(process.execPath, ['--import', 'tsx', 'test/fixtures/guarded-parent.ts'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, ...env }, detached: options.detached });
  const pids: Record<string, number> = {};
  const said: string[] = [];
  readline.createInterface({ input: node.stdout! }).on('line', (l) => {
    said.push(l);
    const [k, v] = l.split(' ');
    if (/^\d+$/.test(v ?? '')) pids[k] = Number(v);
    else if (/^\d+$/.test(k)) pids.grandchild = Number(k);
  });
  // Starting Node with tsx, then the guard, takes seconds on a loaded host.
  if (options.waitForChild !== false) await waitFor(() => pids.child && pids.grandchild && pids.guard, 30_000, 'the guarded child to start');
  return { node, pids, said };
}

const gone = (...pids: number[]) => pids.every((p) => !alive(p));

describe('guarded children', { timeout: 240_000 }, () => {
  after(() => {
    // This process's own guard stays while it lives (and ends with it); nothing else may.
    const left = processesWith('ROTA_GUARD_TEST', MARK).filter((p) => p.pid !== process.pid && p.ppid !== process.pid);
    killAllWith('ROTA_GUARD_TEST', MARK);
    assert.deepEqual(left.map((p) => p.pid), [], 'processes of this test were still running');
  });

  it('passes content as data in the environment and on stdin, never as shell code', async () => {
    const tmp = tempDir('guard');
    const marker = path.join(tmp.dir, 'pwned');
    const content = `$(touch ${marker}); \`touch ${marker}\` && touch ${marker}\nline two`;
    const { child, lines } = run('printf "%s" "$ROTA_WORK_CONTENT" | wc -c; cat', { input: content, env: { ROTA_WORK_CONTENT: content } });
    const exit = await child.exited;
    assert.equal(exit.code, 0);
    assert.equal(Number(lines[0].trim()), Buffer.byteLength(content));
    assert.deepEqual(lines.slice(1), content.split('\n'));
    assert.equal(fs.existsSync(marker), false, 'content was never run');
    tmp.remove();
  });

  it("reports the command's own exit code or signal, and runs argv as given (no shell builtins)", async () => {
    const exited = await run('exit 3').child.exited;
    assert.deepEqual([exited.code, exited.signal, exited.reason], [3, null, 'exited']);
    const killed = await run('kill -TERM $$').child.exited;
    assert.equal(killed.signal, 'SIGTERM');
    const lines: string[] = [];
    const echo = new GuardedChild({ command: ['echo', 'a\\nb'], env: process.env, input: '', remainingMs: 10_000, killAfterMs: 100, onLine: (_s, l) => lines.push(l) }, pool);
    await echo.exited;
    assert.deepEqual(lines, ['a\\nb'], '/bin/echo, not the shell builtin that reads escapes');
  });

  it('a command that exits leaving a process behind (its output elsewhere): the exit is reported once that process is gone', async () => {
    // The straggler holds none of the child's streams: only the look at the group itself can find it.
    const { child, lines } = run('sleep 1000 </dev/null >/dev/null 2>&1 & echo $!; exit 3');
    const exit = await child.exited;
    const straggler = Number(lines[0]);
    assert.ok(straggler > 0, `the straggler's pid (${lines.join(' ')})`);
    assert.equal(exit.code, 3);
    assert.ok(gone(straggler), 'the straggler was killed before the exit was reported');
  });

  it('stop sends SIGTERM, then SIGKILL after the grace, to the whole process group', async () => {
    const { child, lines } = run(STUBBORN);
    await waitFor(() => lines.length > 0, 5000, 'the grandchild pid');
    const grandchild = Number(lines[0]);
    const t = Date.now();
    const exit = await child.stop(300);
    assert.ok(Date.now() - t >= 250, 'waited for the grace period');
    assert.equal(exit.reason, 'stopped');
    assert.ok(gone(grandchild), 'the exit is reported only once the group is gone');
  });

  it('stops the child when the deadline passes without a feed, and not while it is fed', async () => {
    const fed = run('sleep 1000', { remainingMs: 1500 });
    const starved = run('sleep 1000', { remainingMs: 300 });
    const feeder = setInterval(() => fed.child.feed(1500), 100); // a loaded test process may stall a while
    const exit = await starved.child.exited;
    assert.equal(exit.reason, 'fenced');
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(fed.child.pid && alive(fed.child.pid), 'the fed child still runs');
    clearInterval(feeder);
    assert.equal((await fed.child.exited).reason, 'fenced', 'once feeding stops, it is stopped too');
  });

  it('a stop under way (a long grace) is cut short by the deadline', async () => {
    const { child, lines } = run(STUBBORN, { remainingMs: 600 });
    await waitFor(() => lines.length > 0, 5000, 'the grandchild pid');
    const t = Date.now();
    void child.stop(20_000); // an update's or a move's grace
    const exit = await child.exited;
    assert.ok(Date.now() - t < 2500, `stopped ${Date.now() - t} ms later: the deadline did not shorten the stop`);
    assert.ok(gone(Number(lines[0])));
    assert.equal(exit.signal, 'SIGKILL');
  });

  it('a stop under way is cut short by a stricter stop', async () => {
    const { child, lines } = run(STUBBORN);
    await waitFor(() => lines.length > 0, 5000, 'the grandchild pid');
    const t = Date.now();
    void child.stop(20_000);
    await new Promise((r) => setTimeout(r, 100));
    await child.stop(200);
    assert.ok(Date.now() - t < 1500, `stopped ${Date.now() - t} ms later`);
    assert.ok(gone(Number(lines[0])));
  });

  it('cuts output lines at 64 KiB, between characters, losing nothing', async () => {
    const text = 'é'.repeat(100_000); // 200,000 bytes, no newline
    const { child, lines } = run('cat', { input: text });
    await child.exited;
    assert.ok(lines.length >= 4, `${lines.length} lines`);
    for (const l of lines) assert.ok(Buffer.byteLength(l) <= 64 * 1024, `a line of ${Buffer.byteLength(l)} bytes`);
    assert.equal(lines.join(''), text, 'pieces in order, no character broken');
  });

  it('reports a command that cannot start', async () => {
    const child = new GuardedChild({ command: ['/nonexistent/binary'], env: process.env, input: '', remainingMs: 10_000, killAfterMs: 100 }, pool);
    const exit = await child.exited;
    assert.equal(exit.reason, 'spawn-failed');
  });

  it('a guard that cannot be started fails the child, not the node', async () => {
    const child = new GuardedChild({ command: ['true'], env: process.env, input: '', remainingMs: 10_000, killAfterMs: 100 }, new GuardPool('/nonexistent/node'));
    const exit = await child.exited;
    assert.equal(exit.reason, 'spawn-failed');
    assert.match(exit.error ?? '', /cannot start the guard/);
  });

  it('fences on the monotonic clock: a guard whose wall clock was stepped back an hour still stops on time', async () => {
    // (On a loaded host the guard may start after the deadline: then it must refuse to start the child.)
    const { node, pids, said } = await standIn({ GUARD_STEP_CLOCK: '1', GUARD_REMAINING_MS: '1500' }, { waitForChild: false });
    try {
      await waitFor(() => said.includes('exit fenced'), 30_000, 'the fence to be reported');
      if (pids.child) assert.ok(gone(pids.child, pids.grandchild ?? pids.child), 'the child is gone');
    } finally {
      await stopChild(node);
    }
  });

  it('a guard SIGKILLed alone: the node kills its children (grandchildren too) and reports them lost', async () => {
    const { child, lines } = run(STUBBORN);
    await waitFor(() => child.pid && lines.length > 0, 5000, 'the child to run');
    const guard = stat(child.pid!)!.ppid;
    process.kill(guard, 'SIGKILL');
    const t = Date.now();
    const exit = await child.exited;
    assert.equal(exit.reason, 'lost');
    assert.ok(gone(child.pid!, Number(lines[0])), 'nothing of it runs when it is reported');
    assert.ok(Date.now() - t < 1000, `reported ${Date.now() - t} ms after`);
    const next = run('exit 0');
    assert.equal((await next.child.exited).code, 0, 'the next child runs under a new guard');
  });

  it('a guard frozen (SIGSTOP) past the deadline: the node kills the children itself', async () => {
    const { child, lines } = run(STUBBORN, { remainingMs: 700 });
    await waitFor(() => child.pid && lines.length > 0, 5000, 'the child to run');
    const guard = stat(child.pid!)!.ppid;
    process.kill(guard, 'SIGSTOP');
    try {
      const exit = await child.exited;
      assert.equal(exit.reason, 'fenced');
      assert.ok(gone(child.pid!, Number(lines[0])));
    } finally {
      for (const sig of ['SIGCONT', 'SIGKILL'] as const) if (alive(guard)) process.kill(guard, sig);
    }
  });

  it('a node killed with SIGKILL leaves no child running (within a second), stopped in order with SIGTERM', async () => {
    const tmp = tempDir('orphan');
    const marker = path.join(tmp.dir, 'marker');
    const { node, pids } = await standIn({ GUARD_MARKER: marker });
    try {
      node.kill('SIGKILL');
      const t = Date.now();
      await waitFor(() => gone(pids.child, pids.grandchild), 3000, 'the orphans to stop');
      assert.ok(Date.now() - t < 1000, `children stopped ${Date.now() - t} ms after the node died`);
      assert.equal(fs.readFileSync(marker, 'utf8').trim(), 'term', 'the child ran its SIGTERM handler');
      await waitFor(() => !alive(pids.guard), 3000, 'the guard to exit');
    } finally {
      await stopChild(node);
      tmp.remove();
    }
  });

  it("a kill of the node's whole process group (kill -9 -- -PGID) leaves no child running, stopped in order", async () => {
    const tmp = tempDir('group');
    const marker = path.join(tmp.dir, 'marker');
    const { node, pids } = await standIn({ GUARD_MARKER: marker }, { detached: true });
    try {
      process.kill(-node.pid!, 'SIGKILL');
      const t = Date.now();
      await waitFor(() => gone(pids.child, pids.grandchild), 3000, 'the children to stop');
      assert.ok(Date.now() - t < 1000, `children stopped ${Date.now() - t} ms after the group was killed`);
      assert.equal(fs.readFileSync(marker, 'utf8').trim(), 'term', 'the guard survived the group kill and stopped the child in order');
    } finally {
      await stopChild(node);
      tmp.remove();
    }
  });

  it('the node and the guard SIGKILLed at once: the children go with them', async () => {
    const { node, pids } = await standIn({ GUARD_SCRIPT: STUBBORN });
    try {
      process.kill(pids.guard, 'SIGKILL');
      node.kill('SIGKILL');
      const t = Date.now();
      await waitFor(() => gone(pids.child, pids.grandchild), 3000, 'the children to die');
      assert.ok(Date.now() - t < 500, `children died ${Date.now() - t} ms later`);
    } finally {
      await stopChild(node);
    }
  });

  it('the node exiting at once during a long stop (a second Ctrl-C) leaves no child running', async () => {
    const { node, pids } = await standIn({ GUARD_SCRIPT: STUBBORN, GUARD_STOP_MS: '20000', GUARD_EXIT_MS: '300' });
    try {
      await waitFor(() => node.exitCode !== null, 5000, 'the node to exit');
      const t = Date.now();
      await waitFor(() => gone(pids.child, pids.grandchild), 5000, 'the children to stop');
      assert.ok(Date.now() - t < 1000, `children stopped ${Date.now() - t} ms after the node exited`);
      await waitFor(() => !alive(pids.guard), 3000, 'the guard to exit');
    } finally {
      await stopChild(node);
    }
  });
});
