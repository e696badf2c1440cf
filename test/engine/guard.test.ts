// The guard between a node and each child it runs: children never outlive the node's right to run them.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { describe, it } from 'node:test';
import { GuardedChild } from '../../src/engine/processors/guarded-child.js';
import { isRunning, spawnTracked, stopChild, tempDir, waitFor } from '../helpers/processes.js';

const alive = isRunning;

function run(script: string, options: { until?: number; input?: string; env?: NodeJS.ProcessEnv; killAfterMs?: number } = {}) {
  const lines: string[] = [];
  const child = new GuardedChild({
    command: ['/bin/sh', '-c', script],
    env: { ...process.env, ...options.env },
    input: options.input ?? '',
    until: options.until ?? Date.now() + 60_000,
    killAfterMs: options.killAfterMs ?? 200,
    onLine: (_s, line) => lines.push(line),
  });
  return { child, lines };
}

describe('guarded children', { timeout: 60_000 }, () => {
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

  it('stop sends SIGTERM, then SIGKILL after the grace, to the whole process group', async () => {
    const { child, lines } = run("trap '' TERM; sleep 1000 & echo $!; wait", {});
    await waitFor(() => lines.length > 0, 5000, 'the grandchild pid');
    const grandchild = Number(lines[0]);
    const t = Date.now();
    const exit = await child.stop(300);
    assert.ok(Date.now() - t >= 250, 'waited for the grace period');
    assert.equal(exit.reason, 'stopped');
    await waitFor(() => !alive(grandchild), 2000, 'the grandchild to be gone');
  });

  it('stops the child when the deadline passes without a feed, and not while it is fed', async () => {
    const fed = run('sleep 1000', { until: Date.now() + 300 });
    const starved = run('sleep 1000', { until: Date.now() + 300 });
    const feeder = setInterval(() => fed.child.feed(Date.now() + 300), 100);
    const exit = await starved.child.exited;
    assert.equal(exit.reason, 'fenced');
    await new Promise((r) => setTimeout(r, 600));
    assert.ok(fed.child.pid && alive(fed.child.pid), 'the fed child still runs');
    clearInterval(feeder);
    assert.equal((await fed.child.exited).reason, 'fenced', 'once feeding stops, it is stopped too');
  });

  it('a node killed with SIGKILL leaves no child running (within a second), stopped in order with SIGTERM', async () => {
    const tmp = tempDir('orphan');
    const marker = path.join(tmp.dir, 'marker');
    const node = spawnTracked(process.execPath, ['--import', 'tsx', 'test/fixtures/guarded-parent.ts'], { stdio: ['ignore', 'pipe', 'inherit'], env: { ...process.env, GUARD_MARKER: marker } });
    const pids: Record<string, number> = {};
    readline.createInterface({ input: node.stdout! }).on('line', (l) => {
      const [k, v] = l.split(' ');
      pids[k] = Number(v);
    });
    try {
      await waitFor(() => pids.child && pids.grandchild, 10_000, 'the guarded child to start');
      node.kill('SIGKILL');
      const t = Date.now();
      await waitFor(() => !alive(pids.child) && !alive(pids.grandchild), 3000, 'the orphans to stop');
      assert.ok(Date.now() - t < 1000, `children stopped ${Date.now() - t} ms after the node died`);
      assert.equal(fs.readFileSync(marker, 'utf8').trim(), 'term', 'the child ran its SIGTERM handler');
    } finally {
      await stopChild(node);
      tmp.remove();
    }
  });

  it('reports a command that cannot start', async () => {
    const child = new GuardedChild({ command: ['/nonexistent/binary'], env: process.env, input: '', until: Date.now() + 10_000, killAfterMs: 100 });
    const exit = await child.exited;
    assert.equal(exit.reason, 'spawn-failed');
  });
});
