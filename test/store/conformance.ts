// The store contract's conformance suite, run unchanged against every backend.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import {
  CompactedError,
  FutureRevisionError,
  InvalidRequestError,
  LeaseKeeper,
  LeaseNotFoundError,
  NO_LEASE,
  type Store,
  type WatchBatch,
  type Watch,
} from '../../src/store/index.js';
import { waitFor } from '../helpers/processes.js';
import { pagingConformance } from './paging.js';
import { storeModelProperty } from './store-model.js';

export interface Backend {
  name: string;
  /** Opens a store (a fresh client on the same server for etcd). */
  open(): Promise<Store>;
  /** Releases what `open` needed beyond the stores (e.g. the etcd server). */
  dispose(): Promise<void>;
  /** Runs of the model-based property test. */
  propertyRuns: number;
}

/** Collects a watch's batches; `until` waits for a count. */
export function collect(watch: Watch): { batches: WatchBatch[]; until(n: number, ms?: number): Promise<WatchBatch[]> } {
  const batches: WatchBatch[] = [];
  watch.on('events', (b) => batches.push(b));
  return {
    batches,
    until: (n, ms = 5000) => waitFor(() => (batches.length >= n ? batches : undefined), ms, `${n} watch batches (have ${batches.length})`),
  };
}

/** A key prefix no other test uses. */
export const fresh = () => `/t/${randomUUID().slice(0, 8)}/`;

