// Large values on a real etcd, through a client whose gRPC receive limit is set low: lists shrink
// their pages when an answer is refused as too large, watches get large bursts in fragments, and
// an answer that can never fit fails once, with an error that says so, instead of retrying forever.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { EtcdStore, listPrefix, ResponseTooLargeError, type WatchBatch } from '../../src/store/index.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { waitFor } from '../helpers/processes.js';

const MiB = 1024 * 1024;
const fresh = () => `/big/${randomUUID().slice(0, 8)}/`;

describe('etcd: answers larger than the gRPC receive limit', { timeout: 60_000 }, () => {
  let etcd: EtcdCluster;
  let writer: EtcdStore;
  const stores: EtcdStore[] = [];
  const client = (maxResponseBytes: number) => {
    const s = new EtcdStore({ endpoints: etcd.endpoints, maxResponseBytes });
    stores.push(s);
    return s;
  };
  before(async () => {
    etcd = await startEtcd();
    writer = new EtcdStore({ endpoints: etcd.endpoints });
  });
  after(async () => {
    for (const s of stores) await s.close();
    await writer?.close();
    await etcd?.stop();
  });

  it('lists 12 MiB through a 3 MiB receive limit, shrinking a page that is refused', async () => {
    const p = fresh();
    for (let i = 0; i < 12; i++) await writer.put(`${p}${String(i).padStart(2, '0')}`, String(i % 10).repeat(MiB - 100));
    // The first read asks for 4 keys (4 MiB): refused, then read again in smaller pages.
    const { kvs } = await listPrefix(client(3 * MiB), p);
    assert.equal(kvs.length, 12);
    kvs.forEach((kv, i) => assert.ok(kv.value === String(i % 10).repeat(MiB - 100)));
  });

  it('a watch catching up over 12 revisions of 1 MiB gets them all through a 4 MiB limit (etcd sends fragments)', async () => {
    const p = fresh();
    const first = await writer.put(`${p}00`, 'a'.repeat(MiB - 100));
    for (let i = 1; i < 12; i++) await writer.put(`${p}${String(i).padStart(2, '0')}`, 'a'.repeat(MiB - 100));
    const watch = client(4 * MiB).watch(p, { prefix: true, fromRevision: first.revision, prevKv: true });
    const batches: WatchBatch[] = [];
    const disconnects: Error[] = [];
    watch.on('events', (b) => batches.push(b));
    watch.on('disconnected', (e) => disconnects.push(e));
    try {
      await waitFor(() => batches.length === 12, 20_000, `12 batches (have ${batches.length}, ${disconnects.length} disconnects: ${disconnects[0]?.message})`);
      assert.deepEqual(batches.map((b) => b.revision), Array.from({ length: 12 }, (_, i) => first.revision + i));
      assert.deepEqual(disconnects, []);
    } finally {
      await watch.close();
    }
  });

  it('an event larger than the limit ends the watch once with ResponseTooLargeError, and a list of it says so too', async () => {
    const p = fresh();
    const small = client(MiB);
    const watch = small.watch(p, { prefix: true });
    const errors: Error[] = [];
    let disconnects = 0;
    watch.on('error', (e) => errors.push(e));
    watch.on('disconnected', () => disconnects++);
    try {
      await watch.ready;
      await writer.put(`${p}big`, 'b'.repeat(1.2 * MiB));
      await waitFor(() => errors.length > 0, 10_000, 'the watch to fail');
      await new Promise((r) => setTimeout(r, 500));
      assert.equal(errors.length, 1);
      assert.ok(errors[0] instanceof ResponseTooLargeError, String(errors[0]));
      assert.equal(disconnects, 0, 'no retry loop on an answer that can never fit');
      await assert.rejects(listPrefix(small, p), ResponseTooLargeError);
    } finally {
      await watch.close();
    }
  });
});
