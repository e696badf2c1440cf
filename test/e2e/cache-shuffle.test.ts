// shoveling's shuffle on etcd with `rota node` processes: 1,000 empty ids spread by nodes (each
// worker within one of its share), 4 writers appending to random ids through the library client
// (which routes to each owner itself) while a worker joins, another is drained and a third is
// SIGKILLed; at the end every acknowledged append is there once, in order, nothing extra, and each
// id has its two copies again, byte for byte the same.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { cache } from '../../src/index.js';
import { useEtcdFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/processes.js';
import { api, startRota } from '../helpers/rota-process.js';
import { checkValue, settled, sha256, startWriters, type StoredPlacement } from '../helpers/shuffle.js';

type CacheView = { ids: number; unplaced: number; workers: Record<string, { owns: number; holds: number }> };
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