/** Registers the whole suite for one backend. */
export function storeConformance(backend: Backend): void {
  describe(`store conformance: ${backend.name}`, { timeout: 120_000 }, () => {
    let store: Store;
    before(async () => {
      store = await backend.open();
    });
    after(async () => {
      await store?.close();
      await backend.dispose();
    });

    it('put then get returns the value with revisions and version', async () => {
      const p = fresh();
      const a = await store.put(`${p}k`, 'v1');
      const b = await store.put(`${p}k`, 'v2');
      assert.ok(b.revision > a.revision);
      const kv = await store.get(`${p}k`);
      assert.deepEqual(kv, { key: `${p}k`, value: 'v2', createRevision: a.revision, modRevision: b.revision, version: 2, lease: NO_LEASE });
      assert.equal(await store.get(`${p}missing`), null);
    });

    it('keeps text exactly, including unicode and newlines', async () => {
      const p = fresh();
      const value = 'line one\nzwei — ünïcödé ✓ 🚀\0end';
      await store.put(`${p}ü`, value);
      assert.equal((await store.get(`${p}ü`))?.value, value);
    });

    it('ranges by prefix and by [key, end) with limit, sort, keys-only and count-only', async () => {
      const p = fresh();
      for (const k of ['c', 'a', 'b', 'd']) await store.put(`${p}${k}`, `value-${k}`);
      await store.put(`${p.slice(0, -1)}x`, 'outside the prefix');
      const all = await store.range(p, { prefix: true });
      assert.deepEqual(all.kvs.map((kv) => kv.key), ['a', 'b', 'c', 'd'].map((k) => p + k));
      assert.equal(all.count, 4);
      assert.equal(all.more, false);
      const limited = await store.range(p, { prefix: true, limit: 2 });
      assert.deepEqual(limited.kvs.map((kv) => kv.value), ['value-a', 'value-b']);
      assert.equal(limited.count, 4);
      assert.equal(limited.more, true);
      const between = await store.range(`${p}b`, { end: `${p}d` });
      assert.deepEqual(between.kvs.map((kv) => kv.key), [`${p}b`, `${p}c`]);
      const desc = await store.range(p, { prefix: true, sort: { target: 'create', order: 'desc' } });
      assert.deepEqual(desc.kvs.map((kv) => kv.key.slice(-1)), ['d', 'b', 'a', 'c']);
      const keysOnly = await store.range(p, { prefix: true, keysOnly: true });
      assert.deepEqual(keysOnly.kvs.map((kv) => kv.value), ['', '', '', '']);
      const counted = await store.range(p, { prefix: true, countOnly: true });
      assert.equal(counted.count, 4);
      assert.equal(counted.kvs.length, 0);
    });

    it('reads at a past revision, and refuses compacted and future revisions', async () => {
      const p = fresh();
      const r1 = await store.put(`${p}k`, 'old');
      const r2 = await store.put(`${p}k`, 'new');
      await store.delete(`${p}k`);
      assert.equal((await store.get(`${p}k`, { revision: r1.revision }))?.value, 'old');
      assert.equal((await store.get(`${p}k`, { revision: r2.revision }))?.value, 'new');
      assert.equal(await store.get(`${p}k`), null);
      const now = (await store.range(p, { prefix: true })).revision;
      await assert.rejects(store.range(p, { prefix: true, revision: now + 100 }), FutureRevisionError);
      await store.compact(r2.revision);
      await assert.rejects(store.get(`${p}k`, { revision: r1.revision }), CompactedError);
      assert.equal((await store.get(`${p}k`, { revision: r2.revision }))?.value, 'new');
      await assert.rejects(store.compact(r1.revision), CompactedError);
    });

    it('put returns the previous value; delete by key and by prefix returns what it removed', async () => {
      const p = fresh();
      await store.put(`${p}a`, '1');
      const put = await store.put(`${p}a`, '2', { prevKv: true });
      assert.equal(put.prev?.value, '1');
      await store.put(`${p}b`, '3');
      await store.put(`${p}c/x`, '4');
      const one = await store.delete(`${p}a`, { prevKv: true });
      assert.equal(one.deleted, 1);
      assert.deepEqual(one.prev.map((kv) => kv.value), ['2']);
      const none = await store.delete(`${p}a`);
      assert.equal(none.deleted, 0);
      const many = await store.delete(p, { prefix: true, prevKv: true });
      assert.equal(many.deleted, 2);
      assert.deepEqual(many.prev.map((kv) => kv.key).sort(), [`${p}b`, `${p}c/x`]);
      assert.equal((await store.range(p, { prefix: true })).count, 0);
    });

    it('transactions compare value, version, create and mod revision, and lease', async () => {
      const p = fresh();
      const k = `${p}k`;
      const created = await store.txn({
        compare: [{ key: k, target: 'create', op: '==', value: 0 }],
        success: [{ type: 'put', key: k, value: 'first' }],
        failure: [{ type: 'range', key: k }],
      });
      assert.equal(created.succeeded, true);
      const again = await store.txn({
        compare: [{ key: k, target: 'create', op: '==', value: 0 }],
        success: [{ type: 'put', key: k, value: 'second' }],
        failure: [{ type: 'range', key: k }],
      });
      assert.equal(again.succeeded, false);
      assert.equal(again.revision, created.revision, 'a txn that only reads does not change the revision');
      const read = again.results[0];
      assert.equal(read.type, 'range');
      assert.equal(read.type === 'range' && read.kvs[0].value, 'first');
      const checks = [
        { c: { key: k, target: 'value', op: '==', value: 'first' } as const, want: true },
        { c: { key: k, target: 'value', op: '!=', value: 'first' } as const, want: false },
        { c: { key: k, target: 'value', op: '>', value: 'fir' } as const, want: true },
        { c: { key: k, target: 'version', op: '==', value: 1 } as const, want: true },
        { c: { key: k, target: 'version', op: '>', value: 1 } as const, want: false },
        { c: { key: k, target: 'mod', op: '==', value: created.revision } as const, want: true },
        { c: { key: k, target: 'create', op: '<', value: created.revision + 1 } as const, want: true },
        { c: { key: k, target: 'lease', op: '==', value: NO_LEASE } as const, want: true },
        { c: { key: `${p}missing`, target: 'value', op: '!=', value: 'x' } as const, want: false },
        { c: { key: `${p}missing`, target: 'version', op: '==', value: 0 } as const, want: true },
      ];
      for (const { c, want } of checks) {
        const r = await store.txn({ compare: [c] });
        assert.equal(r.succeeded, want, `${c.target} ${c.op} ${c.value} on ${c.key}`);
      }
    });

    it('a transaction writes at one revision and its reads see its earlier writes', async () => {
      const p = fresh();
      await store.put(`${p}gone`, 'x');
      const r = await store.txn({
        success: [
          { type: 'put', key: `${p}a`, value: '1' },
          { type: 'range', key: p, prefix: true },
          { type: 'delete', key: `${p}gone`, prevKv: true },
          { type: 'put', key: `${p}b`, value: '2' },
        ],
      });
      assert.equal(r.succeeded, true);
      const [, range, del] = r.results;
      assert.deepEqual(range.type === 'range' && range.kvs.map((kv) => kv.key), [`${p}a`, `${p}gone`]);
      assert.equal(del.type === 'delete' && del.deleted, 1);
      const kvs = (await store.range(p, { prefix: true })).kvs;
      assert.deepEqual(kvs.map((kv) => kv.modRevision), [r.revision, r.revision]);
    });

    it('refuses a transaction with too many operations or a key written twice, and changes nothing', async () => {
      const p = fresh();
      const ops = Array.from({ length: 129 }, (_, i) => ({ type: 'put' as const, key: `${p}${i}`, value: 'v' }));
      await assert.rejects(store.txn({ success: ops }), InvalidRequestError);
      await assert.rejects(
        store.txn({ success: [{ type: 'put', key: `${p}a`, value: '1' }, { type: 'put', key: `${p}a`, value: '2' }] }),
        InvalidRequestError,
      );
      const after = await store.range(p, { prefix: true });
      assert.equal(after.count, 0);
      const ok = await store.txn({ success: ops.slice(0, 128) });
      assert.equal(ok.succeeded, true);
    });

    it('leases: grant, bind keys, time to live, keepalive, revoke deletes the keys', async () => {
      const p = fresh();
      const lease = await store.grantLease(10);
      assert.ok(lease.id !== NO_LEASE);
      await store.put(`${p}a`, '1', { lease: lease.id });
      await store.put(`${p}b`, '2', { lease: lease.id });
      assert.equal((await store.get(`${p}a`))?.lease, lease.id);
      const ttl = await store.leaseTimeToLive(lease.id, { keys: true });
      assert.ok(ttl && ttl.ttl > 0 && ttl.ttl <= 10, `ttl ${ttl?.ttl}`);
      assert.equal(ttl?.grantedTtl, 10);
      assert.deepEqual(ttl?.keys.sort(), [`${p}a`, `${p}b`]);
      assert.equal((await store.keepAliveOnce(lease.id)).ttl, 10);
      const bound = await store.txn({ compare: [{ key: `${p}a`, target: 'lease', op: '==', value: lease.id }] });
      assert.equal(bound.succeeded, true);
      await store.revokeLease(lease.id);
      assert.equal((await store.range(p, { prefix: true })).count, 0);
      assert.equal(await store.leaseTimeToLive(lease.id), null);
      await assert.rejects(store.keepAliveOnce(lease.id), LeaseNotFoundError);
      await assert.rejects(store.revokeLease(lease.id), LeaseNotFoundError);
      await assert.rejects(store.put(`${p}c`, '3', { lease: lease.id }), LeaseNotFoundError);
      assert.equal(await store.get(`${p}c`), null);
    });

    it('lease expiry deletes the keys within TTL + 1 s of the last keepalive, and watchers see the deletes', async () => {
      const p = fresh();
      const keeper = await LeaseKeeper.grant(store, 2);
      await store.put(`${p}a`, '1', { lease: keeper.id });
      const watch = store.watch(p, { prefix: true });
      await watch.ready;
      const seen = collect(watch);
      // Kept alive for longer than its TTL: the key stays.
      await new Promise((r) => setTimeout(r, 3000));
      assert.equal((await store.get(`${p}a`))?.value, '1');
      keeper.stop();
      const stoppedAt = Date.now();
      await waitFor(async () => (await store.get(`${p}a`)) === null, 5000, 'the leased key to expire', 50);
      const took = Date.now() - stoppedAt;
      assert.ok(took <= 3000, `expired ${took} ms after keepalives stopped (TTL 2 s)`);
      await seen.until(1);
      assert.equal(seen.batches[0].events[0].type, 'delete');
      assert.equal(seen.batches[0].events[0].kv.key, `${p}a`);
      await watch.close();
    });

    it('a lease keeper reports the lease lost when it is revoked elsewhere', async () => {
      const keeper = await LeaseKeeper.grant(store, 1);
      const lost = new Promise<Error>((resolve) => keeper.once('lost', resolve));
      await store.revokeLease(keeper.id);
      const err = await lost;
      assert.ok(err instanceof LeaseNotFoundError);
      assert.equal(keeper.active, false);
    });

    it('watches deliver every change in revision order, one batch per revision, with previous values', async () => {
      const p = fresh();
      const watch = store.watch(p, { prefix: true, prevKv: true });
      await watch.ready;
      const seen = collect(watch);
      const revs: number[] = [];
      revs.push((await store.put(`${p}a`, '1')).revision);
      revs.push((await store.put(`${p}a`, '2')).revision);
      await store.put(`${p.slice(0, -1)}-not-in-prefix`, 'x');
      revs.push((await store.txn({ success: [{ type: 'put', key: `${p}b`, value: '3' }, { type: 'delete', key: `${p}a` }] })).revision);
      await seen.until(3);
      assert.deepEqual(seen.batches.map((b) => b.revision), revs);
      assert.deepEqual(seen.batches[1].events[0].prev?.value, '1');
      const last = seen.batches[2].events;
      assert.deepEqual(last.map((e) => [e.type, e.kv.key]), [['put', `${p}b`], ['delete', `${p}a`]]);
      assert.equal(last[1].kv.modRevision, revs[2]);
      assert.equal(last[1].prev?.value, '2');
      assert.equal(watch.lastRevision, revs[2]);
      await watch.close();
      await store.put(`${p}a`, 'after close');
      await new Promise((r) => setTimeout(r, 100));
      assert.equal(seen.batches.length, 3, 'a closed watch delivers nothing');
    });

    it('a watch from a past revision replays history, then follows live changes without a gap', async () => {
      const p = fresh();
      const first = await store.put(`${p}k`, '0');
      for (let i = 1; i < 20; i++) await store.put(`${p}k`, String(i));
      const watch = store.watch(`${p}k`, { fromRevision: first.revision });
      const seen = collect(watch);
      await watch.ready;
      for (let i = 20; i < 30; i++) await store.put(`${p}k`, String(i));
      await seen.until(30);
      assert.deepEqual(seen.batches.map((b) => b.events[0].kv.value), Array.from({ length: 30 }, (_, i) => String(i)));
      for (let i = 1; i < seen.batches.length; i++) assert.ok(seen.batches[i].revision > seen.batches[i - 1].revision);
      await watch.close();
    });

    it('a watch from a compacted revision fails with CompactedError', async () => {
      const p = fresh();
      const first = await store.put(`${p}k`, '1');
      const second = await store.put(`${p}k`, '2');
      await store.put(`${p}k`, '3');
      await store.compact(second.revision);
      const watch = store.watch(`${p}k`, { fromRevision: first.revision });
      const errored = new Promise<Error>((resolve) => watch.on('error', resolve));
      const seen = collect(watch);
      const err = await errored;
      assert.ok(err instanceof CompactedError, String(err));
      assert.equal(seen.batches.length, 0);
      await watch.close();
    });

    it('many concurrent create-if-absent transactions: exactly one wins', async () => {
      const p = fresh();
      const clients = await Promise.all([store, await backend.open(), await backend.open()].map(async (s) => s));
      try {
        const attempts = Array.from({ length: 60 }, (_, i) =>
          clients[i % clients.length].txn({
            compare: [{ key: `${p}claim`, target: 'create', op: '==', value: 0 }],
            success: [{ type: 'put', key: `${p}claim`, value: `w${i}` }],
          }),
        );
        const results = await Promise.all(attempts);
        assert.equal(results.filter((r) => r.succeeded).length, 1);
        const winner = results.findIndex((r) => r.succeeded);
        assert.equal((await store.get(`${p}claim`))?.value, `w${winner}`);
      } finally {
        for (const c of clients.slice(1)) if (c !== store) await c.close();
      }
    });

    it('property: any sequence of writes matches a reference model, and a watch replays it exactly', async () => {
      await storeModelProperty(store, fresh, backend.propertyRuns);
    });

    pagingConformance(() => store, Math.ceil(backend.propertyRuns / 2));
  });
}
