// Cache ids placed over a real fleet (shoveling's init(list_ids, strategy='uniform_nodes')): 1,000
// empty ids spread by nodes, two copies each on distinct workers, each worker within one id of its
// share of ownerships and of copies; node_ids, node_id and the score answer from the placement; a
// worker that dies has its ids placed again, a surviving copy promoted to owner with a new epoch.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { tempDir, waitFor } from '../helpers/processes.js';
import { api, rotaBin, root, startRota } from '../helpers/rota-process.js';

type CacheView = { ids: number; unplaced: number; workers: Record<string, { owns: number; holds: number }> };

describe('cache ids over the fleet', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  const tmp = tempDir('caches');
  after(() => tmp.remove());
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [rotaBin, ...args, '--api', fleet.nodes[0].api!], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, `rota ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const view = async () => (await api(fleet.nodes[0].api!, 'GET', '/caches/shuffle')).body as CacheView;
  const balanced = (v: CacheView, workers: string[]) =>
    v.unplaced === 0 && workers.every((w) => Math.abs((v.workers[w]?.owns ?? 0) - v.ids / workers.length) < 1 && Math.abs((v.workers[w]?.holds ?? 0) - (2 * v.ids) / workers.length) < 1);

  it('init spreads 1,000 empty ids by nodes, each worker within one of its share; lookups answer from the placement', async () => {
    for (const id of ['c1', 'c2', 'c3']) fleet.nodes.push(await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', id, '--ttl', '5']));
    const file = path.join(tmp.dir, 'ids.txt');
    fs.writeFileSync(file, Array.from({ length: 1000 }, (_, i) => `part-${i}`).join('\n'));
    const out = cli('cache', 'init', 'shuffle', '--from', file, '--strategy', 'nodes', '--replicas', '2');
    assert.match(out, /1000 ids added/);
    await waitFor(async () => balanced(await view(), ['c1', 'c2', 'c3']), 10_000, 'every id placed, balanced');
    const v = await view();
    console.log(`# 1,000 ids by nodes over 3 workers: owns ${['c1', 'c2', 'c3'].map((w) => v.workers[w].owns)}, holds ${['c1', 'c2', 'c3'].map((w) => v.workers[w].holds)}`);

    const nodes = (await api(fleet.nodes[0].api!, 'GET', '/caches/shuffle/part-7/nodes')).body as { holders: Array<{ worker: string; role: string; api: string }> };
    assert.equal(nodes.holders.length, 2);
    assert.notEqual(nodes.holders[0].worker, nodes.holders[1].worker);
    assert.deepEqual(nodes.holders.map((h) => h.role), ['owner', 'replica']);
    assert.ok(nodes.holders.every((h) => h.api.startsWith('http://')));
    const best = (await api(fleet.nodes[0].api!, 'GET', '/caches/shuffle/part-7/best')).body as { worker: string };
    assert.equal(best.worker, nodes.holders[0].worker);
    const other = ['c1', 'c2', 'c3'].find((w) => !nodes.holders.some((h) => h.worker === w))!;
    // All three run on this machine: a worker that holds no copy is "same host" (2).
    const score = async (node: string) => ((await api(fleet.nodes[0].api!, 'GET', `/caches/shuffle/part-7/score?node=${node}`)).body as { score: number }).score;
    assert.deepEqual([await score(nodes.holders[0].worker), await score(nodes.holders[1].worker), await score(other)], [0, 1, 2]);
    assert.equal(cli('cache', 'best', 'shuffle', 'part-7').split(' ')[0].trim(), best.worker);
    // Values: set, append and get from the CLI, through any node (it forwards to the owner).
    assert.equal(cli('cache', 'set', 'shuffle', 'part-7', 'hello').trim(), '5');
    assert.equal(cli('cache', 'append', 'shuffle', 'part-7', ', world').trim(), '12');
    assert.equal(cli('cache', 'get', 'shuffle', 'part-7'), 'hello, world');
    for (const n of fleet.nodes) assert.equal(await (await fetch(`${n.api}/caches/shuffle/part-7`)).text(), 'hello, world');
    const put = await api(fleet.nodes[1].api!, 'PUT', '/caches/shuffle/nope', 'x', 'application/octet-stream');
    assert.equal(put.status, 404);
    assert.match(put.body.message, /id nope of cache shuffle does not exist/);
    assert.equal((await api(fleet.nodes[1].api!, 'PUT', '/caches/shuffle/part-7', '{}', 'application/json')).status, 415);
    // Bad input: a 4xx naming what is wrong.
    assert.equal((await api(fleet.nodes[0].api!, 'POST', '/caches', JSON.stringify({ name: 'shuffle', ids: ['x'], replicas: 3 }), 'application/json')).status, 400);
    assert.equal((await api(fleet.nodes[0].api!, 'POST', '/caches', JSON.stringify({ name: 'bad name', ids: [] }), 'application/json')).status, 400);
    assert.equal((await api(fleet.nodes[0].api!, 'GET', '/caches/shuffle/nope/nodes')).status, 404);
  });

  it('a worker that joins takes its share, one that dies has its ids placed again with a surviving copy promoted', async () => {
    const before = new Map<string, { holders: string[]; epoch: number }>();
    for (const kv of (await fleet.store.range('/work/caches/shuffle/', { prefix: true })).kvs) before.set(kv.key, JSON.parse(kv.value));
    fleet.nodes.push(await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', 'c4', '--ttl', '5']));
    const joinAt = Date.now();
    await waitFor(async () => balanced(await view(), ['c1', 'c2', 'c3', 'c4']), 30_000, 'the joiner to take its share');
    console.log(`# the joiner took its share (500 copies) in ${Date.now() - joinAt} ms`);
    const joined = new Map<string, { holders: string[]; epoch: number }>();
    for (const kv of (await fleet.store.range('/work/caches/shuffle/', { prefix: true })).kvs) joined.set(kv.key, JSON.parse(kv.value));
    let moved = 0;
    for (const [key, p] of joined) moved += p.holders.filter((w) => !before.get(key)!.holders.includes(w)).length;
    console.log(`# a fourth worker joins: ${moved} copies moved (its share: 500)`);
    assert.equal(moved, 500, 'only the joiner\'s share of copies moves');

    const victim = fleet.nodes.find((n) => n.id === 'c2')!;
    await victim.kill();
    fleet.nodes.splice(fleet.nodes.indexOf(victim), 1);
    await waitFor(async () => balanced(await view(), ['c1', 'c3', 'c4']), 15_000, 'the dead worker\'s ids placed again');
    for (const kv of (await fleet.store.range('/work/caches/shuffle/', { prefix: true })).kvs) {
      const p = JSON.parse(kv.value) as { holders: string[]; epoch: number };
      const was = joined.get(kv.key)!;
      // The owner is always one that held a copy before (it has the data): the replica, if the owner died.
      if (was.holders[0] === 'c2') assert.equal(p.holders[0], was.holders[1], `${kv.key}: its replica is promoted`);
      else assert.ok(was.holders.includes(p.holders[0]), `${kv.key}: owned by ${p.holders[0]}, which held no copy`);
      assert.ok(p.holders.join() === was.holders.join() ? p.epoch === was.epoch : p.epoch > was.epoch, `${kv.key}: new holders, a new epoch (and only then)`);
    }
  });
});

describe('two nodes bringing 1,000 new ids in line at once', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();

  it('every id serves a write right after placement (each node syncs 500 ids on the other at once: no pool deadlock)', async () => {
    for (const id of ['d1', 'd2']) fleet.nodes.push(await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', id, '--ttl', '5']));
    const created = await api(fleet.nodes[0].api!, 'POST', '/caches', JSON.stringify({ name: 'pair', ids: Array.from({ length: 1000 }, (_, i) => `p-${i}`), replicas: 2 }), 'application/json');
    assert.equal(created.status, 201);
    const t0 = Date.now();
    // One write to every 50th id, through either node: each within 10 s (a deadlock of the connection pools never answers).
    await Promise.all(
      Array.from({ length: 20 }, async (_, i) => {
        const r = await fetch(`${fleet.nodes[i % 2].api}/caches/pair/p-${i * 50}`, { method: 'PUT', body: `v${i}`, headers: { 'content-type': 'application/octet-stream' }, signal: AbortSignal.timeout(10_000) });
        assert.equal(r.status, 200, await r.text());
      }),
    );
    console.log(`# 2 nodes, 1,000 new ids with 2 copies: 20 writes answered ${Date.now() - t0} ms after the ids were created`);
  });
});
