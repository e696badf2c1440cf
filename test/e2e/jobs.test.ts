// Finite work end to end on a real etcd with `rota node` processes: the funkytown matrix, a worker
// killed mid-task, the leader killed mid-job, and `--until-idle`.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import type { JobTask } from '../../src/client/types.js';
import { Keys } from '../../src/engine/keys.js';
import { taskPlacements } from '../../src/engine/tasks/batch-reads.js';
import { useEtcdFleet } from '../helpers/fleet.js';
import { assertNoOverlap, readRecords } from '../helpers/intervals.js';
import { exited, tempDir, waitFor } from '../helpers/processes.js';
import { api, rotaBin, root, startRota, type RotaProcess } from '../helpers/rota-process.js';

const TTL = 2;
const keys = new Keys('/work/');
// Each task notes its start and (on SIGTERM, or at its end) its stop, with id, worker and token.
const rec = (file: string) =>
  `rec() { printf '{"op":"%s","id":"%s","worker":"%s","token":%s,"pid":%s,"at":%s}\\n' "$1" "$ROTA_WORK_ID" "$ROTA_WORKER_ID" "$ROTA_FENCING_TOKEN" $$ $(($(date +%s%N)/1000000)) >> "${file}"; }; trap 'rec stop; exit 143' TERM; rec start`;

