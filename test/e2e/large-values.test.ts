// Large items on a real etcd, as issue 10 found them: six items of 900 KB (within the 1 MiB content
// limit) made every list of registry/ larger than grpc-js's default 4 MiB receive limit, and from
// then on a joining node never started, GET /work answered 400, and a SIGKILLed node's items were
// claimed by nobody. Then a fleet of many items just under 1 MiB: it plans, fails over and admits
// a new node (ROTA_BIG_ITEMS sets how many; 24 here, 24 MiB, 200 measured by hand).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/processes.js';
import { api, startRota, type RotaProcess } from '../helpers/rota-process.js';

const TTL = 3;
const node = (fleet: ReturnType<typeof useEtcdFleet>, ttl = TTL) => startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--ttl', String(ttl), '--port', '0']);

/** Posts `n` items of `size` bytes (each a different letter first) and returns their ids. */
async function postItems(base: string, n: number, size: number, tag: string): Promise<string[]> {
  const ids: string[] = [];
  for (let i = 0; i < n; i++) {
    const head = `${tag}-${i}:`;
    const r = await api(base, 'POST', '/work', head + 'x'.repeat(size - head.length), 'text/plain');
    assert.equal(r.status, 201, JSON.stringify(r.body).slice(0, 300));
    ids.push(r.body.id);
  }
  return ids;
}

/** Waits until every id is claimed by a live node, none by `dead`; returns ms waited. */
async function allClaimed(fleet: ReturnType<typeof useEtcdFleet>, ids: string[], live: RotaProcess[], timeoutMs: number, what: string): Promise<number> {
  const t = Date.now();
  const alive = new Set(live.map((n) => n.id));
  await waitFor(async () => {
    const owners = await fleet.owners();
    return ids.every((id) => alive.has(owners.get(id) ?? ''));
  }, timeoutMs, what);
  return Date.now() - t;
}

describe('large items on etcd', { timeout: 900_000 }, () => {
  const fleet = useEtcdFleet();

  it('six items of 900 KB: a node joins and takes its share, GET /work answers, a SIGKILLed node fails over', async () => {
    const { nodes } = fleet;
    nodes.push(await node(fleet), await node(fleet));
    const ids = await postItems(nodes[0].api!, 6, 900_000, 'six');
    await allClaimed(fleet, ids, nodes, 15_000, 'the six items claimed');

    // A node that joins now lists registry/ (5.4 MB) and starts, and gets its share.
    nodes.push(await node(fleet));
    await waitFor(async () => [...(await fleet.loads()).values()].every((n) => n === 2), 15_000, 'two items on each of three nodes');

    // GET /work answers, each item's content cut to a preview; ?content=true pages the full content.
    const list = await api(nodes[2].api!, 'GET', '/work');
    assert.equal(list.status, 200, JSON.stringify(list.body).slice(0, 300));
    assert.deepEqual(list.body.map((w: { id: string }) => w.id).sort(), [...ids].sort());
    for (const w of list.body) {
      assert.equal(w.contentBytes, 900_000);
      assert.ok(w.contentTruncated === true && Buffer.byteLength(w.content) <= 1024, 'a preview, not 900 KB');
    }
    const full = await api(nodes[2].api!, 'GET', '/work?content=true&limit=4');
    assert.equal(full.status, 200);
    assert.ok(full.body.length >= 1 && full.body.length <= 4);
    for (const w of full.body) assert.equal(w.content.length, 900_000);

    // SIGKILL one node: its items are claimed by the others within the TTL and a few seconds.
    const victim = nodes[1];
    await victim.kill();
    nodes.splice(1, 1);
    const took = await allClaimed(fleet, ids, nodes, (TTL + 5) * 1000, 'every item claimed by the two live nodes');
    console.log(`# six 900 KB items: a SIGKILLed node's items claimed elsewhere in ${took} ms (TTL ${TTL} s)`);
  });

  it(`a fleet with ${process.env.ROTA_BIG_ITEMS ?? 24} items just under 1 MiB plans, fails over and admits a new node`, async () => {
    const { nodes } = fleet;
    for (const n of nodes.splice(0)) await n.stop();
    await fleet.store.delete('/work/registry/', { prefix: true });
    const count = Number(process.env.ROTA_BIG_ITEMS ?? 24);
    const ttl = Number(process.env.ROTA_BIG_TTL ?? TTL);
    const size = 1024 * 1024 - 1024;
    const slow = Math.max(60_000, count * 1000); // generous waits; the figures are printed
    nodes.push(await node(fleet, ttl), await node(fleet, ttl));

    let t = Date.now();
    const ids = await postItems(nodes[0].api!, count, size, 'big');
    const postMs = Date.now() - t;
    t = Date.now();
    await allClaimed(fleet, ids, nodes, slow, `${count} items claimed`);
    const claimMs = Date.now() - t;

    t = Date.now();
    nodes.push(await node(fleet, ttl));
    const startMs = Date.now() - t;
    const share = Math.floor(count / 3);
    await waitFor(async () => ((await fleet.loads()).get(nodes[2].id) ?? 0) >= share, slow, `the new node to take its share of ${share}`);
    const joinMs = Date.now() - t;

    // SIGKILL the leader: the new one lists 24 MiB or more before it plans, and moves only the
    // dead node's items (a claim that stays keeps its fencing token).
    const { leader } = (await api(nodes[0].api!, 'GET', '/status')).body as { leader: string };
    const victim = nodes.find((n) => n.id === leader)!;
    const kept = new Map([...(await fleet.claims())].filter(([, kv]) => kv.value !== victim.id).map(([id, kv]) => [id, kv.createRevision]));
    t = Date.now();
    await victim.kill();
    nodes.splice(nodes.indexOf(victim), 1);
    const failoverMs = await allClaimed(fleet, ids, nodes, (ttl + 10) * 1000, 'every item claimed by the two live nodes');
    await new Promise((r) => setTimeout(r, 1000)); // a wrong plan would show by now
    const claims = await fleet.claims();
    const moved = [...kept].filter(([id, token]) => claims.get(id)?.createRevision !== token);
    assert.deepEqual(moved, [], `${moved.length} items of the live nodes were moved by the new leader`);
    const total = await api(nodes[0].api!, 'GET', '/work?limit=1000');
    assert.equal(total.status, 200);
    console.log(
      `# ${count} items of ${size} B: posted in ${postMs} ms, all claimed ${claimMs} ms later; a new node started in ${startMs} ms and had its share in ${joinMs} ms; ` +
        `after a SIGKILL of the leader all claimed in ${failoverMs} ms (TTL ${ttl} s); GET /work page of ${total.body.length} items, ${JSON.stringify(total.body).length} B`,
    );
    assert.ok(failoverMs < (ttl + 3) * 1000, `failover took ${failoverMs} ms`);
  });
});
