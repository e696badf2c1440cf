// The mechanisms that bring a fleet back after a store outage, in process and fast: a session is
// never handed out already fenced (a grant answered late is renewed from now), holders that got
// such a grant still come back, deadlines do not follow a stepped wall clock, prefix views never
// stay on a dead watch, and a stop under way is cut short when the session is lost.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Agent } from '../../src/engine/agent.js';
import { Keys } from '../../src/engine/keys.js';
import { Leader } from '../../src/engine/leader.js';
import { silentLogger } from '../../src/engine/log.js';
import type { Processor, StopReason } from '../../src/engine/processors/types.js';
import { PrefixView } from '../../src/recipes/prefix-view.js';
import { Session, SessionFencedError } from '../../src/recipes/session.js';
import { systemClock, type Clock } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { faultyStore } from '../helpers/faulty-store.js';
import { waitFor } from '../helpers/processes.js';
import { fresh } from '../store/conformance.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

forEachBackend('store outage mechanisms', (backend) => {
  it('a session whose grant is answered after its TTL is renewed from now, never handed out fenced', async () => {
    const store = faultyStore(await backend.open(), { grantDelayMs: 2600, delayedGrants: 1 });
    const session = await Session.open(store, { ttl: 2 });
    try {
      assert.equal(session.valid, true, 'the session was handed out already fenced');
      await sleep(1500); // past the first renewal: it is a live lease, kept alive
      assert.equal(session.valid, true);
    } finally {
      await session.close();
    }
  });

  it('a worker and a leader whose first grants are answered late still register, lead and run every item', async () => {
    const inner = await backend.open();
    const store = faultyStore(inner, { grantDelayMs: 2600, delayedGrants: 2 });
    const keys = new Keys(fresh());
    const started: string[] = [];
    const processor: Processor = { start: async (item) => void started.push(item.id), update: async () => undefined, stop: async () => undefined };
    const leader = new Leader({ store, keys, nodeId: 'n', log: silentLogger, ttl: 2, debounceMs: 20 });
    const agent = new Agent({ store, keys, workerId: 'w', processor, log: silentLogger, ttl: 2 });
    leader.start();
    try {
      for (let i = 0; i < 3; i++) await inner.put(keys.item(`i${i}`), 'x');
      await agent.start();
      await waitFor(() => started.length === 3, 6000, `every item to start (started: ${started.join()})`);
      assert.equal(leader.isLeader, true);
    } finally {
      await agent.stop();
      await leader.stop();
    }
  });

  it('a session fences on time although the wall clock is stepped back an hour', async () => {
    const faults = { keepAliveHangs: false };
    const store = faultyStore(await backend.open(), faults);
    let stepped = 0;
    const clock: Clock = { ...systemClock, now: () => Date.now() - stepped };
    const session = await Session.open(store, { ttl: 2, clock });
    await new Promise((r) => session.once('renewed', r));
    const cutAt = Date.now();
    faults.keepAliveHangs = true;
    stepped = 3_600_000; // NTP steps the clock back while the store is out of reach
    const lost = new Promise<Error>((r) => session.once('lost', r));
    const err = await Promise.race([lost, sleep(5000).then(() => undefined)]);
    assert.ok(err instanceof SessionFencedError, `fenced ${err ? String(err) : 'not within 5 s'}`);
    assert.ok(Date.now() - cutAt <= 2000, `fenced ${Date.now() - cutAt} ms after the last renewal could be confirmed (TTL 2 s)`);
    faults.keepAliveHangs = false;
    await session.close().catch(() => undefined);
  });

  it('a prefix view whose watch goes silent is repaired by its periodic re-list', async () => {
    const faults = { deafWatches: true };
    const inner = await backend.open();
    const prefix = fresh();
    const view = new PrefixView(faultyStore(inner, faults), prefix, systemClock, { relistMs: 300 });
    await view.start();
    try {
      await inner.put(`${prefix}a`, '1');
      await waitFor(() => view.kvs.get(`${prefix}a`)?.value === '1', 3000, 'the view to list the key its watch never delivered');
    } finally {
      await view.close();
    }
  });

  it('a stop under way is cut short when the session is lost', async () => {
    const store = await backend.open();
    const keys = new Keys(fresh());
    const stops: Array<{ reason: StopReason; at: number }> = [];
    let endGraceful!: () => void;
    const processor: Processor = {
      start: async () => undefined,
      update: async () => undefined,
      stop: async (_item, _ctx, reason) => {
        stops.push({ reason, at: Date.now() });
        // A graceful stop takes long (a child in its grace period); a fenced one ends it.
        if (reason === 'fenced') endGraceful?.();
        else await Promise.race([new Promise<void>((r) => (endGraceful = r)), sleep(15_000)]);
      },
    };
    const agent = new Agent({ store, keys, workerId: 'w1', processor, log: silentLogger, ttl: 2 });
    await agent.start();
    try {
      await store.put(keys.item('a'), 'x');
      await store.put(keys.assignment('w1', 'a'), '');
      await waitFor(() => agent.items.includes('a'), 5000, 'the item to start');
      await store.txn({ success: [{ type: 'delete', key: keys.assignment('w1', 'a') }, { type: 'put', key: keys.assignment('w2', 'a'), value: '' }] }); // moved: a graceful stop begins
      await waitFor(() => stops.length === 1, 3000, 'the graceful stop');
      const lease = (await store.get(keys.worker('w1')))!.lease;
      const lostAt = Date.now();
      await store.revokeLease(lease); // the session is lost (its next keepalive finds no lease)
      await waitFor(() => stops.some((s) => s.reason === 'fenced'), 3000, 'a fenced stop of the item being stopped');
      const fenced = stops.find((s) => s.reason === 'fenced')!;
      assert.ok(fenced.at - lostAt <= 2000, `escalated ${fenced.at - lostAt} ms after the lease was revoked`);
      await waitFor(() => !agent.items.includes('a'), 3000, 'the stop to end');
    } finally {
      await agent.stop();
    }
  });

  it('a watch failure while a prefix view re-lists is not dropped: the view lists again', async () => {
    const inner = await backend.open();
    const prefix = fresh();
    const faults = { failingWatches: 0 };
    const view = new PrefixView(faultyStore(inner, faults), prefix);
    await view.start();
    try {
      faults.failingWatches = 1; // the re-list's new watch fails before the re-list has finished
      await view.resync();
      await inner.put(`${prefix}after`, '2');
      await waitFor(() => view.kvs.has(`${prefix}after`), 3000, 'the view to follow the store again');
    } finally {
      await view.close();
    }
  });
});
