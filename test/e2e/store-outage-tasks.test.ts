// Tasks across etcd outages: a node rides out 30 s of etcd being down without exiting; an attempt
// that ended during the outage is recorded once etcd is back (under the claim that ran it) or
// counted lost — never both; API calls fail fast with a plain 503 while etcd is away.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { Keys } from '../../src/engine/keys.js';
import { taskPlacements } from '../../src/engine/tasks/batch-reads.js';
import type { AttemptRecord, TaskResult } from '../../src/engine/tasks/task-model.js';
import type { WatchBatch } from '../../src/store/index.js';
import { useEtcdFleet, type EtcdFleet } from '../helpers/fleet.js';
import { tempDir, waitFor } from '../helpers/processes.js';
import { api, startRota } from '../helpers/rota-process.js';

const TTL = 3;
const keys = new Keys('/work/');
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every change ever made under `prefix` (etcd keeps the history: nothing compacts it here). */
async function history(fleet: EtcdFleet, prefix: string): Promise<WatchBatch[]> {
  // Every write of this test is under `prefix`, so the watch has caught up once it reaches the store's revision.
  const upTo = (await patient(() => fleet.store.range(prefix, { prefix: true, limit: 1 }))).revision;
  const batches: WatchBatch[] = [];
  const watch = fleet.store.watch(prefix, { prefix: true, fromRevision: 1 });
  watch.on('events', (b) => batches.push(b));
  await waitFor(() => watch.lastRevision >= upTo, 5000, 'the whole history');
  await watch.close();
  return batches;
}

/**
 * Per task: every attempt's end was written at most once (ours or the leader's "lost", never both),
 * its result at most once, and the result counts the attempts there are. Returns how they ended.
 */
async function assertEachEndOnce(fleet: EtcdFleet, ids: string[]): Promise<Map<string, { result: TaskResult; ends: string[] }>> {
  const ends = new Map<string, AttemptRecord['end'][]>();
  const results = new Map<string, number>();
  for (const b of await history(fleet, keys.prefix)) {
    for (const ev of b.events) {
      if (ev.type !== 'put') continue;
      if (ev.kv.key.startsWith(keys.attempts)) {
        const rec = JSON.parse(ev.kv.value) as AttemptRecord;
        if (rec.end) ends.set(ev.kv.key, [...(ends.get(ev.kv.key) ?? []), rec.end]);
      }
      if (ev.kv.key.startsWith(keys.results)) results.set(ev.kv.key, (results.get(ev.kv.key) ?? 0) + 1);
    }
  }
  for (const [key, list] of ends) assert.equal(list.length, 1, `${key} ended ${list.length} times: ${JSON.stringify(list)}`);
  const out = new Map<string, { result: TaskResult; ends: string[] }>();
  for (const id of ids) {
    assert.equal(results.get(keys.result(id)), 1, `the result of ${id} was written ${results.get(keys.result(id)) ?? 0} times`);
    const result = JSON.parse((await patient(() => fleet.store.get(keys.result(id))))!.value) as TaskResult;
    // Attempts that may be retried (or were lost) leave a record; the last one is the result.
    const attempts = [...ends].filter(([k]) => k.startsWith(keys.attempt(id))).map(([, l]) => l[0]!.reason);
    const records = (await patient(() => fleet.store.range(keys.attempt(id), { prefix: true }))).kvs.length;
    assert.equal(result.attempts, records + 1, `${id}: the result counts ${result.attempts} attempts, ${records} are recorded before it`);
    out.set(id, { result, ends: [...attempts, result.reason] });
  }
  return out;
}

/** A read by the test itself, retried for a while: just after a restart a loaded etcd may answer late. */
async function patient<T>(read: () => Promise<T>): Promise<T> {
  for (let tries = 1; ; tries++) {
    try {
      return await read();
    } catch (err) {
      if (tries >= 10) throw err;
      await new Promise((resolve) => setTimeout(resolve, 500));
    }
  }
}

