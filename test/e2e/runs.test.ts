// zookeeper-exp1's walk on rota: a run, several `rota run wait` processes, four participants
// reporting `init` (and two non-participants refused); then 100 participants from 4 processes.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { Keys } from '../../src/engine/keys.js';
import { createRun, getRun } from '../../src/engine/runs/runs.js';
import { WriteOnce } from '../../src/engine/write-once.js';
import { useEtcdFleet } from '../helpers/fleet.js';
import { exited, spawnTracked, waitFor } from '../helpers/processes.js';
import { rotaBin, root, startRota } from '../helpers/rota-process.js';

describe('runs on etcd', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();

  it('zookeeper-exp1: every waiter sees the transition; non-participants are refused and change nothing', async () => {
    const node = await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--no-worker']);
    fleet.nodes.push(node);
    const rota = (...args: string[]) => spawnSync(process.execPath, [rotaBin, ...args, '--api', node.api!], { cwd: root, encoding: 'utf8' });
    const created = rota('run', 'create', 'run-1235', '--nodes', 'node1=1,2,4', '--nodes', 'node2=2', '--states', 'init,provisioning,executing,ready');
    assert.equal(created.status, 0, created.stderr);
    const waiters = [0, 1, 2].map(() => spawnTracked(process.execPath, [rotaBin, 'run', 'wait', 'run-1235', '--api', node.api!], { cwd: root, stdio: ['ignore', 'pipe', 'pipe'] }));
    const outputs = waiters.map((w) => {
      let out = '';
      w.stdout!.on('data', (d) => (out += d));
      return () => out;
    });
    await new Promise((r) => setTimeout(r, 1500)); // the waiters connect
    const refused: string[] = [];
    // The seed's loop: every node with every index, including node2/1 and node2/4.
    for (const n of ['node1', 'node2']) {
      for (const i of [1, 2, 4]) {
        const r = rota('run', 'complete', 'run-1235', '--node', n, '--index', String(i), '--state', 'init');
        if (r.status !== 0) refused.push(`${n}/${i}: ${r.stderr.trim()}`);
      }
    }
    assert.deepEqual(refused.map((r) => r.split(':')[0]), ['node2/1', 'node2/4']);
    assert.match(refused[0], /node2\/1 is not a participant of run run-1235 \(participants: node1 \[1 2 4\], node2 \[2\]\)/);
    await Promise.all(waiters.map((w) => exited(w)));
    for (const out of outputs) assert.equal(out().trim(), 'run-1235 provisioning (round 2)');
    const show = rota('run', 'show', 'run-1235', '--json');
    const run = JSON.parse(show.stdout);
    assert.equal(run.state, 'provisioning');
    assert.deepEqual(run.pending, ['node1/1', 'node1/2', 'node1/4', 'node2/2'], 'the refused reports changed nothing');
  });

  it('100 participants in 4 processes reporting at once advance the run exactly once per round', async () => {
    const keys = new Keys('/work/');
    const participants = Object.fromEntries(['p0', 'p1', 'p2', 'p3'].map((n) => [n, Array.from({ length: 25 }, (_, i) => i)]));
    const states = ['init', 'provisioning', 'executing', 'ready'];
    await createRun(new WriteOnce(fleet.store, keys), keys, { id: 'crowd', participants, states }, Date.now());
    const procs = Object.keys(participants).map((n) =>
      spawnTracked(process.execPath, ['--import', 'tsx', 'test/fixtures/run-reporter.ts', fleet.etcd.endpoints[0], '/work/', 'crowd', n, '25', states.slice(0, 3).join(',')], { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] }),
    );
    const outs = procs.map((p) => {
      let out = '';
      p.stdout!.on('data', (d) => (out += d));
      return () => out;
    });
    await Promise.all(procs.map((p) => exited(p)));
    const advances = outs.flatMap((o) => o().split('\n').filter(Boolean)).sort();
    assert.deepEqual(advances, ['advanced executing', 'advanced init', 'advanced provisioning']);
    const run = await waitFor(async () => {
      const r = await getRun(new WriteOnce(fleet.store, keys), keys, 'crowd');
      return r.state === 'ready' ? r : undefined;
    }, 5000, 'the run to be ready');
    assert.deepEqual(run.history.map((h) => [h.state, h.round]), [['init', 1], ['provisioning', 2], ['executing', 3], ['ready', 4]]);
  });
});
