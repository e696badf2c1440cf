// GET /metrics as Prometheus scrapes it: the text parses, names follow the conventions, values move
// as the fleet does (an item claimed, a task finished, a worker crashed), and it is under the token
// unless --metrics-public lets a scraper in without it.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { waitFor } from '../helpers/processes.js';
import { parseMetrics, sumOf } from '../helpers/prometheus.js';
import { startRota, type RotaProcess } from '../helpers/rota-process.js';

const parse = parseMetrics;
const sum = sumOf;

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
    assert.equal(sum(after, 'rota_tasks_submitted_total'), 1);
    assert.equal(sum(after, 'rota_task_wait_seconds_count'), 1, 'its wait from submission to start');
    assert.ok(sum(after, 'rota_task_wait_seconds_sum') < 5);
    await waitFor(async () => sum(await scrape(), 'rota_items', 'kind="task",state="finished"') === 1, 5000, 'one task finished');
    const counted = await scrape();
    assert.equal(sum(counted, 'rota_items', 'kind="service",state="running"'), 1, 'one service running');
    assert.equal(sum(counted, 'rota_items', 'kind="task",state="pending"'), 0);
    assert.equal(sum(counted, 'rota_watch_lag_revisions'), 0, 'the leader has seen its own writes');
    assert.equal(sum(counted, 'rota_guarded_children'), 0, 'no child runs (the task ended; the service runs no command)');
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
    assert.ok(sum(await scrape(), 'rota_assignments_total', 'reason="lost"') >= 1, 'a move because its worker was lost');

    // A task running when its worker crashes is recorded lost; its child ran under the guard meanwhile.
    assert.equal((await fetch(`${up.api}/workers`, { method: 'POST' })).status, 201);
    const long = await fetch(`${up.api}/work`, { method: 'POST', body: JSON.stringify({ id: 'long', content: 'long', kind: 'task', command: [process.execPath, '-e', 'setTimeout(() => {}, 60000)'], maxAttempts: 1 }), headers: { 'content-type': 'application/json' } });
    assert.equal(long.status, 201);
    const runner = await waitFor(async () => ((await (await fetch(`${up.api}/work/long`)).json()) as { claimedBy?: string }).claimedBy, 10_000, 'the long task to run');
    await waitFor(async () => sum(await scrape(), 'rota_guarded_children') === 1, 5000, 'its child counted under the guard');
    assert.equal((await fetch(`${up.api}/workers/${runner}?crash=true`, { method: 'DELETE' })).status, 204);
    await waitFor(async () => sum(await scrape(), 'rota_tasks_lost_total') === 1, 10_000, 'the attempt recorded lost');
    await waitFor(async () => sum(await scrape(), 'rota_guarded_children') === 0, 5000, 'the crashed worker\'s child gone');

    // Draining moves the item for that reason (a worker added so that there is somewhere to go).
    assert.equal((await fetch(`${up.api}/workers`, { method: 'POST' })).status, 201);
    const service = await waitFor(async () => ((await (await fetch(`${up.api}/work`)).json()) as Array<{ content: string; claimedBy?: string }>).find((i) => i.content === 'one item' && i.claimedBy), 10_000, 'the item running');
    assert.equal(sum(await scrape(), 'rota_assignments_total', 'reason="drained"'), 0);
    assert.equal((await fetch(`${up.api}/workers/${service.claimedBy}/drain`, { method: 'POST' })).status, 200);
    await waitFor(async () => sum(await scrape(), 'rota_assignments_total', 'reason="drained"') === 1, 10_000, 'a move because its worker drains');
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
