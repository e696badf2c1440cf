// Watches of one EtcdStore share one gRPC watch stream (etcd counts its streams and watchers in its
// own /metrics): a worker process with a hundred workers, or a worker waiting on hundreds of
// handovers, opens one stream, not hundreds. Each watch still gets exactly its own events, a
// closed one stops alone, and all of them resume across a cut connection without a gap.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import type { Watch, WatchBatch } from '../../src/store/index.js';
import { waitFor } from '../helpers/processes.js';
import { useProxiedEtcd } from '../helpers/tcp-proxy.js';
import { fresh } from './conformance.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

async function gauge(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return Number(line?.split(' ')[1] ?? NaN);
}

describe('etcd watches share one stream', { timeout: 60_000 }, () => {
  const net = useProxiedEtcd();

  it('100 watches: one stream, each its own events, a closed one alone stops, all resume after a cut', async () => {
    const url = net.etcd.endpoints[0];
    const streams0 = await gauge(url, 'etcd_debugging_mvcc_watch_stream_total');
    const watchers0 = await gauge(url, 'etcd_debugging_mvcc_watcher_total');
    const p = fresh();
    const got = new Map<number, string[]>();
    const watches: Watch[] = [];
    for (let i = 0; i < 100; i++) {
      const w = net.viaProxy.watch(`${p}${i}`);
      got.set(i, []);
      w.on('events', (b: WatchBatch) => b.events.forEach((e) => got.get(i)!.push(`${e.type} ${e.kv.value}`)));
      watches.push(w);
    }
    await Promise.all(watches.map((w) => w.ready));
    await waitFor(async () => (await gauge(url, 'etcd_debugging_mvcc_watcher_total')) - watchers0 === 100, 5000, '100 watchers in etcd');
    const streams = (await gauge(url, 'etcd_debugging_mvcc_watch_stream_total')) - streams0;
    assert.equal(streams, 1, `100 watches on ${streams} streams`);

    for (let i = 0; i < 100; i++) await net.direct.put(`${p}${i}`, `a${i}`);
    await waitFor(() => [...got.values()].every((e) => e.length === 1), 5000, 'each watch its first event');
    for (let i = 0; i < 100; i++) assert.deepEqual(got.get(i), [`put a${i}`], `watch ${i} saw only its own key`);

    // Half of them closed: etcd drops those watchers, the others go on.
    await Promise.all(watches.slice(0, 50).map((w) => w.close()));
    await waitFor(async () => (await gauge(url, 'etcd_debugging_mvcc_watcher_total')) - watchers0 === 50, 5000, '50 watchers left in etcd');
    net.proxy.cut();
    for (let i = 0; i < 100; i++) await net.direct.put(`${p}${i}`, `b${i}`);
    await sleep(500);
    net.proxy.restore();
    for (let i = 0; i < 100; i++) await net.direct.put(`${p}${i}`, `c${i}`);
    await waitFor(() => [...got.entries()].every(([i, e]) => e.length === (i < 50 ? 1 : 3)), 10_000, 'the open watches to catch up');
    await sleep(200);
    for (let i = 0; i < 100; i++) assert.deepEqual(got.get(i), i < 50 ? [`put a${i}`] : [`put a${i}`, `put b${i}`, `put c${i}`], `watch ${i}`);
    await Promise.all(watches.map((w) => w.close()));
  });

  it('a watch opened while etcd is down starts once it is back (a stream that could not be opened is opened again)', async () => {
    const p = fresh();
    const seen: string[] = [];
    const before = net.direct.watch(`${p}old`);
    before.on('events', (b: WatchBatch) => b.events.forEach((e) => seen.push(e.kv.key.slice(p.length))));
    await before.ready;
    await net.etcd.members[0].stop();
    let during: Watch | undefined;
    try {
      await sleep(1500);
      during = net.direct.watch(`${p}new`);
      during.on('events', (b: WatchBatch) => b.events.forEach((e) => seen.push(e.kv.key.slice(p.length))));
      await sleep(2500);
    } finally {
      await net.etcd.members[0].restart();
    }
    await waitFor(async () => Boolean(await net.direct.put(`${p}old`, '1').catch(() => false)), 10_000, 'etcd to take writes');
    await net.direct.put(`${p}new`, '1');
    await waitFor(() => seen.includes('old') && seen.includes('new'), 10_000, `both watches to see their key (saw ${seen.join(', ')})`);
    await before.close();
    await during?.close();
  });
});
