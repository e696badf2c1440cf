// A new user's first hour, from the CLI: every slip gets a message that names the flag or the fix
// (a taken port, a data directory in use, an --api without http://, etcd not up, a misspelt job
// field, an exclude that matches nothing, an empty POST), and ids are taken by any unique start.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { freePort, tempDir, waitFor } from '../helpers/processes.js';
import { scrape, sumOf } from '../helpers/prometheus.js';
import { api, root, rotaBin, startRota, type RotaProcess } from '../helpers/rota-process.js';

/** Runs the CLI to its end; returns its exit code and what it printed. */
const cli = (args: string[], cwd = root) => {
  const r = spawnSync(process.execPath, [rotaBin, ...args], { cwd, encoding: 'utf8', timeout: 20_000 });
  return { code: r.status, out: r.stdout, err: r.stderr };
};

describe("a new user's first hour", { timeout: 120_000 }, () => {
  const procs: RotaProcess[] = [];
  const tmp = tempDir('first-hour');
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    tmp.remove();
  });

  it('says what to do when the port is taken or the data directory is in use', async () => {
    const up = await startRota(['up', '--port', '0', '--workers', '1', '--data-dir', path.join(tmp.dir, 'data')]);
    procs.push(up);
    const port = new URL(up.api!).port;
    const taken = cli(['up', '--memory', '--port', port, '--workers', '0']);
    assert.equal(taken.code, 1);
    assert.match(taken.err, new RegExp(`port ${port} on 127.0.0.1 is taken .*--port \\(rota up --port 3001; with npm: npm start -- --port 3001\\)`));
    const inUse = cli(['up', '--port', '0', '--workers', '0', '--data-dir', path.join(tmp.dir, 'data')]);
    assert.equal(inUse.code, 1);
    assert.match(inUse.err, /is in use by process \d+ .*--data-dir DIR.*--memory/);

    // --api without http:// is taken as it is meant.
    const status = cli(['status', '--api', `localhost:${port}`]);
    assert.equal(status.code, 0, status.err);
    assert.match(status.out, /items: 0 \(0 running, 0 waiting, 0 finished tasks\)/);
    assert.match(status.out, /WORKER +HOST +RUNNING +SHARE/);
    assert.match(cli(['status', '--api', 'ftp://x']).err, /speaks http:\/\/ or https:\/\//);
  });

  it('names the job field meant, refuses an exclude that matches nothing, and an empty POST /work', async () => {
    const up = procs[0];
    const spec = path.join(tmp.dir, 'job.yaml');
    fs.writeFileSync(spec, 'name: e2e\ncomand: [echo, "{spec}"]\nmatrix:\n  spec: [a, b]\n');
    const typo = cli(['job', 'submit', spec, '--api', up.api!]);
    assert.equal(typo.code, 1);
    assert.match(typo.err, /line 2: unknown field "comand" \(did you mean command\?\)/);
    fs.writeFileSync(spec, 'name: e2e\ncommand: [echo, "{spec}"]\ntimeout: 600\nmatrix:\n  spec: [a, b]\n');
    assert.match(cli(['job', 'submit', spec, '--api', up.api!]).err, /line 3: unknown field "timeout" \(did you mean timeoutMs \(milliseconds\)\?\)/);
    fs.writeFileSync(spec, 'name: e2e\ncommand: [echo, "{spec}"]\nmatrix:\n  spec: [a, b]\nexclude:\n  - {spec: c}\n');
    assert.match(cli(['job', 'submit', spec, '--api', up.api!]).err, /line 6: exclude\[0\]: spec "c" matches no task \(the values of spec are a, b\)/);
    // A command as one shell line runs, its matrix values as data.
    fs.writeFileSync(spec, 'name: shell\ncommand: sh -c "echo got {spec}"\nmatrix:\n  spec: [a, "b; echo injected"]\n');
    const ran = cli(['job', 'submit', spec, '--wait', '--api', up.api!]);
    assert.equal(ran.code, 0, ran.err);
    const results = cli(['job', 'results', ran.out.trim().split('\n')[0], '--json', '--api', up.api!]);
    const outputs = (JSON.parse(results.out) as Array<{ result?: { output: string } }>).map((t) => t.result?.output.trim()).sort();
    assert.deepEqual(outputs, ['got a', 'got b; echo injected']);

    const empty = await fetch(`${up.api}/work`, { method: 'POST' });
    assert.equal(empty.status, 400);
    assert.match(((await empty.json()) as { message: string }).message, /has no body: send the item's content as the body \(curl -d/);
  });

  it('follows events by a prefix written as etcdctl shows keys (/work/registry/), or refuses one of another pool', async () => {
    const up = procs[0];
    const other = await fetch(`${up.api}/events?prefix=/other/registry/`);
    assert.equal(other.status, 400);
    assert.match(((await other.json()) as { message: string }).message, /is not in this pool \(\/work\/\): give it relative to the pool, e\.g\. registry\//);
    const abort = new AbortController();
    const res = await fetch(`${up.api}/events?prefix=/work/registry/`, { signal: abort.signal });
    assert.equal(res.status, 200);
    const reader = res.body!.getReader();
    assert.equal((await api(up.api!, 'POST', '/work', 'followed')).status, 201);
    let text = '';
    while (!/"key":"registry\//.test(text)) text += new TextDecoder().decode((await reader.read()).value);
    abort.abort();
  });

  it('takes any unique start of an id: workers, items, jobs, runs', async () => {
    const up = procs[0];
    const workers = (await api(up.api!, 'GET', '/workers')).body as Array<{ id: string }>;
    const w = workers[0].id;
    const drained = cli(['worker', 'drain', w.slice(0, 8), '--api', up.api!]);
    assert.equal(drained.code, 0, drained.err);
    assert.equal(((await api(up.api!, 'GET', `/workers/${w}`)).body as { config: { draining?: boolean } }).config.draining, true);
    assert.equal(cli(['worker', 'undrain', w.slice(0, 8), '--api', up.api!]).code, 0);
    assert.equal(((await api(up.api!, 'GET', `/workers/${w}`)).body as { config: { draining?: boolean } }).config.draining ?? false, false);

    for (const id of ['alpha-one-1', 'alpha-one-2', 'beta-three-1']) assert.equal((await api(up.api!, 'POST', '/work', JSON.stringify({ id, content: id }), 'application/json')).status, 201);
    // A command that deletes takes a start of 8 characters or more: "bet" could be meant for an id that is gone.
    const short = cli(['work', 'rm', 'bet', '--api', up.api!]);
    assert.equal(short.code, 1);
    assert.match(short.err, /work bet does not exist/);
    assert.equal(cli(['work', 'rm', 'beta-thr', '--api', up.api!]).code, 0);
    assert.equal((await api(up.api!, 'GET', '/work/beta-three-1')).status, 404);
    const ambiguous = cli(['work', 'rm', 'alpha-on', '--api', up.api!]);
    assert.equal(ambiguous.code, 1);
    assert.match(ambiguous.err, /"alpha-on" is the start of 2 work ids \(alpha-one-1, alpha-one-2\): give more of it/);
    assert.equal((await api(up.api!, 'GET', '/work/alpha-one-1')).status, 200, 'nothing removed');
    // Reading takes any start.
    assert.match(cli(['work', 'ls', '--api', up.api!]).out, /alpha-one-1/);

    assert.equal((await api(up.api!, 'POST', '/runs', JSON.stringify({ id: 'release-42', participants: { a: [0] }, states: ['one', 'two'] }), 'application/json')).status, 201);
    const shown = cli(['run', 'show', 'release', '--api', up.api!]);
    assert.equal(shown.code, 0, shown.err);
    assert.match(shown.out, /release-42/);
    const job = cli(['job', 'ls', '--api', up.api!]).out.match(/shell-\S+/)![0];
    assert.match(cli(['job', 'results', job.slice(0, 7), '--api', up.api!]).out, new RegExp(`${job.replace('.', '\\.')}\\.0 +succeeded`));
  });

  it('a restarted rota up settles without moving anything: the same workers, their items where they ran', async () => {
    const dir = path.join(tmp.dir, 'restart');
    const first = await startRota(['up', '--port', '0', '--workers', '3', '--data-dir', dir]);
    const ids = Array.from({ length: 19 }, (_, i) => `svc-${i}`);
    assert.equal((await api(first.api!, 'POST', '/work', JSON.stringify(ids.map((id) => ({ id, content: id }))), 'application/json')).status, 201);
    const owners = async (base: string) => new Map(((await api(base, 'GET', '/work')).body as Array<{ id: string; claimedBy?: string }>).map((w) => [w.id, w.claimedBy]));
    const claimedAll = async (base: string) => [...(await owners(base)).values()].filter(Boolean).length === ids.length;
    await waitFor(() => claimedAll(first.api!), 10_000, 'every item running');
    const before = await owners(first.api!);
    await first.stop();
    const second = await startRota(['up', '--port', '0', '--workers', '3', '--data-dir', dir]);
    procs.push(second);
    await waitFor(() => claimedAll(second.api!), 10_000, 'every item running again');
    await new Promise((r) => setTimeout(r, 1000)); // a late round would move them now
    assert.deepEqual(await owners(second.api!), before, 'each item on the worker it ran on');
    const m = await scrape(second.api!);
    for (const reason of ['placed', 'balanced', 'lost', 'drained']) assert.equal(sumOf(m, 'rota_assignments_total', `reason="${reason}"`), 0, `assignments for ${reason}`);
  });

  it('rota node answers while etcd is not up, and says whom it waits for', async () => {
    const port = await freePort();
    const node = await startRota(['node', '--etcd', `http://127.0.0.1:${port}`, '--port', '0'], { expectWorker: false });
    procs.push(node);
    const r = await fetch(`${node.api}/healthz`);
    assert.equal(r.status, 503);
    assert.deepEqual(((await r.json()) as { reasons: string[] }).reasons, [`waiting for etcd at http://127.0.0.1:${port} to answer`]);
    await node.waitForLine(/waiting for etcd at .* \(is it running\? --etcd or \$ROTA_ETCD names it\)/, 10_000);
    const work = await fetch(`${node.api}/work`);
    assert.equal(work.status, 503);
    assert.match(((await work.json()) as { message: string }).message, /cannot reach etcd at/);
  });
});
