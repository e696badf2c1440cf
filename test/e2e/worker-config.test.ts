// Workers configured live through the store (issue: the Consul fleet's per-worker KV config): a
// capacity, label or max-memory change made with `rota worker set` moves items within a second,
// with the fewest moves, and survives a restart of the worker with the same id.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/processes.js';
import { api, rotaBin, root, startRota } from '../helpers/rota-process.js';

const counts = (owners: Map<string, string>, ids: string[], workers: string[]) => workers.map((w) => ids.filter((id) => owners.get(id) === w).length);

describe('live worker configuration', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  const etcd = () => fleet.etcd.endpoints[0];
  const node = (id: string, ...args: string[]) => startRota(['node', '--etcd', etcd(), '--id', id, '--ttl', '5', ...args]);
  const cli = (...args: string[]) => {
    const r = spawnSync(process.execPath, [rotaBin, ...args, '--api', fleet.nodes[0].api!], { cwd: root, encoding: 'utf8' });
    assert.equal(r.status, 0, `rota ${args.join(' ')}: ${r.stderr}`);
    return r.stdout;
  };
  const ids = Array.from({ length: 30 }, (_, i) => `svc-${i}`);

  it('a capacity change moves the fewest items within a second, and a restarted worker gets it back', async () => {
    for (const id of ['w1', 'w2', 'w3']) fleet.nodes.push(await node(id));
    const added = await api(fleet.nodes[0].api!, 'POST', '/work', JSON.stringify(ids.map((id) => ({ id, content: id }))), 'application/json');
    assert.equal(added.status, 201, JSON.stringify(added.body));
    await waitFor(async () => counts(await fleet.owners(), ids, ['w1', 'w2', 'w3']).join() === '10,10,10', 15_000, 'ten items on each worker');
    const before = await fleet.owners();

    const setAt = Date.now();
    const set = await api(fleet.nodes[0].api!, 'PATCH', '/workers/w1', JSON.stringify({ capacity: 4 }), 'application/json');
    assert.equal(set.status, 200, JSON.stringify(set.body));
    // Capacities 4:1:1 — quotas 20, 5, 5: w2 and w3 give five each, nothing else moves.
    await waitFor(async () => counts(await fleet.owners(), ids, ['w1', 'w2', 'w3']).join() === '20,5,5', 5000, 'w1 to hold twenty');
    const took = Date.now() - setAt;
    const after = await fleet.owners();
    const moved = ids.filter((id) => before.get(id) !== after.get(id));
    console.log(`# capacity 1 → 4 on w1: ${moved.length} items moved, all running ${took} ms after PATCH /workers/w1 was sent`);
    assert.equal(moved.length, 10, 'the fewest moves');
    assert.ok(moved.every((id) => after.get(id) === 'w1'));
    assert.ok(took < 1000, `took ${took} ms`);
    // The record shows the value in force, the configuration what was set.
    const shown = JSON.parse(cli('worker', 'show', 'w1', '--json'));
    assert.equal(shown.config.capacity, 4);
    await waitFor(async () => (await api(fleet.nodes[0].api!, 'GET', '/workers/w1')).body.worker?.capacity === 4, 2000, 'the record to show capacity 4');

    // Restarted with the same id (and its old flag, --capacity 1): the store wins.
    const w1 = fleet.nodes.find((n) => n.id === 'w1')!;
    await w1.stop();
    fleet.nodes.splice(fleet.nodes.indexOf(w1), 1);
    await waitFor(async () => counts(await fleet.owners(), ids, ['w2', 'w3']).join() === '15,15', 15_000, 'the others to take its items');
    fleet.nodes.push(await node('w1', '--capacity', '1'));
    await waitFor(async () => counts(await fleet.owners(), ids, ['w1', 'w2', 'w3']).join() === '20,5,5', 10_000, 'the restarted w1 to hold twenty again');
    assert.equal((await api(fleet.nodes[0].api!, 'GET', '/workers/w1')).body.worker.capacity, 4);
  });

  it('labels set and removed live: items whose selector now matches move in, and out again', async () => {
    const zoned = ['z-0', 'z-1', 'z-2', 'z-3'];
    const added = await api(fleet.nodes[0].api!, 'POST', '/work', JSON.stringify(zoned.map((id) => ({ id, content: id, selector: { zone: 'b' } }))), 'application/json');
    assert.equal(added.status, 201);
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(counts(await fleet.owners(), zoned, ['w1', 'w2', 'w3']), [0, 0, 0], 'no worker has zone=b yet');
    const before = await fleet.owners();
    const setAt = Date.now();
    cli('worker', 'set', 'w2', '--label', 'zone=b');
    await waitFor(async () => counts(await fleet.owners(), zoned, ['w2']).join() === '4', 5000, 'the zone=b items on w2');
    const took = Date.now() - setAt;
    const after = await fleet.owners();
    console.log(`# label zone=b on w2: its 4 items running ${took} ms after \`rota worker set\` started (a CLI process included)`);
    assert.ok(took < 1500, `took ${took} ms`);
    // w2 is fuller now: at most one other item leaves it per item it took, nothing else moves.
    const others = ids.filter((id) => before.get(id) !== after.get(id));
    assert.ok(others.length <= zoned.length && others.every((id) => before.get(id) === 'w2'), `moved ${others.map((id) => `${id} ${before.get(id)}→${after.get(id)}`)}`);
    cli('worker', 'set', 'w2', '--unlabel', 'zone');
    await waitFor(async () => counts(await fleet.owners(), zoned, ['w1', 'w2', 'w3']).join() === '0,0,0', 5000, 'the zone=b items stopped');
    const view = (await api(fleet.nodes[0].api!, 'GET', '/workers?label=zone=b')).body as unknown[];
    assert.deepEqual(view, []);
  });

  it('PATCH /workers/:id answers 400 naming the field, and changes nothing', async () => {
    const before = (await api(fleet.nodes[0].api!, 'GET', '/workers/w3')).body;
    for (const body of [{ capacity: 0 }, { maxMemory: 'lots' }, { colour: 'red' }, { labels: { 'no way!': 'x' } }]) {
      const r = await api(fleet.nodes[0].api!, 'PATCH', '/workers/w3', JSON.stringify(body), 'application/json');
      assert.equal(r.status, 400, JSON.stringify(body));
      assert.match(r.body.message ?? r.body.error ?? JSON.stringify(r.body), new RegExp(Object.keys(body)[0]));
    }
    assert.deepEqual((await api(fleet.nodes[0].api!, 'GET', '/workers/w3')).body.config, before.config);
  });
});
