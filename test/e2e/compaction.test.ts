// Compaction while items move: one node's connection is cut while etcd compacts its history, so its
// watches come back to a compacted revision. Nothing may be left unassigned or unclaimed.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/processes.js';
import { api, startRota } from '../helpers/rota-process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

describe('compaction while items move', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  const { nodes } = fleet;
  let proxy: TcpProxy;
  before(async () => {
    proxy = await TcpProxy.start(Number(new URL(fleet.etcd.endpoints[0]).port));
  });
  after(async () => proxy?.close());

  const state = async () => {
    const read = async (p: string) => new Map((await fleet.store.range(`/work/${p}/`, { prefix: true })).kvs.map((kv) => [kv.key.slice(p.length + 7), kv.value]));
    // assign/<worker>/<item>: item → worker
    const assign = new Map([...(await read('assign')).keys()].map((k) => [k.split('/')[1], k.split('/')[0]] as const));
    return { registry: await read('registry'), assign, active: await read('active') };
  };

  it('leaves every item assigned and claimed, and no assignment behind for a deleted item', async () => {
    const direct = await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--ttl', '3']);
    const cut = await startRota(['node', '--etcd', proxy.url, '--ttl', '5']);
    nodes.push(direct, cut);
    const base = direct.api!;
    const ids: string[] = [];
    for (let i = 0; i < 20; i++) ids.push((await api(base, 'POST', '/work', `item ${i}`)).body.id);
    await waitFor(async () => (await state()).active.size === 20, 15_000, 'twenty claims');

    const cutMark = cut.lines.length;
    proxy.cut();
    // While the second node hears nothing: items come and go, workers drain, history is compacted.
    for (let round = 0; round < 6; round++) {
      ids.push((await api(base, 'POST', '/work', `late ${round}`)).body.id);
      const gone = ids.splice(round, 1)[0];
      assert.equal((await api(base, 'DELETE', `/work/${gone}`)).status, 204);
      await api(base, 'POST', `/workers/${round % 2 ? cut.id : direct.id}/drain`);
      await new Promise((r) => setTimeout(r, 150));
      await api(base, 'POST', `/workers/${round % 2 ? cut.id : direct.id}/undrain`);
      const { revision } = await fleet.store.range('/work/', { prefix: true, countOnly: true });
      await fleet.store.compact(revision);
    }
    proxy.restore();
    await cut.waitForLine(/compacted|watch failed, listing again/, 15_000, cutMark);

    await waitFor(
      async () => {
        const s = await state();
        if (s.registry.size !== 20 || s.assign.size !== 20 || s.active.size !== 20) return false;
        for (const id of s.registry.keys()) if (s.assign.get(id) !== s.active.get(id)) return false;
        const loads = [...s.active.values()].filter((w) => w === cut.id).length;
        return loads === 10;
      },
      20_000,
      'all 20 items assigned, claimed where assigned, 10 per node',
    );
    const s = await state();
    assert.deepEqual([...s.registry.keys()].sort(), [...ids].sort());
    for (const id of s.assign.keys()) assert.ok(s.registry.has(id), `assignment left behind for deleted ${id}`);
  });
});
