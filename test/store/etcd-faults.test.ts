// The etcd backend under faults: a cut connection (TCP proxy) and a killed cluster leader.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { EtcdStore, LeaseKeeper, LeaseNotFoundError, type WatchBatch } from '../../src/store/index.js';
import { startEtcdCluster, type EtcdCluster } from '../helpers/etcd.js';
import { waitFor } from '../helpers/processes.js';
import { useProxiedEtcd } from '../helpers/tcp-proxy.js';
import { fresh } from './conformance.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

describe('etcd backend across a cut connection', { timeout: 60_000 }, () => {
  const net = useProxiedEtcd();

  it('a watch keeps every event, in order and once, across a severed and restored connection', async () => {
    const p = fresh();
    const watch = net.viaProxy.watch(p, { prefix: true });
    const batches: WatchBatch[] = [];
    let disconnects = 0;
    let reconnects = 0;
    watch.on('events', (b) => batches.push(b));
    watch.on('disconnected', () => disconnects++);
    watch.on('reconnected', () => reconnects++);
    await watch.ready;
    const written: number[] = [];
    const write = async (from: number, to: number) => {
      for (let i = from; i < to; i++) written.push((await net.direct.put(`${p}${i}`, String(i))).revision);
    };
    await write(0, 50);
    await waitFor(() => batches.length >= 50, 5000, 'the first 50 events');
    net.proxy.cut();
    await write(50, 150); // while the watcher is cut off
    await sleep(1500);
    assert.equal(batches.length, 50, 'nothing arrives while cut');
    net.proxy.restore();
    await write(150, 200);
    await waitFor(() => batches.length >= 200, 10_000, `all 200 events (have ${batches.length})`);
    await sleep(100);
    assert.deepEqual(batches.map((b) => b.revision), written, 'every revision exactly once, in order');
    assert.deepEqual(batches.map((b) => b.events[0].kv.value), Array.from({ length: 200 }, (_, i) => String(i)));
    assert.ok(disconnects >= 1 && reconnects >= 1, `disconnected ${disconnects}, reconnected ${reconnects}`);
    await watch.close();
  });

  it('a lease keeper cut off for longer than its TTL reports the lease lost, and etcd has expired it', async () => {
    const keeper = await LeaseKeeper.grant(net.viaProxy, 2);
    const lost = new Promise<number>((resolve) => keeper.once('lost', () => resolve(Date.now())));
    await sleep(800);
    const cutAt = Date.now();
    net.proxy.cut();
    const lostAt = await lost;
    assert.ok(lostAt - cutAt <= 2500, `lost reported ${lostAt - cutAt} ms after the cut (TTL 2 s)`);
    net.proxy.restore();
    await waitFor(async () => (await net.direct.leaseTimeToLive(keeper.id)) === null, 3000, 'etcd to expire the lease');
    await assert.rejects(net.viaProxy.keepAliveOnce(keeper.id), LeaseNotFoundError);
  });
});

describe('etcd backend when the cluster leader is killed', { timeout: 90_000 }, () => {
  let cluster: EtcdCluster;
  let store: EtcdStore;
  before(async () => {
    cluster = await startEtcdCluster(3); // etcd's default raft timers, as in production
    store = new EtcdStore({ endpoints: cluster.endpoints });
  });
  after(async () => {
    await store?.close();
    await cluster?.stop();
  });

  it('loses no acknowledged write and resumes writing soon after a new leader is elected', async () => {
    const p = fresh();
    const acked: Array<{ key: string; value: string; at: number }> = [];
    let stop = false;
    let failures = 0;
    const writer = async (w: number) => {
      for (let i = 0; !stop; i++) {
        const key = `${p}${w}/${i}`;
        try {
          await store.put(key, `v${i}`);
          acked.push({ key, value: `v${i}`, at: Date.now() });
        } catch {
          failures++; // not acknowledged: may or may not exist, either is fine
        }
      }
    };
    const writers = [0, 1, 2, 3].map(writer);
    await sleep(1000);
    const leader = await cluster.leader();
    const killedAt = Date.now();
    await leader.kill();
    await sleep(6000);
    stop = true;
    await Promise.all(writers);
    const before = acked.filter((a) => a.at < killedAt).length;
    assert.ok(before > 50, `writes before the kill: ${before}`);
    // The stall: the longest time without any acknowledgement from the kill on.
    const times = [killedAt, ...acked.filter((a) => a.at >= killedAt).map((a) => a.at)];
    let stallMs = 0;
    for (let i = 1; i < times.length; i++) stallMs = Math.max(stallMs, times[i] - times[i - 1]);
    const after = times.length - 1;
    console.log(`# leader killed: longest stall ${stallMs} ms; ${before} writes before, ${after} after, ${failures} failed`);
    assert.ok(after > 50, `writes after the kill: ${after}`);
    assert.ok(stallMs < 6000, `writes stalled for ${stallMs} ms`);
    const survivors = cluster.members.filter((m) => m !== leader).map((m) => m.clientUrl);
    const check = new EtcdStore({ endpoints: survivors });
    try {
      const stored = new Map((await check.range(p, { prefix: true })).kvs.map((kv) => [kv.key, kv.value]));
      const lost = acked.filter((a) => stored.get(a.key) !== a.value);
      assert.deepEqual(lost, [], 'every acknowledged write is in the cluster');
    } finally {
      await check.close();
    }
  });
});
