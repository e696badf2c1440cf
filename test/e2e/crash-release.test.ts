// A node SIGKILLed (as the OOM killer does it) while it leads and runs --exec children: its guard
// stops the children, then revokes the node's leases, so the other node takes over its items and
// the leadership far sooner than the TTL — and never while one of those children still runs.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { assertNoOverlap, readRecords, RECORDER } from '../helpers/intervals.js';
import { isRunning, tempDir, waitFor } from '../helpers/processes.js';
import { api, startRota } from '../helpers/rota-process.js';

const TTL = 10;

describe('a node killed with SIGKILL', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  const { nodes, claims } = fleet;
  const tmp = tempDir('crash');
  const record = path.join(tmp.dir, 'runs.jsonl');
  after(() => tmp.remove());

  it('has its items running elsewhere well within the TTL, after its children stopped', async () => {
    for (let i = 0; i < 2; i++) {
      nodes.push(await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--ttl', String(TTL), '--exec', RECORDER], { env: { ROTA_RECORD_FILE: record } }));
    }
    const status = (await api(nodes[0].api!, 'GET', '/status')).body as { leader: string };
    const victim = nodes.find((n) => n.id === status.leader)!;
    const survivor = nodes.find((n) => n !== victim)!;
    for (let i = 0; i < 6; i++) await api(survivor.api!, 'POST', '/work', `item ${i}`);
    const onVictim = async () => [...(await claims()).values()].filter((kv) => kv.value === victim.id).length;
    await waitFor(async () => (await onVictim()) === 3 && (await claims()).size === 6, 15_000, 'three items on each node');
    await waitFor(() => readRecords(record).filter((r) => r.op === 'start').length === 6, 5000, 'six children running');
    const children = readRecords(record).filter((r) => r.op === 'start' && r.worker === victim.id);

    const claimedAt = new Map<string, number>();
    const watch = fleet.store.watch('/work/active/', { prefix: true });
    watch.on('events', (b) => {
      for (const ev of b.events) if (ev.type === 'put' && ev.kv.value === survivor.id) claimedAt.set(ev.kv.key.slice('/work/active/'.length), Date.now());
    });
    await watch.ready;
    const diedAt = new Map<number, number>();
    const poll = setInterval(() => {
      for (const c of children) if (!diedAt.has(c.pid!) && !isRunning(c.pid!)) diedAt.set(c.pid!, Date.now());
    }, 5);

    const killedAt = Date.now();
    await victim.kill();
    nodes.splice(nodes.indexOf(victim), 1);
    try {
      await waitFor(() => children.every((c) => claimedAt.has(c.id)), 15_000, 'the survivor to claim every item of the killed node');
    } finally {
      clearInterval(poll);
      watch.removeAllListeners('events');
      await watch.close();
    }
    const took = Math.max(...children.map((c) => claimedAt.get(c.id)! - killedAt));
    console.log(`# SIGKILLed leader: its items claimed elsewhere within ${took} ms (TTL ${TTL} s)`);
    assert.ok(took < 4000, `took ${took} ms: the leases were not released on death (TTL ${TTL} s)`);
    for (const c of children) {
      const died = diedAt.get(c.pid!);
      assert.ok(died !== undefined && died <= claimedAt.get(c.id)!, `child of ${c.id} (pid ${c.pid}) still ran when the survivor claimed it`);
    }
    // The survivor leads now, and the records show no two runs of an item at once.
    await waitFor(async () => ((await api(survivor.api!, 'GET', '/status')).body as { leader: string }).leader === survivor.id, 5000, 'the survivor to lead');
    await waitFor(() => readRecords(record).filter((r) => r.op === 'start' && r.worker === survivor.id).length === 6, 5000, 'six children on the survivor');
    assertNoOverlap(readRecords(record), (r) => diedAt.get(r.pid!));
  });
});