describe('tasks across etcd outages', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  const { nodes } = fleet;
  const tmp = tempDir('outage-tasks');
  after(() => tmp.remove());

  /** Adds `n` tasks that run until `trigger` exists; resolves once every one runs (its batch is claimed). */
  const addTasks = async (tag: string, n: number, trigger: string) => {
    const ids = Array.from({ length: n }, (_, i) => `${tag}-${i}`);
    for (const id of ids) {
      const body = JSON.stringify({ id, content: id, kind: 'task', command: ['sh', '-c', `while [ ! -e "${trigger}" ]; do sleep 0.02; done`] });
      const r = await api(nodes[0].api!, 'POST', '/work', body, 'application/json');
      assert.equal(r.status, 201, JSON.stringify(r.body));
    }
    await waitFor(async () => {
      const placed = await taskPlacements(fleet.store, keys);
      return ids.every((id) => placed.get(id)?.token !== undefined);
    }, 20_000, `${tag}: every task running`);
    return ids;
  };

  it('starts two nodes', async () => {
    nodes.push(...(await Promise.all([0, 1].map(() => startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--ttl', String(TTL), '--capacity', '2'])))));
  });

  it('etcd stopped for 30 s while tasks end: no node exits, the API fails fast, each end is recorded once', async () => {
    const trigger = path.join(tmp.dir, 'end-long');
    const ids = await addTasks('long', 4, trigger);
    const member = fleet.etcd.members[0];
    await member.stop();
    const downAt = Date.now();
    fs.writeFileSync(trigger, ''); // every task ends now, before its worker fences itself
    try {
      await sleep(4000);
      // A call while etcd is known to be away answers soon, plainly.
      const t = Date.now();
      const res = await api(nodes[1].api!, 'GET', '/work');
      const took = Date.now() - t;
      console.log(`# GET /work while etcd is down: ${res.status} in ${took} ms: ${res.body?.message}`);
      assert.equal(res.status, 503);
      assert.ok(res.body.message.startsWith(`cannot reach etcd at ${fleet.etcd.endpoints[0]}: `), res.body.message);
      assert.ok(!/breaker/i.test(res.body.message), res.body.message);
      // Not 10 s: about the fail-fast deadline (1.5 s), with room for a loaded machine.
      assert.ok(took <= 3000, `answered in ${took} ms`);
      const health = await fetch(`${nodes[1].api!}/healthz`, { signal: AbortSignal.timeout(1000) });
      assert.equal(health.status, 503);
      await sleep(Math.max(0, downAt + 30_000 - Date.now()));
      for (const n of nodes) assert.equal(n.child.exitCode, null, `node ${n.id} exited during the outage:\n${n.lines.slice(-20).join('\n')}`);
    } finally {
      await member.restart(); // also when an assertion failed: the next test needs etcd
    }
    const backAt = Date.now();
    await waitFor(async () => (await Promise.all(ids.map((id) => fleet.store.get(keys.result(id))))).every(Boolean), 20_000, 'every result');
    console.log(`# etcd down 30 s: every task's result recorded ${Date.now() - backAt} ms after etcd answered again`);
    const outcomes = await assertEachEndOnce(fleet, ids);
    for (const [id, o] of outcomes) {
      assert.equal(o.result.status, 'succeeded', `${id}: ${JSON.stringify(o.result)}`);
      // The claims outlived the restart (etcd renews its leases when it starts): the ends recorded under them.
      assert.deepEqual(o.ends, ['exit'], `${id}: attempts ended ${o.ends.join(', ')}`);
    }
    await waitFor(async () => (await fetch(`${nodes[1].api!}/healthz`)).status === 200, 10_000, 'healthz 200 again');
    for (const n of nodes) assert.equal(n.child.exitCode, null);
  });

  it('etcd frozen past the TTL while tasks end: each attempt is recorded or counted lost, never both', async () => {
    const trigger = path.join(tmp.dir, 'end-frozen');
    const ids = await addTasks('frozen', 4, trigger);
    const member = fleet.etcd.members[0];
    member.child.kill('SIGSTOP');
    try {
      fs.writeFileSync(trigger, '');
      await sleep((TTL + 3) * 1000);
    } finally {
      member.child.kill('SIGCONT');
    }
    await waitFor(async () => (await Promise.all(ids.map((id) => fleet.store.get(keys.result(id))))).every(Boolean), 30_000, 'every result');
    const outcomes = await assertEachEndOnce(fleet, ids);
    const kinds = [...outcomes.values()].map((o) => o.ends.join('+'));
    console.log(`# etcd frozen ${TTL + 3} s: attempts ended ${kinds.join(', ')}`);
    for (const [id, o] of outcomes) assert.equal(o.result.status, 'succeeded', `${id}: ${JSON.stringify(o.result)}`);
    for (const n of nodes) assert.equal(n.child.exitCode, null);
  });
});
