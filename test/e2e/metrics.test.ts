// GET /metrics as Prometheus scrapes it: the text parses, names follow the conventions, values move
// as the fleet does (an item claimed, a task finished, a worker crashed), and it is under the token
// unless --metrics-public lets a scraper in without it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { waitFor } from '../helpers/processes.js';
import { startRota, type RotaProcess } from '../helpers/rota-process.js';

/** Prometheus text → `name{labels}` → value (comments and blank lines skipped). */
function parse(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

/** The sum of every sample of `name` whose labels include `match`. */
function sum(samples: Map<string, number>, name: string, match = ''): number {
  let n = 0;
  for (const [k, v] of samples) if ((k === name || k.startsWith(`${name}{`)) && k.includes(match)) n += v;
  return n;
}

describe('GET /metrics', { timeout: 60_000 }, () => {
  const nodes: RotaProcess[] = [];
  after(async () => Promise.all(nodes.map((n) => n.stop())));

  it('counts what the fleet does, in Prometheus text', async () => {
    const up = await startRota(['up', '--memory', '--port', '0', '--workers', '2', '--ttl', '2']);
    nodes.push(up);
    const scrape = async () => {
      const r = await fetch(`${up.api}/metrics`);
      assert.equal(r.status, 200);
      assert.match(r.headers.get('content-type') ?? '', /^text\/plain; version=0\.0\.4/);
      return parse(await r.text());
    };
    const first = await scrape();
    assert.ok(first.has('process_cpu_user_seconds_total'), 'the default process metrics');
    await waitFor(async () => sum(await scrape(), 'rota_leader') === 1, 10_000, 'the node to lead');
    assert.equal(sum(await scrape(), 'rota_session_healthy'), 2, 'both workers healthy');
    for (const name of (await (await fetch(`${up.api}/metrics`)).text()).match(/^# TYPE rota_\S+ counter$/gm) ?? []) assert.match(name, /_total counter$/, 'counters end in _total');

    const claimed = sum(await scrape(), 'rota_claims_total');
    assert.equal((await fetch(`${up.api}/work`, { method: 'POST', body: 'one item', headers: { 'content-type': 'text/plain' } })).status, 201);
    await waitFor(async () => sum(await scrape(), 'rota_claims_total') === claimed + 1, 10_000, 'the claim to be counted');

    const task = await fetch(`${up.api}/work`, { method: 'POST', body: JSON.stringify({ content: 'a task', kind: 'task', command: [process.execPath, '-e', 'setTimeout(() => {}, 300)'] }), headers: { 'content-type': 'application/json' } });
    assert.equal(task.status, 201);
    await waitFor(async () => sum(await scrape(), 'rota_tasks_finished_total', 'status="succeeded"') === 1, 15_000, 'the task to be counted');
    const after = await scrape();
    assert.equal(sum(after, 'rota_task_run_seconds_count'), 1);
    assert.ok(sum(after, 'rota_task_run_seconds_sum') >= 0.3, 'it ran 0.3 s at least');
    assert.ok(sum(after, 'rota_store_request_seconds_count', 'op="txn"') > 0, 'store calls are timed');

    assert.ok(sum(after, 'rota_assignments_total', 'reason="placed"') >= 2, 'the item and the task placed');

    // The item's worker crashed: its session is no longer counted healthy, and once its lease ends the item
    // runs elsewhere: one failover, timed from the lease's end to the new claim.
    const items = (await (await fetch(`${up.api}/work`)).json()) as Array<{ content: string; claimedBy?: string }>;
    const holder = items.find((i) => i.content === 'one item')!.claimedBy!;
    assert.equal(sum(after, 'rota_failover_seconds_count'), 0);
    assert.equal((await fetch(`${up.api}/workers/${holder}?crash=true`, { method: 'DELETE' })).status, 204);
    await waitFor(async () => sum(await scrape(), 'rota_session_healthy') === 1, 10_000, 'one healthy worker left');
    await waitFor(async () => sum(await scrape(), 'rota_failover_seconds_count') === 1, 10_000, 'the failover to be timed');
    const failover = sum(await scrape(), 'rota_failover_seconds_sum');
    console.log(`# failover after a crash (TTL 2 s), lease end to new claim: ${failover.toFixed(3)} s`);
    assert.ok(failover > 0 && failover < 5, `a failover of ${failover} s`);
  });

  it('is under the token, unless --metrics-public', async () => {
    const closed = await startRota(['up', '--memory', '--port', '0', '--workers', '0', '--token', 'sekret'], { expectWorker: false });
    nodes.push(closed);
    assert.equal((await fetch(`${closed.api}/metrics`)).status, 401);
    assert.equal((await fetch(`${closed.api}/metrics`, { headers: { authorization: 'Bearer sekret' } })).status, 200);
    const open = await startRota(['up', '--memory', '--port', '0', '--workers', '0', '--token', 'sekret', '--metrics-public'], { expectWorker: false });
    nodes.push(open);
    assert.equal((await fetch(`${open.api}/metrics`)).status, 200);
    assert.equal((await fetch(`${open.api}/work`)).status, 401, 'only /metrics is opened');
  });
});
