// The API's promises as users meet them, with real `rota` processes: protected mode on a
// non-loopback address, the 1.5 KB matrix that used to take a node down, and the exit codes of
// `rota job results` that a CI script relies on.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import http from 'node:http';
import { after, before, describe, it } from 'node:test';
import { spawnTracked, waitFor } from '../helpers/processes.js';
import { rawRequest } from '../helpers/raw-http.js';
import { api, root, rotaBin, startRota, type RotaProcess } from '../helpers/rota-process.js';

const rota = (args: string[], timeout = 15_000) => spawnSync(process.execPath, [rotaBin, ...args], { cwd: root, encoding: 'utf8', timeout, env: { ...process.env, ROTA_TOKEN: '' } });

describe('protected mode', { timeout: 60_000 }, () => {
  it('refuses to serve the API on a non-loopback address without a token, and says why', () => {
    for (const args of [
      ['up', '--memory', '--host', '0.0.0.0', '--port', '0', '--workers', '0'],
      ['node', '--host', '0.0.0.0', '--port', '0', '--etcd', 'http://127.0.0.1:9'],
      ['up', '--memory', '--host', '::', '--port', '0', '--workers', '0'],
    ]) {
      const r = rota(args);
      assert.equal(r.status, 1, `${args.join(' ')}: exit ${r.status}\n${r.stdout}${r.stderr}`);
      assert.match(r.stderr, /protected mode/);
      assert.match(r.stderr, /--token/);
      assert.match(r.stderr, /--insecure/);
      assert.doesNotMatch(r.stdout + r.stderr, /API listening/);
    }
  });

  it('serves on a non-loopback address with --token, or with --insecure (and warns)', async () => {
    const withToken = await startRota(['up', '--memory', '--host', '0.0.0.0', '--port', '0', '--workers', '0', '--token', 't0ken'], { expectWorker: false });
    try {
      const port = new URL(withToken.api!).port;
      assert.equal((await rawRequest(`http://127.0.0.1:${port}`, { method: 'GET', path: '/status' })).status, 401);
      assert.equal((await rawRequest(`http://127.0.0.1:${port}`, { method: 'GET', path: '/status', headers: { authorization: 'Bearer t0ken' } })).status, 200);
    } finally {
      await withToken.stop();
    }
    const insecure = await startRota(['up', '--memory', '--host', '0.0.0.0', '--port', '0', '--workers', '0', '--insecure'], { expectWorker: false });
    try {
      assert.ok(insecure.lines.some((l) => /--insecure.*anyone/.test(l)), insecure.lines.join('\n'));
      const port = new URL(insecure.api!).port;
      assert.equal((await rawRequest(`http://127.0.0.1:${port}`, { method: 'GET', path: '/status' })).status, 200);
    } finally {
      await insecure.stop();
    }
  });
});

describe('a rota up node', { timeout: 120_000 }, () => {
  let up: RotaProcess;
  before(async () => {
    up = await startRota(['up', '--memory', '--port', '0', '--workers', '1', '--ttl', '2']);
  });
  after(async () => {
    await up?.kill();
  });

  it('answers a request that is not valid HTTP with a 400 the client reads, even while its body is still coming', async () => {
    // Found by the fuzzer: a socket closed with unread bytes is reset, and the client lost the answer.
    const port = Number(new URL(up.api!).port);
    const outcomes: string[] = [];
    for (let i = 0; i < 30; i++) {
      outcomes.push(
        await new Promise<string>((resolve) => {
          const req = http.request({ host: '127.0.0.1', port, method: 'FOO', path: '/runs/r/complete', headers: { 'content-type': 'text/plain' } }, (res) => {
            res.resume();
            res.on('end', () => resolve(String(res.statusCode)));
          });
          req.on('error', (err) => resolve(`no answer: ${err.message}`));
          req.end('{"a":'.repeat(140_000));
        }),
      );
    }
    assert.deepEqual(outcomes, Array(30).fill('400'));
  });

  it('refuses the 1.5 KB matrix of 312 million tasks at once and keeps answering /healthz', async () => {
    const v = Array.from({ length: 50 }, (_, i) => String(i));
    const spec = JSON.stringify({ name: 'p', command: ['true'], matrix: { a: v, b: v, c: v, d: v, e: v } });
    assert.ok(spec.length < 1600);
    const [r, health] = await Promise.all([
      rawRequest(up.api!, { method: 'POST', path: '/jobs', body: spec, headers: { 'content-type': 'application/json' }, timeoutMs: 5000 }),
      new Promise((resolve) => setTimeout(resolve, 50)).then(() => rawRequest(up.api!, { method: 'GET', path: '/healthz', timeoutMs: 5000 })),
    ]);
    assert.equal(r.status, 413, r.text);
    assert.match(r.json.message, /jobTasks/);
    assert.ok(health.ms < 1000, `/healthz answered in ${Math.round(health.ms)} ms`);
    assert.deepEqual((await api(up.api!, 'GET', '/jobs')).body, []);
  });

  const submit = async (spec: object) => {
    const r = await api(up.api!, 'POST', '/jobs', JSON.stringify(spec), 'application/json');
    assert.equal(r.status, 201, JSON.stringify(r.body));
    return r.body.id as string;
  };
  const results = (job: string, ...extra: string[]) => rota(['job', 'results', job, '--api', up.api!, ...extra], 60_000);

  it('`rota job results` exits 2 while a task waits for a retry, and --wait waits for the end (1: a task failed)', async () => {
    const job = await submit({ name: 'retry', command: ['sh', '-c', 'exit 3'], matrix: { n: ['1'] }, maxAttempts: 2, backoffMs: 15000 });
    await waitFor(async () => ((await api(up.api!, 'GET', `/jobs/${job}/tasks`)).body[0]?.attempts ?? 0) >= 1, 10_000, 'the first attempt to fail');
    const waiting = results(job);
    assert.equal(waiting.status, 2, `a task waiting for its retry: exit ${waiting.status}\n${waiting.stdout}${waiting.stderr}`);
    assert.match(waiting.stderr, /has not finished/);
    const started = Date.now();
    const final = await new Promise<{ code: number | null; out: string }>((resolve) => {
      const child = spawnTracked(process.execPath, [rotaBin, 'job', 'results', job, '--wait', '--api', up.api!], { cwd: root });
      let out = '';
      child.stdout!.on('data', (d) => (out += d));
      child.once('exit', (code) => resolve({ code, out }));
    });
    assert.equal(final.code, 1, `the task failed for good: exit ${final.code}\n${final.out}`);
    assert.match(final.out, new RegExp(`${job}\\.0\\s+failed`));
    assert.ok(Date.now() - started > 500, '--wait waited for the retry');
  });

  it('`rota job results` exits 2 while a task runs and 0 once every task succeeded', async () => {
    const job = await submit({ name: 'slow', command: ['sh', '-c', 'sleep 8'], matrix: { n: ['1'] } });
    const running = results(job);
    assert.equal(running.status, 2, `${running.stdout}${running.stderr}`);
    const done = results(job, '--wait', '--json');
    assert.equal(done.status, 0, `${done.stdout}${done.stderr}`);
    assert.equal(JSON.parse(done.stdout)[0].status, 'succeeded');
    assert.equal(results(job).status, 0);
  });

  it('says what the exit codes mean in its help', () => {
    const help = rota(['job', 'results', '--help']);
    assert.match(help.stdout, /0\s+the job has finished and every task succeeded/);
    assert.match(help.stdout, /1\s+the job has finished and a task failed/);
    assert.match(help.stdout, /2\s+the job has not finished/);
  });
});
