// A frozen node (SIGSTOP for longer than its TTL): its --exec children stop before its lease can
// expire, the other node takes over, and after SIGCONT the frozen node never runs an item that
// another worker holds.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { assertNoOverlap, readRecords, RECORDER } from '../helpers/intervals.js';
import { isRunning, tempDir, waitFor } from '../helpers/processes.js';
import { api, startRota } from '../helpers/rota-process.js';

const TTL = 3;

describe('partition: a node frozen for longer than its TTL', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  const { nodes, claims } = fleet;
  const tmp = tempDir('partition');
  const record = path.join(tmp.dir, 'runs.jsonl');
  after(() => tmp.remove());

  it('stops its children before its lease can expire and never runs an item another worker claimed', async () => {
    for (let i = 0; i < 2; i++) {
      nodes.push(
        await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--ttl', String(TTL), '--exec', RECORDER, '--log-level', 'debug'], {
          env: { ROTA_RECORD_FILE: record },
        }),
      );
    }
    const [frozen, other] = nodes;
    for (let i = 0; i < 6; i++) await api(other.api!, 'POST', '/work', `item ${i}`);
    await waitFor(async () => [...(await claims()).values()].filter((kv) => kv.value === frozen.id).length === 3 && (await claims()).size === 6, 15_000, 'three items on each node');
    await waitFor(() => readRecords(record).filter((r) => r.op === 'start').length === 6, 5000, 'six children running');
    const children = readRecords(record).filter((r) => r.op === 'start' && r.worker === frozen.id);
    // Watch the store: when does the other node claim the frozen node's items, when does its lease go?
    const claimedAt = new Map<string, number>();
    let leaseGoneAt = Infinity;
    const watch = fleet.store.watch('/work/', { prefix: true });
    watch.on('events', (b) => {
      for (const ev of b.events) {
        if (ev.type === 'put' && ev.kv.key.startsWith('/work/active/') && ev.kv.value === other.id) claimedAt.set(ev.kv.key.slice(13), Date.now());
        if (ev.type === 'delete' && ev.kv.key === `/work/workers/${frozen.id}`) leaseGoneAt = Math.min(leaseGoneAt, Date.now());
      }
    });
    await watch.ready;

    // Freeze the node process alone (its guards and children keep running).
    frozen.child.kill('SIGSTOP');
    const frozenAt = Date.now();
    // The node writes down, at registration and each renewal, the earliest its lease can expire.
    const renewals = frozen.lines.filter((l) => /expiresBy=/.test(l)).map((l) => Number(l.match(/expiresBy=(\d+)/)![1]));
    const earliestExpiry = Math.max(...renewals);
    const diedAt = new Map<number, number>();
    const poll = setInterval(() => {
      for (const c of children) if (!diedAt.has(c.pid!) && !isRunning(c.pid!)) diedAt.set(c.pid!, Date.now());
    }, 10);
    try {
      await waitFor(() => children.every((c) => claimedAt.has(c.id)), 15_000, 'the other node to claim every item of the frozen one');
      await new Promise((r) => setTimeout(r, Math.max(0, frozenAt + (TTL + 2) * 1000 - Date.now())));
    } finally {
      clearInterval(poll);
    }
    const slack = Math.min(...children.map((c) => earliestExpiry - (diedAt.get(c.pid!) ?? Infinity)));
    console.log(`# frozen node: children stopped at least ${slack} ms before its lease could expire`);
    for (const c of children) {
      const died = diedAt.get(c.pid!);
      assert.ok(died !== undefined, `child ${c.pid} of ${c.id} still runs`);
      assert.ok(died <= earliestExpiry, `child of ${c.id} stopped at +${died - frozenAt} ms, after its lease could expire (+${earliestExpiry - frozenAt} ms)`);
      assert.ok(died < claimedAt.get(c.id)!, `child of ${c.id} stopped after the item was claimed elsewhere`);
      assert.ok(died < leaseGoneAt, `child of ${c.id} outlived the lease`);
    }

    // Thaw it: it fences itself, starts a new session, and takes items only by clean handover.
    const thawMark = frozen.lines.length;
    frozen.child.kill('SIGCONT');
    await frozen.waitForLine(/session lost: stopping all work/, 10_000, thawMark);
    await frozen.waitForLine(/We are worker=/, 10_000, thawMark);
    await waitFor(async () => [...(await claims()).values()].filter((kv) => kv.value === frozen.id).length === 3, 15_000, 'the thawed node to get three items back');
    await new Promise((r) => setTimeout(r, 500));
    watch.removeAllListeners('events');
    await watch.close();
    const runs = readRecords(record);
    const { runs: count } = assertNoOverlap(runs, (r) => diedAt.get(r.pid!));
    assert.ok(count >= 12, `runs recorded: ${count}`);
  });
});
