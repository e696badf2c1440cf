// The chaos runner (scripts/chaos): first its double-run detector, on processes this test starts
// (it must see a double run, and nothing else); then a whole run of it, 60 s of faults on a real
// etcd and three `rota node --exec` processes, which must end with no violation.
// ROTA_CHAOS_SECONDS and ROTA_CHAOS_SEED change the run (a failure prints its seed to replay it).
import assert from 'node:assert/strict';
import { spawn, type ChildProcess } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import path from 'node:path';
import readline from 'node:readline';
import { after, describe, it } from 'node:test';
import type { Figures } from '../scripts/chaos/report.js';
import { killTagged, RUN_TAG } from '../scripts/chaos/procfs.js';
import { Sampler, type Snapshot } from '../scripts/chaos/sampler.js';
import { exited, waitFor } from './helpers/processes.js';
import { root } from './helpers/rota-process.js';

describe('the chaos sampler', () => {
  const tag = `chaos-test-${randomBytes(4).toString('hex')}`;
  const sampler = new Sampler(tag);
  after(async () => {
    killTagged(tag);
    await sampler.stop();
  });
  /** A shell (and a grandchild sleep) as an item's run: tagged with the run, an item and a token. */
  const run = (item: string, token: string, worker: string) =>
    spawn('/bin/sh', ['-c', 'sleep 600 & wait'], { detached: true, stdio: 'ignore', env: { ...process.env, [RUN_TAG]: tag, ROTA_WORK_ID: item, ROTA_FENCING_TOKEN: token, ROTA_WORKER_ID: worker } });
  const seen = (s: Snapshot, item: string) => [...(s.get(item)?.keys() ?? [])].sort();

  it('counts two tokens of one item alive at once as a double run, and one run of two processes once', async () => {
    const a = run('a', '10', 'w1');
    await waitFor(async () => (await sampler.sample()).snapshot.get('a')?.get('10')?.pids.length === 2, 5000, 'the shell and its sleep');
    let { figures } = await sampler.sample();
    assert.equal(figures.doubleRunSamples, 0, 'one run (a shell and its grandchild) is not a double run');
    const b = run('a', '12', 'w2');
    await waitFor(async () => seen((await sampler.sample()).snapshot, 'a').length === 2, 5000, 'both runs of a');
    ({ figures } = await sampler.sample());
    assert.ok(figures.doubleRunSamples > 0);
    assert.deepEqual([...figures.doubleRuns.keys()], ['a 10+12']);
    assert.match(figures.doubleRuns.get('a 10+12')!, /token 10 on w1 .* \| token 12 on w2/);
    for (const p of [a, b]) process.kill(-p.pid!, 'SIGKILL');
    await Promise.all([exited(a), exited(b)]);
  });

  it('does not count a stopped process, nor processes of another run', async () => {
    const stopped = run('s', '21', 'w2');
    const other = spawn('sleep', ['600'], { detached: true, stdio: 'ignore', env: { ...process.env, [RUN_TAG]: 'another-run', ROTA_WORK_ID: 's', ROTA_FENCING_TOKEN: '22' } });
    const procs = [stopped, other];
    try {
      await waitFor(async () => seen((await sampler.sample()).snapshot, 's').join() === '21', 5000, 'the first run of s');
      process.kill(-stopped.pid!, 'SIGSTOP');
      await waitFor(async () => seen((await sampler.sample()).snapshot, 's').length === 0, 5000, 'the stopped run to be left out');
      const before = (await sampler.sample()).figures.doubleRunSamples;
      procs.push(run('s', '20', 'w1'));
      await waitFor(async () => seen((await sampler.sample()).snapshot, 's').join() === '20', 5000, 'the second run of s');
      for (let i = 0; i < 10; i++) assert.deepEqual(seen((await sampler.sample()).snapshot, 's'), ['20']);
      assert.equal((await sampler.sample()).figures.doubleRunSamples, before);
    } finally {
      for (const p of procs) {
        process.kill(-p.pid!, 'SIGKILL');
        process.kill(-p.pid!, 'SIGCONT');
      }
      await Promise.all(procs.map(exited));
    }
  });
});

const SECONDS = Number(process.env.ROTA_CHAOS_SECONDS ?? 60);

describe('a chaos run', { timeout: (SECONDS + 240) * 1000 }, () => {
  const tag = `chaos-${randomBytes(4).toString('hex')}`;
  let runner: ChildProcess | undefined;
  after(() => {
    // Whatever happened, nothing of the run stays: the runner's group, then every tagged process.
    if (runner?.pid && runner.exitCode === null && runner.signalCode === null) {
      try {
        process.kill(-runner.pid, 'SIGKILL');
      } catch {
        // gone
      }
    }
    killTagged(tag);
  });

  it(`of ${SECONDS} s breaks no promise: no double run, no orphan, nothing unclaimed or lost`, async () => {
    const args = ['--import', 'tsx', path.join(root, 'scripts/chaos/main.ts'), '--seconds', String(SECONDS), '--nodes', '3', '--run', tag];
    if (process.env.ROTA_CHAOS_SEED) args.push('--seed', process.env.ROTA_CHAOS_SEED);
    runner = spawn(process.execPath, args, { cwd: root, detached: true, stdio: ['ignore', 'pipe', 'pipe'] });
    const err: string[] = [];
    readline.createInterface({ input: runner.stderr! }).on('line', (l) => {
      err.push(l);
      if (process.env.ROTA_TEST_VERBOSE) console.log(l);
    });
    let out = '';
    runner.stdout!.setEncoding('utf8').on('data', (d: string) => (out += d));
    const code = await new Promise<number | null>((resolve) => runner!.once('exit', (c) => resolve(c)));
    const line = out.trim().split('\n').pop() ?? '';
    let figures: Figures;
    try {
      figures = JSON.parse(line) as Figures;
    } catch {
      assert.fail(`the runner printed no figures (exit ${code}):\n${err.slice(-30).join('\n')}`);
    }
    console.log(`# chaos figures: ${line}`);
    const why = `${(figures.violations ?? []).join('; ')}\nseed ${figures.seed} (replay: npm run chaos -- --seconds ${SECONDS} --seed ${figures.seed}); the figures are printed above\n${err.slice(-12).join('\n')}`;
    assert.ok(figures.samples > SECONDS * 10, `the sampler took only ${figures.samples} samples; ${why}`);
    assert.ok(figures.runsSeen > 0, `the sampler saw no item run; ${why}`);
    assert.deepEqual(figures.missingFaults, [], `fault kinds never injected; ${why}`);
    assert.equal(figures.doubleRunSamples, 0, `double runs; ${why}`);
    assert.equal(figures.orphans, 0, `orphans; ${why}`);
    assert.equal(figures.unregistered, 0, `nodes not registered as workers; ${why}`);
    assert.equal(figures.unclaimed, 0, `unclaimed items; ${why}`);
    assert.equal(figures.stray, 0, `deleted items still running; ${why}`);
    assert.equal(figures.lost, 0, `lost items; ${why}`);
    assert.ok(figures.settledMs !== null && figures.settledMs <= figures.settleDeadlineMs, `not settled within TTL + 3 s; ${why}`);
    assert.deepEqual(figures.violations, [], why);
    assert.equal(code, 0, why);
  });
});
