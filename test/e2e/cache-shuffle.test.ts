// shoveling's shuffle on etcd with `rota node` processes: 1,000 empty ids spread by nodes (each
// worker within one of its share), 4 writers appending to random ids through the library client
// (which routes to each owner itself) while a worker joins, another is drained and a third is
// SIGKILLed; at the end every acknowledged append is there once, in order, nothing extra, and each
// id has its two copies again, byte for byte the same.
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { cache } from '../../src/index.js';
import { useEtcdFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/processes.js';
import { api, startRota, type RotaProcess } from '../helpers/rota-process.js';
import { checkValue, settled, sha256, startWriters, type StoredPlacement } from '../helpers/shuffle.js';

type CacheView = { ids: number; unplaced: number; moving: number; workers: Record<string, { owns: number; holds: number; copying: number }> };
const IDS = Array.from({ length: 1000 }, (_, i) => `part-${i}`);

describe('the shuffle on etcd: appends survive a join, a drain and a SIGKILL', { timeout: 240_000 }, () => {
  const fleet = useEtcdFleet();
  const placements = async () => (await fleet.store.range('/work/caches/shuffle/', { prefix: true })).kvs.map((kv) => JSON.parse(kv.value) as StoredPlacement);
  const node = (id: string) => startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', id, '--ttl', '3']);

  it('loses no acknowledged append and repairs every copy', async () => {
    for (const id of ['s1', 's2', 's3']) fleet.nodes.push(await node(id));
    const c = await cache({ store: fleet.store });
    try {
      assert.equal((await c.init('shuffle', IDS, { strategy: 'nodes', replicas: 2 })).added, 1000);
      const view = async () => (await api(fleet.nodes[2].api!, 'GET', '/caches/shuffle')).body as CacheView;
      await waitFor(async () => settled(await placements(), ['s1', 's2', 's3'], 2) && (await view()).unplaced === 0, 20_000, 'every id placed');
      const v = await view();
      for (const w of ['s1', 's2', 's3']) {
        assert.ok(Math.abs(v.workers[w].owns - 1000 / 3) < 1, `${w} owns ${v.workers[w].owns}, its share is 333.3`);
        assert.ok(Math.abs(v.workers[w].holds - 2000 / 3) < 1, `${w} holds ${v.workers[w].holds}, its share is 666.7`);
      }

      const writers = startWriters(4, IDS, (id, record) => c.append('shuffle', id, record));
      const phase = async (what: string, live: string[], act: () => Promise<unknown>) => {
        const t0 = Date.now();
        await act();
        await waitFor(async () => settled(await placements(), live, 2), 60_000, what, 100);
        console.log(`# ${what}: settled in ${Date.now() - t0} ms (${writers.log.appends} appends acknowledged so far)`);
      };
      await new Promise((r) => setTimeout(r, 1000));
      await phase('s4 joins', ['s1', 's2', 's3', 's4'], async () => fleet.nodes.push(await node('s4')));
      await phase('s1 is drained', ['s2', 's3', 's4'], () => api(fleet.nodes[2].api!, 'POST', '/workers/s1/drain'));
      const victim = fleet.nodes.find((n) => n.id === 's2')!;
      await phase('s2 is SIGKILLed', ['s3', 's4'], async () => {
        await victim.kill();
        fleet.nodes.splice(fleet.nodes.indexOf(victim), 1);
      });
      await new Promise((r) => setTimeout(r, 1000));
      const log = await writers.stop();
      console.log(`# 4 writers: ${log.appends} appends acknowledged, ${log.unknown.size} unanswered${log.errors.length ? ` (${log.errors[0]})` : ''}`);
      assert.ok(log.appends > 500, `the writers kept going (${log.appends} appends)`);
      assert.equal(log.unknown.size, 0, `every append was answered: ${log.errors.join(' | ')}`);

      // Every id: the owner's value holds exactly what was acknowledged, and every holder holds the same bytes.
      const apiOf = new Map(fleet.nodes.map((n) => [n.id, n.api!]));
      for (const kv of (await fleet.store.range('/work/caches/shuffle/', { prefix: true })).kvs) {
        const id = kv.key.slice('/work/caches/shuffle/'.length);
        const p = JSON.parse(kv.value) as StoredPlacement;
        const value = await c.get('shuffle', id);
        checkValue(id, value.toString(), log);
        for (const h of p.holders) {
          const r = await fetch(`${apiOf.get(h)}/internal/caches/${h}/shuffle/${id}/digest`, { method: 'POST' });
          assert.equal(r.status, 200, `${id}: ${h} holds a copy`);
          assert.equal(JSON.parse(r.headers.get('x-rota-meta')!).sha256, sha256(value), `${id}: ${h}'s copy is the owner's`);
        }
      }
    } finally {
      await c.close();
    }
  });
});

describe('the shuffle under rota up (embedded store): the same through the HTTP API', { timeout: 240_000 }, () => {
  let up: RotaProcess | undefined;
  after(async () => up?.stop());

  it('loses no acknowledged append and repairs every copy', async () => {
    up = await startRota(['up', '--memory', '--port', '0', '--workers', '3', '--ttl', '3']);
    const base = up.api!;
    const c = await cache({ api: base });
    const view = async () => (await api(base, 'GET', '/caches/shuffle')).body as CacheView;
    const workers = async () => ((await api(base, 'GET', '/workers')).body as Array<{ id: string }>).map((w) => w.id);
    /** Settled on `live`: every id placed with two copies on live workers, nothing moving. */
    const settledOn = async (live: string[]) => {
      const v = await view();
      const holds = Object.entries(v.workers).filter(([, n]) => n.holds > 0);
      const share = (2 * v.ids) / live.length;
      return v.unplaced === 0 && v.moving === 0 && holds.every(([w]) => live.includes(w)) && live.every((w) => Math.abs((v.workers[w]?.holds ?? 0) - share) < 1);
    };
    const [w1, w2, w3] = await workers();
    assert.equal((await c.init('shuffle', IDS, { strategy: 'nodes', replicas: 2 })).added, 1000);
    await waitFor(() => settledOn([w1, w2, w3]), 20_000, 'every id placed');
    const v = await view();
    for (const w of [w1, w2, w3]) assert.ok(Math.abs(v.workers[w].owns - 1000 / 3) < 1 && Math.abs(v.workers[w].holds - 2000 / 3) < 1, `${w}: ${JSON.stringify(v.workers[w])}`);

    const writers = startWriters(4, IDS, (id, record) => c.append('shuffle', id, record));
    const phase = async (what: string, live: () => Promise<string[]>, act: () => Promise<unknown>) => {
      const t0 = Date.now();
      await act();
      const ids = await live();
      await waitFor(() => settledOn(ids), 60_000, what, 100);
      console.log(`# rota up, ${what}: settled in ${Date.now() - t0} ms (${writers.log.appends} appends acknowledged so far)`);
    };
    await new Promise((r) => setTimeout(r, 1000));
    await phase('a worker joins', workers, () => api(base, 'POST', '/workers'));
    await phase('a worker is drained', async () => (await workers()).filter((w) => w !== w1), () => api(base, 'POST', `/workers/${w1}/drain`));
    await phase('a worker crashes', async () => (await workers()).filter((w) => w !== w1 && w !== w2), () => api(base, 'DELETE', `/workers/${w2}?crash=true`));
    await new Promise((r) => setTimeout(r, 1000));
    const log = await writers.stop();
    console.log(`# rota up, 4 writers: ${log.appends} appends acknowledged, ${log.unknown.size} unanswered`);
    assert.ok(log.appends > 500, `the writers kept going (${log.appends} appends)`);
    assert.equal(log.unknown.size, 0, `every append was answered: ${log.errors.join(' | ')}`);
    for (const id of IDS) {
      const value = await c.get('shuffle', id);
      checkValue(id, value.toString(), log);
      const { holders } = (await api(base, 'GET', `/caches/shuffle/${id}/nodes`)).body as { holders: Array<{ worker: string }> };
      assert.equal(holders.length, 2);
      for (const h of holders) {
        const r = await fetch(`${base}/internal/caches/${h.worker}/shuffle/${id}/digest`, { method: 'POST' });
        assert.equal(r.status, 200, `${id}: ${h.worker} holds a copy`);
        assert.equal(JSON.parse(r.headers.get('x-rota-meta')!).sha256, sha256(value), `${id}: ${h.worker}'s copy is the owner's`);
      }
    }
    await c.close();
  });
});
