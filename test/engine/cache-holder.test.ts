// The cache's data protocol between real holders (in one process, on an embedded store), with the
// test writing the placements a leader would: a write is acknowledged only once every holder of its
// epoch has it; a new owner takes the most advanced copy; a learner copies while writes go on and
// the owner switches once it has caught up; a holder out of room refuses and nothing changes.
import assert from 'node:assert/strict';
import { randomBytes } from 'node:crypto';
import { after, before, describe, it } from 'node:test';
import { CacheDirectory } from '../../src/engine/caches/cache-directory.js';
import { CacheHolder } from '../../src/engine/caches/cache-holder.js';
import { CachePeers } from '../../src/engine/caches/cache-peers.js';
import { CacheOpError, CacheRouter } from '../../src/engine/caches/cache-router.js';
import type { PartitionPlacement } from '../../src/engine/caches/cache-model.js';
import { Keys } from '../../src/engine/keys.js';
import { silentLogger } from '../../src/engine/log.js';
import { EmbeddedStore } from '../../src/store/index.js';
import { waitFor } from '../helpers/processes.js';

describe('cache holders', { timeout: 60_000 }, () => {
  const keys = new Keys('/t/');
  const peers = new CachePeers();
  let store: EmbeddedStore;
  let dir: CacheDirectory;
  let router: CacheRouter;
  const holders = new Map<string, CacheHolder>();

  const register = (w: string) => store.put(keys.worker(w), JSON.stringify({ capacity: 1, labels: {}, host: 'h', pid: 1, load: 0, draining: false, startedAt: '' }));
  const place = (id: string, p: PartitionPlacement) => store.put(keys.partition('c', id), JSON.stringify(p));
  const placement = async (id: string) => JSON.parse((await store.get(keys.partition('c', id)))!.value) as PartitionPlacement;
  /** A holder dies: it answers nothing more and its record goes (its lease expired). */
  const kill = async (w: string) => (await holders.get(w)!.stop(), await store.delete(keys.worker(w)));
  const digest = (w: string, id: string) => holders.get(w)!.handle({ op: 'digest', cache: 'c', id, meta: {} }).then((r) => (r.status === 200 ? String(r.meta.sha256) : undefined));

  before(async () => {
    store = await EmbeddedStore.open();
    await store.put(keys.cache('c'), JSON.stringify({ name: 'c', replicas: 2, strategy: 'nodes', createdAt: '' }));
    for (const w of ['a', 'b', 'c']) {
      await register(w);
      const h = new CacheHolder({ store, keys, log: silentLogger, workerId: w, peers, maxBytes: () => (w === 'c' ? 4096 : undefined) });
      holders.set(w, h);
      await h.start();
    }
    dir = new CacheDirectory(store, keys);
    await dir.start();
    router = new CacheRouter(dir, peers, { timeoutMs: 10_000 });
  });
  after(async () => {
    await dir.close();
    for (const h of holders.values()) await h.stop();
    await store.close();
  });

  it('acknowledges a write only once every holder of its epoch has it', async () => {
    await place('p1', { holders: ['a', 'b'], epoch: 1 });
    assert.equal(await router.set('c', 'p1', Buffer.from('x')), 1);
    await kill('b');
    let done = false;
    const append = router.append('c', 'p1', Buffer.from('y')).then((n) => ((done = true), n));
    await new Promise((r) => setTimeout(r, 500));
    assert.equal(done, false, 'acknowledged while a holder of its epoch did not have it');
    // The leader drops the dead holder: the owner serves on its own, and the write is answered once.
    await place('p1', { holders: ['a'], epoch: 2, prev: ['a', 'b'] });
    assert.equal(await append, 2);
    assert.equal((await router.get('c', 'p1')).toString(), 'xy');
    await waitFor(async () => !(await placement('p1')).prev, 5000, 'the owner to clear prev once it took over');
  });

  it('a new owner takes the most advanced copy (an owner died with a write that reached one replica only)', async () => {
    await register('b');
    const b = new CacheHolder({ store, keys, log: silentLogger, workerId: 'b', peers });
    holders.set('b', b);
    await b.start();
    await place('p2', { holders: ['c', 'a', 'b'], epoch: 1 });
    for (let i = 0; i < 20; i++) await router.append('c', 'p2', Buffer.from(`${i},`));
    // The owner applied write 21 and forwarded it; only b got it before the owner died.
    b.copies.apply('c', 'p2', 'append', Buffer.from('late,'), 'w-late');
    await kill('c');
    await place('p2', { holders: ['a', 'b'], epoch: 2, prev: ['c', 'a', 'b'] });
    const value = (await router.get('c', 'p2')).toString();
    assert.equal(value, `${Array.from({ length: 20 }, (_, i) => `${i},`).join('')}late,`);
    assert.equal(await digest('a', 'p2'), await digest('b', 'p2'));
    // A retry of the write that was never answered is answered, not applied twice.
    assert.equal(a_len(await holders.get('a')!.handle({ op: 'append', cache: 'c', id: 'p2', meta: { writeId: 'w-late' }, body: Buffer.from('late,') })), value.length);
  });

  it('a learner copies while writes go on; the owner switches once it has caught up; the old holder drops its copy', async () => {
    await register('c');
    const c = new CacheHolder({ store, keys, log: silentLogger, workerId: 'c', peers });
    holders.set('c', c);
    await c.start();
    await place('p3', { holders: ['a', 'b'], epoch: 1 });
    const acked: string[] = [];
    let stop = false;
    const writer = (async () => {
      for (let n = 0; !stop; n++) (await router.append('c', 'p3', Buffer.from(`${n};`)), acked.push(`${n};`));
    })();
    await waitFor(() => acked.length > 50, 5000, 'writes');
    await place('p3', { holders: ['a', 'b'], epoch: 1, next: ['c', 'a'] });
    await waitFor(async () => (await placement('p3')).holders.join() === 'c,a' && !(await placement('p3')).prev, 10_000, 'the switch to c, a');
    const switchedAt = acked.length;
    await waitFor(() => acked.length > switchedAt + 50, 5000, 'writes after the switch');
    stop = true;
    await writer;
    assert.equal((await router.get('c', 'p3')).toString(), acked.join(''));
    assert.equal(await digest('a', 'p3'), await digest('c', 'p3'));
    await waitFor(() => b_holds('p3') === false, 5000, 'b to drop its copy');
    function b_holds(id: string) {
      return holders.get('b')!.copies.state('c', id) !== undefined;
    }
  });

  it('a replica answers a write sent again, but not another write under a number it used (a write taken back elsewhere)', async () => {
    await place('p5', { holders: ['a', 'b'], epoch: 1 });
    await router.append('c', 'p5', Buffer.from('one;'));
    const b = holders.get('b')!;
    const seq = b.copies.state('c', 'p5')!.seq;
    const again = await b.handle({ op: 'write', cache: 'c', id: 'p5', meta: { epoch: 1, seq, op: 'append', writeId: [...b.copies.state('c', 'p5')!.recent].pop()![0] }, body: Buffer.from('one;') });
    assert.equal(again.status, 200, 'the same write, sent again');
    const other = await b.handle({ op: 'write', cache: 'c', id: 'p5', meta: { epoch: 1, seq, op: 'append', writeId: 'not-this-one' }, body: Buffer.from('two;') });
    assert.equal(other.status, 409);
    assert.equal(other.meta.error, 'sync', 'a different write under a used number: the replica must copy again');
    // Malformed calls change nothing.
    for (const meta of [{ epoch: Number.NaN, seq: 1, op: 'append', writeId: 'x' }, { epoch: 1, seq: -1, op: 'append', writeId: 'x' }, { epoch: 1 }, { epoch: 10 ** 9, seq: seq + 1, op: 'append', writeId: 'x' }]) {
      const r = await b.handle({ op: 'write', cache: 'c', id: 'p5', meta, body: Buffer.from('bad;') });
      assert.ok(r.status === 400 || r.status === 503, `${JSON.stringify(meta)} answered ${r.status}`);
    }
    assert.equal((await router.get('c', 'p5')).toString(), 'one;');
    assert.equal(await digest('a', 'p5'), await digest('b', 'p5'));
  });

  it('a holder out of room refuses the write (507 with the numbers) and no copy changes', async () => {
    const small = new CacheHolder({ store, keys, log: silentLogger, workerId: 'd', peers, maxBytes: () => 2048 });
    await register('d');
    holders.set('d', small);
    await small.start();
    await place('p4', { holders: ['a', 'd'], epoch: 1 });
    await router.set('c', 'p4', Buffer.from('kept'));
    const before = await digest('a', 'p4');
    await assert.rejects(router.append('c', 'p4', randomBytes(16_384)), (err: CacheOpError) => err.status === 507 && /max memory of 2048/.test(err.message));
    assert.equal(await digest('a', 'p4'), before);
    assert.equal(await digest('d', 'p4'), before);
    assert.equal((await router.get('c', 'p4')).toString(), 'kept');
  });
});

function a_len(r: { status: number; meta: Record<string, unknown> }): number {
  assert.equal(r.status, 200);
  return Number(r.meta.length);
}
