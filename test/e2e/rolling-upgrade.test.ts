// A rolling upgrade as docs/fleet.md runs it: each node restarted in turn under its --id with
// --return-within, and no item ever claimed by another worker (nothing moves; each item pauses for
// its node's restart). Without --return-within the same restart moves items away and back; a node
// that does not come back loses its items after the window.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/processes.js';
import { spawnSync } from 'node:child_process';
import { api, root, rotaBin, startRota } from '../helpers/rota-process.js';

const ITEMS = 30;
const ids = Array.from({ length: ITEMS }, (_, i) => `svc-${i}`);

describe('rolling upgrade: one node at a time, nothing moves', { timeout: 180_000 }, () => {
  const fleet = useEtcdFleet();
  const { nodes } = fleet;
  const node = (id: string, within: string) => startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', id, '--ttl', '2', '--return-within', within]);
  const balanced = async () => [...(await fleet.loads()).values()].every((n) => n === ITEMS / nodes.length) && (await fleet.claims()).size === ITEMS;

  /** Restarts `id` (SIGTERM, then the same command); returns every worker seen claiming an item meanwhile that was not its owner before. */
  async function restart(id: string, within: string): Promise<{ strays: string[]; pausedMs: number }> {
    const before = await fleet.owners();
    const strays = new Set<string>();
    let polling = true;
    const poll = (async () => {
      while (polling) {
        for (const [item, owner] of await fleet.owners()) if (owner !== before.get(item)) strays.add(`${item} on ${owner} (was ${before.get(item)})`);
        await new Promise((r) => setTimeout(r, 25));
      }
    })();
    const old = nodes.find((n) => n.id === id)!;
    const stoppedAt = Date.now();
    await old.stop();
    nodes.splice(nodes.indexOf(old), 1, await node(id, within));
    await waitFor(balanced, 20_000, `${id} back with its items`);
    const pausedMs = Date.now() - stoppedAt;
    polling = false;
    await poll;
    return { strays: [...strays], pausedMs };
  }

  it('restarts every node in turn under --return-within 10s: no item is claimed elsewhere', async () => {
    for (const id of ['n1', 'n2', 'n3']) nodes.push(await node(id, '10s'));
    const added = await api(nodes[0].api!, 'POST', '/work', JSON.stringify(ids.map((i) => ({ id: i, content: i }))), 'application/json');
    assert.equal(added.status, 201);
    await waitFor(balanced, 15_000, 'ten items on each node');
    for (const id of ['n1', 'n2', 'n3']) {
      const { strays, pausedMs } = await restart(id, '10s');
      console.log(`# restart of ${id} (--return-within 10s): its items paused ${pausedMs} ms, ${strays.length} claimed elsewhere`);
      assert.deepEqual(strays, [], `items moved while ${id} restarted`);
    }
  });

  it('without it, the same restart moves items away (and the balance brings some back)', async () => {
    // A node that does not lead (a new leader waits a moment for absent workers anyway). The stopping
    // process announces (or not): restarted once to run without the flag, then again.
    const leader = (await api(nodes[0].api!, 'GET', '/status')).body.leader as string;
    const id = ['n1', 'n2', 'n3'].find((n) => n !== leader && n !== 'n2')!;
    assert.deepEqual((await restart(id, '0')).strays, []);
    const { strays } = await restart(id, '0');
    console.log(`# restart of ${id} without --return-within: ${strays.length} claims elsewhere meanwhile`);
    assert.ok(strays.length >= 10, `its ten items ran elsewhere meanwhile (${strays.length})`);
  });

  it('a node that does not come back: its items move once the window ends', async () => {
    // n2 runs with --return-within 10s (restarted so in the first test): stopped for good now.
    const n2 = nodes.find((n) => n.id === 'n2')!;
    const mine = [...(await fleet.owners())].filter(([, w]) => w === 'n2').map(([i]) => i);
    assert.equal(mine.length, 10);
    const stoppedAt = Date.now();
    await n2.stop();
    nodes.splice(nodes.indexOf(n2), 1);
    await new Promise((r) => setTimeout(r, 5000));
    const waiting = await fleet.owners();
    assert.ok(mine.every((i) => !waiting.has(i)), 'within the window nobody runs its items');
    await waitFor(async () => (await fleet.claims()).size === ITEMS, 15_000, 'its items claimed elsewhere');
    const took = Date.now() - stoppedAt;
    console.log(`# n2 gone for good: its items ran elsewhere ${took} ms after it stopped (window 10 s)`);
    assert.ok(took >= 9_000 && took < 14_000, `took ${took} ms`);
  });

  it('a node away is shown as returning, and draining it moves its items at once', async () => {
    nodes.push(await node('n4', '60s'));
    const owned = async () => [...(await fleet.owners())].filter(([, w]) => w === 'n4').map(([i]) => i);
    await waitFor(async () => (await owned()).length > 0, 15_000, 'n4 to take a share');
    const mine = await owned();
    const n4 = nodes.find((n) => n.id === 'n4')!;
    await n4.stop();
    nodes.splice(nodes.indexOf(n4), 1);
    const base = nodes[0].api!;
    const status = spawnSync(process.execPath, [rotaBin, 'status', '--api', base], { cwd: root, encoding: 'utf8' });
    assert.match(status.stdout, /returning: n4 within \d+ s \(its services wait for it; rota worker drain n4 moves them now\)/);
    const drainedAt = Date.now();
    const drained = spawnSync(process.execPath, [rotaBin, 'worker', 'drain', 'n4', '--api', base], { cwd: root, encoding: 'utf8' });
    assert.equal(drained.status, 0, drained.stderr);
    await waitFor(async () => { const o = await fleet.owners(); return mine.every((i) => o.has(i)); }, 5000, "n4's items running elsewhere");
    console.log(`# n4 away (window 60 s), drained: its ${mine.length} items ran elsewhere ${Date.now() - drainedAt} ms later`);
    assert.equal((await api(base, 'GET', '/status')).body.returning, undefined, 'no longer returning');
  });
});
