// Session, election, membership and prefix views on both backends.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Election } from '../../src/recipes/election.js';
import { Membership, updateRecord } from '../../src/recipes/membership.js';
import { PrefixView } from '../../src/recipes/prefix-view.js';
import { Session, SessionFencedError } from '../../src/recipes/session.js';
import { EtcdStore } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/processes.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';
import { fresh } from '../store/conformance.js';

forEachBackend('recipes', (backend) => {
  it('election: candidates lead one at a time, in the order they joined; a lost session hands over at once', async () => {
    const store = await backend.open();
    const prefix = `${fresh()}leader/`;
    const sessions = await Promise.all([0, 1, 2].map(() => Session.open(store, { ttl: 10 })));
    const elections = sessions.map((s, i) => new Election(store, s, prefix, `node-${i}`));
    const order: string[] = [];
    await elections[0].campaign();
    order.push('node-0');
    // Join one after the other, so the order of their keys is known.
    const waiting = [];
    for (const e of elections.slice(1)) {
      waiting.push(e.campaign().then(() => order.push(e.candidate)));
      await waitFor(async () => (await store.get(e.key)) !== null, 3000, `${e.candidate} to join`);
    }
    await new Promise((r) => setTimeout(r, 300));
    assert.deepEqual(order, ['node-0'], 'only one leader while the first holds');
    assert.equal(await Election.leader(store, prefix), 'node-0');
    const deposed = new Promise((r) => elections[0].once('deposed', r));
    const fence = elections[0].fence();
    await sessions[0].close();
    await deposed;
    assert.equal(elections[0].isLeader, false);
    await waitFor(() => order.length === 2, 5000, 'the second candidate to lead');
    assert.deepEqual(order, ['node-0', 'node-1']);
    assert.equal(elections[1].isLeader, true);
    assert.equal(elections[2].isLeader, false);
    // The deposed leader's writes carry its fence and now fail.
    const late = await store.txn({ compare: [fence], success: [{ type: 'put', key: `${prefix}late`, value: 'x' }] });
    assert.equal(late.succeeded, false);
    const ok = await store.txn({ compare: [elections[1].fence()], success: [{ type: 'put', key: `${prefix}x`, value: 'y' }] });
    assert.equal(ok.succeeded, true);
    await sessions[1].close();
    await Promise.all(waiting);
    assert.deepEqual(order, ['node-0', 'node-1', 'node-2']);
    await sessions[2].close();
  });

  it('election with priorities: the highest leads, a higher one joining takes over at once, the old fence fails', async () => {
    const store = await backend.open();
    const prefix = `${fresh()}leader/`;
    const sessions = await Promise.all([0, 1, 2].map(() => Session.open(store, { ttl: 10 })));
    const [low, high, mid] = [new Election(store, sessions[0], prefix, 'low', 1), new Election(store, sessions[1], prefix, 'high', 5), new Election(store, sessions[2], prefix, 'mid', 3)];
    await low.campaign();
    const lowFence = low.fence();
    const lowDeposed = new Promise((r) => low.once('deposed', r));
    // A higher priority joins: the sitting leader steps down and the office passes.
    const highElected = high.campaign();
    await lowDeposed;
    await highElected;
    assert.equal(high.isLeader, true);
    assert.equal(low.isLeader, false);
    assert.equal(await Election.leader(store, prefix), 'high');
    const late = await store.txn({ compare: [lowFence], success: [{ type: 'put', key: `${prefix}late`, value: 'x' }] });
    assert.equal(late.succeeded, false, 'the deposed leader writes nothing');
    // A lower one joining changes nothing; it waits.
    let midLeads = false;
    const midElected = mid.campaign().then(() => (midLeads = true));
    await new Promise((r) => setTimeout(r, 300));
    assert.equal(midLeads, false);
    assert.equal(high.isLeader, true);
    assert.deepEqual((await Election.candidates(store, prefix)).map((c) => c.id).slice(0, 2), ['high', 'mid']);
    // Its priority lowered live below mid's: high steps down and mid leads.
    await high.setPriority(0);
    await midElected;
    assert.equal(mid.isLeader, true);
    assert.equal(high.isLeader, false);
    assert.equal(await Election.leader(store, prefix), 'mid');
    await Promise.all(sessions.map((s) => s.close()));
  });

  it('election: a leader that stepped down writes nothing, even while the office stands empty', async () => {
    const store = await backend.open();
    const prefix = `${fresh()}leader/`;
    const [sa, sb] = await Promise.all([0, 1].map(() => Session.open(store, { ttl: 10 })));
    const a = new Election(store, sa, prefix, 'a', 1);
    await a.campaign();
    const deposed = new Promise((r) => a.once('deposed', r));
    const b = new Election(store, sb, prefix, 'b', 5);
    await b.campaign();
    await deposed;
    await b.resign();
    assert.equal(await store.get(`${prefix.slice(0, -1)}-office`), null, 'the office is empty');
    // A fence asked for now (a write still under way in the old leader) must not pass on an empty office.
    const late = await store.txn({ compare: [a.fence()], success: [{ type: 'put', key: `${prefix}late`, value: 'x' }] });
    assert.equal(late.succeeded, false);
    await Promise.all([sa.close(), sb.close()]);
  });

  it('election: the last in line raising its own priority takes over (it wakes on its own change)', async () => {
    const store = await backend.open();
    const prefix = `${fresh()}leader/`;
    const sessions = await Promise.all([0, 1, 2].map(() => Session.open(store, { ttl: 10 })));
    const [a, b, c] = sessions.map((s, i) => new Election(store, s, prefix, `n${i}`));
    await a.campaign();
    const bElected = b.campaign().catch(() => undefined);
    await waitFor(async () => (await store.get(b.key)) !== null, 3000, 'b to join');
    const cElected = c.campaign();
    await waitFor(async () => (await store.get(c.key)) !== null, 3000, 'c to join');
    await c.setPriority(5);
    await cElected;
    assert.equal(c.isLeader, true);
    assert.equal(a.isLeader, false);
    assert.equal(await Election.leader(store, prefix), 'n2');
    await Promise.all(sessions.map((s) => s.close()));
    await bElected;
  });

  it('membership: members appear on join, vanish when their lease goes, and CAS updates keep every field', async () => {
    const store = await backend.open();
    const prefix = `${fresh()}workers/`;
    const members = new Membership<{ load: number; draining?: boolean }>(store, prefix, (v) => JSON.parse(v));
    await members.start();
    const a = await Session.open(store, { ttl: 10 });
    const b = await Session.open(store, { ttl: 10 });
    await updateRecord(store, `${prefix}a`, () => ({ load: 0 }), { lease: a.lease });
    await updateRecord(store, `${prefix}b`, () => ({ load: 0 }), { lease: b.lease });
    await waitFor(() => members.members().length === 2, 3000, 'two members');
    // The member and an operator update the same record at once: neither change is lost.
    await Promise.all([
      ...Array.from({ length: 10 }, (_, i) => updateRecord<{ load: number; draining?: boolean }>(store, `${prefix}a`, (r) => ({ ...r!, load: Math.max(r!.load, i + 1) }))),
      updateRecord<{ load: number; draining?: boolean }>(store, `${prefix}a`, (r) => ({ ...r!, draining: true })),
    ]);
    await waitFor(() => members.get('a')?.record.load === 10 && members.get('a')?.record.draining === true, 3000, 'both fields');
    assert.equal(members.get('a')!.lease, a.lease, 'the record keeps its lease');
    assert.equal((await updateRecord(store, `${prefix}nobody`, () => ({ load: 1 }))).updated, false);
    await a.close();
    await waitFor(() => members.members().map((m) => m.id).join() === 'b', 3000, 'a to leave');
    await b.close();
    await members.close();
  });

  it('session: valid while kept alive; revoking elsewhere ends it with a lost event', async () => {
    const store = await backend.open();
    const session = await Session.open(store, { ttl: 2 });
    assert.equal(session.valid, true);
    const renewed = new Promise((r) => session.once('renewed', r));
    await renewed;
    assert.ok(session.fenceAt > Date.now());
    const lost = new Promise<Error>((r) => session.once('lost', r));
    await store.revokeLease(session.lease);
    await lost;
    assert.equal(session.valid, false);
  });

  if (backend.name === 'etcd') {
    it('session: cut off from etcd, it fences itself before the lease can expire', async () => {
      const cluster = await backend.etcd!();
      const proxy = await TcpProxy.start(Number(new URL(cluster.endpoints[0]).port));
      const cutOff = new EtcdStore({ endpoints: [proxy.url] });
      const direct = await backend.open();
      try {
        const session = await Session.open(cutOff, { ttl: 3 });
        await new Promise((r) => session.once('renewed', r));
        proxy.cut();
        const err = await new Promise<Error>((r) => session.once('lost', r));
        assert.ok(err instanceof SessionFencedError, String(err));
        const status = await direct.leaseTimeToLive(session.lease);
        assert.notEqual(status, null, 'the lease had not expired yet when the session fenced itself');
      } finally {
        proxy.restore();
        await cutOff.close();
        await proxy.close();
      }
    });

    it('prefix view: after a cut during which history was compacted, it lists again and matches the store', async () => {
      const cluster = await backend.etcd!();
      const proxy = await TcpProxy.start(Number(new URL(cluster.endpoints[0]).port));
      const viewer = new EtcdStore({ endpoints: [proxy.url] });
      const direct = await backend.open();
      const prefix = fresh();
      try {
        const view = new PrefixView(viewer, prefix);
        let resets = 0;
        view.on('reset', () => resets++);
        await direct.put(`${prefix}a`, '1');
        await view.start();
        assert.equal(view.kvs.get(`${prefix}a`)?.value, '1');
        proxy.cut();
        await direct.put(`${prefix}b`, '2');
        await direct.delete(`${prefix}a`);
        const r = await direct.put(`${prefix}c`, '3');
        await direct.compact(r.revision);
        proxy.restore();
        await waitFor(() => [...view.kvs.keys()].sort().join() === `${prefix}b,${prefix}c`, 10_000, 'the view to catch up');
        assert.ok(resets >= 2, `listed again after the compaction (${resets} loads)`);
        await view.close();
      } finally {
        await viewer.close();
        await proxy.close();
      }
    });
  }

  it('prefix view: follows puts and deletes in order', async () => {
    const store = await backend.open();
    const prefix = fresh();
    const view = new PrefixView(store, prefix);
    await view.start();
    await store.put(`${prefix}x`, '1');
    await store.put(`${prefix}y`, '2');
    await store.delete(`${prefix}x`);
    await waitFor(() => view.kvs.size === 1 && view.kvs.get(`${prefix}y`)?.value === '2', 3000, 'the view');
    await view.close();
  });
});
