// node --import tsx bench/big-items.ts — a fleet of large items on one etcd (issue 10): N items of
// just under the 1 MiB content limit posted through the API to two `rota node` processes; then a
// third node joins, and the leader is SIGKILLed. Prints one JSON line: how long planning, claiming,
// joining and failing over took, how many items of the live nodes moved (should be 0), the size
// and time of a GET /work page, and the memory of the processes.
// BENCH_ITEMS (default 200), BENCH_TTL (default 5), BENCH_SIZE (bytes, default 1 MiB - 1 KiB).
import { execFileSync } from 'node:child_process';
import { EtcdStore, listPrefix } from '../src/store/index.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { waitFor } from '../test/helpers/processes.js';
import { api, startRota, type RotaProcess } from '../test/helpers/rota-process.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 200);
const TTL = Number(process.env.BENCH_TTL ?? 5);
const SIZE = Number(process.env.BENCH_SIZE ?? 1024 * 1024 - 1024);

const etcd = await startEtcd();
const store = new EtcdStore({ endpoints: etcd.endpoints });
const nodes: RotaProcess[] = [];
process.on('SIGINT', () => process.exit(1));
process.on('SIGTERM', () => process.exit(1));
const node = async () => {
  const n = await startRota(['node', '--etcd', etcd.endpoints[0], '--ttl', String(TTL), '--port', '0']);
  nodes.push(n);
  return n;
};
const owners = async () => new Map((await listPrefix(store, '/work/active/')).kvs.map((kv) => [kv.key.slice('/work/active/'.length), kv]));
const since = (t: number) => Math.round(Date.now() - t) / 1000;
const rssMb = (pids: number[]) =>
  execFileSync('ps', ['-o', 'rss=', '-p', pids.join(',')]).toString().trim().split(/\s+/).map((kb) => Math.round(Number(kb) / 1024));

try {
  let t = Date.now();
  const [a] = [await node(), await node()];
  const startTwoSec = since(t);

  // Four posts in flight; a 503 (etcd too busy for a call's deadline) is retried, as a client would.
  t = Date.now();
  let next = 0;
  let retries = 0;
  await Promise.all(
    Array.from({ length: 4 }, async () => {
      while (next < ITEMS) {
        const i = next++;
        const head = `big-${i}:`;
        for (;;) {
          const r = await api(a.api!, 'POST', '/work', head + 'x'.repeat(SIZE - head.length), 'text/plain');
          // 409 on a new random id: a retried write that had committed (issue 10, item 3): it is there.
          if (r.status === 201 || r.status === 409) break;
          if (r.status !== 503) throw new Error(`POST answered ${r.status}: ${JSON.stringify(r.body).slice(0, 200)}`);
          retries++;
        }
      }
    }),
  );
  const postSec = since(t);
  t = Date.now();
  await waitFor(async () => (await owners()).size === ITEMS, 300_000, 'every item claimed');
  const claimedAfterPostsSec = since(t);

  t = Date.now();
  const third = await node();
  const joinStartSec = since(t);
  const share = Math.floor(ITEMS / 3);
  await waitFor(async () => [...(await owners()).values()].filter((kv) => kv.value === third.id).length >= share, 300_000, 'the third node to take its share');
  const joinShareSec = since(t);

  t = Date.now();
  const page = await fetch(`${a.api}/work`);
  const pageText = await page.text();
  const pageItems = (JSON.parse(pageText) as unknown[]).length;
  const pageSec = since(t);
  const rss = rssMb([...nodes.map((n) => n.child.pid!), etcd.members[0].child.pid!]);

  const { leader } = (await api(a.api!, 'GET', '/status')).body as { leader: string };
  const victim = nodes.find((n) => n.id === leader)!;
  const before = await owners();
  const kept = [...before].filter(([, kv]) => kv.value !== victim.id);
  t = Date.now();
  await victim.kill();
  nodes.splice(nodes.indexOf(victim), 1);
  const live = new Set(nodes.map((n) => n.id));
  await waitFor(async () => {
    const o = await owners();
    return o.size === ITEMS && [...o.values()].every((kv) => live.has(kv.value));
  }, 300_000, 'every item claimed by the live nodes');
  const failoverSec = since(t);
  const after = await owners();
  const moved = kept.filter(([id, kv]) => after.get(id)?.createRevision !== kv.createRevision).length;

  console.log(
    JSON.stringify({
      items: ITEMS,
      itemBytes: SIZE,
      ttlSec: TTL,
      startTwoNodesSec: startTwoSec,
      postSec,
      postRetries: retries,
      claimedAfterPostsSec,
      joinStartSec,
      joinShareSec,
      leaderKilledItems: ITEMS - kept.length,
      failoverSec,
      movedOfLiveNodes: moved,
      workPage: { items: pageItems, bytes: Buffer.byteLength(pageText), sec: pageSec, more: page.headers.get('link') !== null },
      rssMb: { nodes: rss.slice(0, -1), etcd: rss.at(-1) },
      load: execFileSync('cat', ['/proc/loadavg']).toString().split(' ').slice(0, 3).join(' '),
    }),
  );
} catch (err) {
  // What the nodes said, without the per-item lines.
  for (const n of nodes) {
    console.error(`--- node ${n.id}`);
    console.error(n.lines.filter((l) => !/(Starting|Stopping|Updating) (our )?work|Successfully grabbed|Released work|Assigning work/.test(l)).slice(-25).map((l) => l.slice(0, 240)).join('\n'));
  }
  console.error(`claims: ${(await owners()).size} of ${ITEMS}`);
  throw err;
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  await store.close();
  await etcd.stop();
}