describe('tasks and jobs on etcd', { timeout: 240_000 }, () => {
  const fleet = useEtcdFleet();
  const tmp = tempDir('jobs');
  after(() => tmp.remove());
  const startNode = async (extra: string[] = []) => {
    const n = await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--ttl', String(TTL), '--capacity', '3', ...extra]);
    fleet.nodes.push(n);
    return n;
  };
  const cli = (...args: string[]) => spawnSync(process.execPath, [rotaBin, ...args, '--api', fleet.nodes[0].api!], { cwd: root, encoding: 'utf8' });
  const tasksOf = async (job: string) => (await api(fleet.nodes[0].api!, 'GET', `/jobs/${job}/tasks`)).body as JobTask[];
  const waitDone = (job: string, ms = 60_000) =>
    waitFor(async () => {
      const j = (await api(fleet.nodes[0].api!, 'GET', `/jobs/${job}`)).body;
      return j.done === j.total ? j : undefined;
    }, ms, `job ${job} to finish`);
  const kill = async (n: RotaProcess) => {
    await n.kill();
    fleet.nodes.splice(fleet.nodes.indexOf(n), 1);
  };

  it('runs the funkytown matrix: 10 tasks, values as separate argv and env, failures by value retried then failed', async () => {
    await startNode();
    await startNode();
    const spec = path.join(tmp.dir, 'e2e.yaml');
    fs.writeFileSync(
      spec,
      [
        'name: e2e',
        // $1/$2 are whole argv elements from the template; the shell script itself never changes.
        'command: ["sh", "-c", "echo run $0 on $1/$2 with $ROTA_MATRIX_BROWSER; [ \\"$2\\" != webkit ] || [ \\"$1\\" != mobile ]", "{spec}", "{viewport}", "{browser}"]',
        'matrix:',
        '  spec: [login.spec.ts, cart.spec.ts]',
        '  viewport: [desktop, mobile]',
        '  browser: [chromium, firefox, webkit]',
        'exclude:',
        '  - { viewport: mobile, browser: firefox }',
        'timeoutMs: 600000',
        'maxAttempts: 2',
        'backoffMs: 100',
      ].join('\n'),
    );
    const submit = cli('job', 'submit', spec, '--wait');
    assert.equal(submit.status, 1, `--wait exits 1 when a task failed:\n${submit.stdout}${submit.stderr}`);
    const job = submit.stdout.split('\n')[0].trim();
    assert.match(submit.stdout, /10\/10 100%/);
    const tasks = await tasksOf(job);
    assert.equal(tasks.length, 10);
    assert.deepEqual(tasks.map((t) => t.id), Array.from({ length: 10 }, (_, i) => `${job}.${i}`));
    for (const t of tasks) {
      const bad = t.values.viewport === 'mobile' && t.values.browser === 'webkit';
      assert.equal(t.status, bad ? 'failed' : 'succeeded', `${t.id} ${JSON.stringify(t.values)}`);
      assert.equal(t.attempts, bad ? 2 : 1);
      assert.match(t.result!.output, new RegExp(`run ${t.values.spec.replace('.', '\\.')} on ${t.values.viewport}/${t.values.browser} with ${t.values.browser}`));
    }
    assert.ok(!tasks.some((t) => t.values.viewport === 'mobile' && t.values.browser === 'firefox'), 'excluded combination absent');
    const results = cli('job', 'results', job);
    assert.equal(results.status, 1, 'results exit 1 when a task failed');
    assert.match(results.stdout, /TASK\s+STATUS\s+DURATION\s+ATTEMPTS\s+SPEC\s+VIEWPORT\s+BROWSER/);
    assert.equal(results.stdout.trim().split('\n').length, 11);
  });

  it('the leader killed mid-job: the job completes, every task once at a time, none lost', async () => {
    const record = path.join(tmp.dir, 'leader-kill.jsonl');
    const spec = JSON.stringify({ name: 'steady', command: ['sh', '-c', `${rec(record)}; sleep 0.4 & wait $!; rec stop`], matrix: { n: Array.from({ length: 24 }, (_, i) => i) }, maxAttempts: 3, backoffMs: 100 });
    const submitted = await api(fleet.nodes[0].api!, 'POST', '/jobs', spec, 'application/json');
    assert.equal(submitted.status, 201, JSON.stringify(submitted.body));
    const job = submitted.body.id;
    await waitFor(async () => (await tasksOf(job)).filter((t) => t.status === 'succeeded').length >= 6, 30_000, 'a quarter done');
    const leaderId = (await api(fleet.nodes[0].api!, 'GET', '/status')).body.leader;
    const leader = fleet.nodes.find((n) => n.id === leaderId)!;
    // Kill it while it runs some of the job's tasks itself.
    await waitFor(async () => [...(await taskPlacements(fleet.store, keys))].some(([id, p]) => id.startsWith(job) && p.worker === leaderId && p.token !== undefined), 10_000, 'the leader to run a task');
    // A task the killed leader ran may be SIGKILLed before its TERM trap records its stop (300 ms
    // after the node's death): then its end is when its process was seen gone, polled from /proc.
    const goneAt = new Map<number, number>();
    const watchGone = setInterval(() => {
      for (const r of readRecords(record)) {
        if (r.worker === leaderId && r.pid && !goneAt.has(r.pid) && !fs.existsSync(`/proc/${r.pid}`)) goneAt.set(r.pid, Date.now());
      }
    }, 20);
    let runs: number;
    try {
      await kill(leader);
      await startNode(); // a replacement, so two workers finish the job
      const done = await waitDone(job);
      assert.equal(done.counts.succeeded, 24, JSON.stringify(done.counts));
      ({ runs } = assertNoOverlap(readRecords(record), (r) => (r.worker === leaderId && r.pid ? goneAt.get(r.pid) : undefined)));
    } finally {
      clearInterval(watchGone);
    }
    assert.ok(runs >= 24, `runs recorded: ${runs}`);
    const lost = (await fleet.store.range(`/work/attempts/${job}.`, { prefix: true })).kvs.filter((kv) => JSON.parse(kv.value).end?.reason === 'lost').length;
    console.log(`# leader killed mid-job: ${runs} runs for 24 tasks, ${lost} attempts lost with it and retried`);
    assert.ok(lost >= 1 && runs > 24, 'the tasks the leader ran were lost with it and run again');
  });

  it('a worker SIGKILLed mid-task: the task completes on the other worker with attempts = 2', async () => {
    const marker = path.join(tmp.dir, 'mid-task');
    const t = await api(fleet.nodes[0].api!, 'POST', '/work', JSON.stringify({ content: '', kind: 'task', command: ['sh', '-c', `echo $ROTA_WORKER_ID > "${marker}.$ROTA_ATTEMPT"; sleep 2`], backoffMs: 100 }), 'application/json');
    const first = await waitFor(() => fs.existsSync(`${marker}.1`) && fs.readFileSync(`${marker}.1`, 'utf8').trim(), 10_000, 'the first attempt to start');
    const victim = fleet.nodes.find((n) => n.id === first)!;
    const other = fleet.nodes.find((n) => n !== victim)!;
    await kill(victim);
    const r = await waitFor(async () => (await api(other.api!, 'GET', `/work/${t.body.id}`)).body.result, 20_000, 'the result');
    assert.deepEqual([r.status, r.attempts], ['succeeded', 2]);
    assert.notEqual(r.worker, first);
    const attempts = (await fleet.store.range(`/work/attempts/${t.body.id}/`, { prefix: true })).kvs.map((kv) => JSON.parse(kv.value));
    assert.equal(attempts[0].end.reason, 'lost');
    await startNode();
  });

  it('rota node --until-idle exits 0 once its job is done', async () => {
    const spec = JSON.stringify({ name: 'idle', command: ['sh', '-c', 'sleep 0.2'], matrix: { n: [1, 2, 3, 4, 5, 6] } });
    const submitted = await api(fleet.nodes[0].api!, 'POST', '/jobs', spec, 'application/json');
    const worker = await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--ttl', String(TTL), '--until-idle', '--no-api']);
    fleet.nodes.push(worker);
    await waitDone(submitted.body.id);
    await Promise.race([exited(worker.child), new Promise((r) => setTimeout(r, 10_000))]);
    assert.equal(worker.child.exitCode, 0, `exited with ${worker.child.exitCode}`);
    fleet.nodes.splice(fleet.nodes.indexOf(worker), 1);
  });

  it('rota task add --from FILE adds one task per line in one bulk and each runs to its result', async () => {
    const file = path.join(tmp.dir, 'commands.txt');
    fs.writeFileSync(file, ['# one task per line', 'echo first', '', 'echo second; exit 3', '  echo third  '].join('\n'));
    const added = cli('task', 'add', '--from', file, '--attempts', '1');
    assert.equal(added.status, 0, added.stderr);
    const ids = added.stdout.trim().split('\n');
    assert.equal(ids.length, 3);
    const results = await Promise.all(ids.map((id) => waitFor(async () => (await api(fleet.nodes[0].api!, 'GET', `/work/${id}`)).body.result, 20_000, `the result of ${id}`)));
    assert.deepEqual(results.map((r) => [r.status, r.output.trim()]), [['succeeded', 'first'], ['failed', 'second'], ['succeeded', 'third']]);
    const both = cli('task', 'add', '--from', file, '--exec', 'true');
    assert.equal(both.status, 1);
    assert.match(both.stderr, /--exec.*--from/);
  });
});
