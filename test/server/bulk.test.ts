// Bulk submission (BullMQ's addBulk): POST /work with a JSON array adds every item or none, on both
// backends — over several transactions when etcd's 128-operation limit demands, and against a
// concurrent request that takes some of the same ids.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { HttpClient } from '../../src/client/http-client.js';
import { StoreClient } from '../../src/client/store-client.js';
import { Keys } from '../../src/engine/keys.js';
import { buildServer } from '../../src/server/app.js';
import type { Store } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { fresh } from '../store/conformance.js';

forEachBackend('bulk submission', (backend) => {
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  let keys: Keys;
  before(async () => {
    store = await backend.open();
    keys = new Keys(fresh());
    app = await buildServer({ client: new StoreClient(store, keys) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => app?.close());

  const post = async (body: unknown) => {
    const res = await fetch(`${base}/work`, { method: 'POST', body: JSON.stringify(body), headers: { 'content-type': 'application/json' } });
    return { status: res.status, body: (await res.json()) as any };
  };
  const ids = async () => (await store.range(keys.registry, { prefix: true, keysOnly: true })).kvs.map((kv) => kv.key.slice(keys.registry.length)).sort();
  const revision = async () => (await store.range(keys.prefix, { prefix: true, countOnly: true })).revision;

  it('adds 250 items with their specs in one request (more than one transaction holds)', async () => {
    const items = Array.from({ length: 250 }, (_, i) =>
      i % 2 ? { id: `svc-${i}`, content: `c${i}`, weight: 2 } : { content: `task ${i}`, kind: 'task', command: ['true'] },
    );
    const r = await post(items);
    assert.equal(r.status, 201);
    assert.equal(r.body.length, 250);
    assert.equal(new Set(r.body.map((v: { id: string }) => v.id)).size, 250);
    assert.deepEqual(await ids(), r.body.map((v: { id: string }) => v.id).sort());
    assert.equal(JSON.parse((await store.get(keys.spec('svc-1')))!.value).weight, 2);
    assert.equal(JSON.parse((await store.get(keys.spec(r.body[0].id)))!.value).kind, 'task');
    // The Node client takes an array too.
    const views = await new HttpClient(base).addWork([{ content: 'a' }, { content: 'b', id: 'from-client' }]);
    assert.deepEqual(views.map((v) => v.content), ['a', 'b']);
    assert.ok((await ids()).includes('from-client'));
  });

  it('clears what an earlier item of a chosen id left behind (its result and attempts would stop it running)', async () => {
    await store.put(keys.result('old-1'), '{"status":"succeeded"}');
    await store.put(keys.attempt('old-1', '0001'), '{}');
    await store.put(keys.spec('old-2'), '{"kind":"task","weight":1,"selector":{}}');
    const r = await post([{ id: 'old-1', content: 'again' }, { id: 'old-2', content: 'plain' }, { content: 'fresh' }]);
    assert.equal(r.status, 201);
    assert.equal(await store.get(keys.result('old-1')), null);
    assert.equal((await store.range(keys.attempt('old-1'), { prefix: true, countOnly: true })).count, 0);
    assert.equal(await store.get(keys.spec('old-2')), null, 'a default spec leaves no specs/ key');
  });

  it('adds nothing when one id is taken, and says which', async () => {
    const before = await revision();
    const r = await post(Array.from({ length: 200 }, (_, i) => ({ id: i === 150 ? 'svc-1' : `new-${i}`, content: 'x' })));
    assert.equal(r.status, 409);
    assert.match(r.body.message, /svc-1.*nothing of this request was added/);
    assert.equal(await revision(), before);
  });

  it('refuses a bad bulk with a message naming the item, writing nothing', async () => {
    const before = await revision();
    const cases: Array<[unknown, number, RegExp]> = [
      [[], 400, /empty/],
      [[{ content: 'a', id: 'twice' }, { content: 'b', id: 'twice' }], 400, /item 1: .*twice.*appears twice/],
      [[{ content: 'a' }, { content: 'b' }, { content: 'c', weight: 0 }], 400, /item 2: .*weight/],
      [[{ content: 'a' }, 'just a string'], 400, /item 1/],
      [Array.from({ length: 1001 }, () => ({ content: '' })), 413, /1001.*1000.*bulkItems/],
      [Array.from({ length: 3 }, () => ({ content: 'x'.repeat(400_000) })), 413, /limit of 1114112 bytes \(it has 1200\d{3}\)/],
      [Array.from({ length: 3 }, () => ({ content: 'x'.repeat(350_000) })), 413, /1050000.*1048576/],
    ];
    for (const [body, status, re] of cases) {
      const r = await post(body);
      assert.equal(r.status, status, `${JSON.stringify(body).slice(0, 80)} → ${r.status} ${r.body.message}`);
      assert.match(r.body.message, re);
    }
    assert.equal(await revision(), before);
  });

  it('two bulks racing for the same ids: each adds all of its items or none', async () => {
    const bulk = (side: string) => [...Array.from({ length: 120 }, (_, i) => ({ id: `${side}-${i}`, content: side })), ...Array.from({ length: 60 }, (_, i) => ({ id: `shared-${i}`, content: side }))];
    for (let round = 0; round < 3; round++) {
      const [a, b] = [bulk(`a${round}`), bulk(`b${round}`)];
      const [ra, rb] = await Promise.all([post(a), post(b)]);
      const present = new Set(await ids());
      for (const [items, r] of [[a, ra], [b, rb]] as const) {
        const mine = items.filter((x) => !x.id.startsWith('shared-')).map((x) => x.id);
        const added = mine.filter((id) => present.has(id)).length;
        assert.ok(r.status === 201 || r.status === 409, `status ${r.status}`);
        assert.equal(added, r.status === 201 ? mine.length : 0, `round ${round}: ${r.status} but ${added} of ${mine.length} added`);
      }
      assert.ok(!(ra.status === 201 && rb.status === 201), 'both cannot win the shared ids');
      // The shared ids hold the winner's content, or are free when neither won.
      const shared = await Promise.all(Array.from({ length: 60 }, (_, i) => store.get(keys.item(`shared-${i}`))));
      const winner = ra.status === 201 ? `a${round}` : rb.status === 201 ? `b${round}` : undefined;
      for (const kv of shared) assert.equal(kv?.value, winner);
      await store.delete(keys.registry, { prefix: true });
      await store.delete(keys.specs, { prefix: true });
    }
  });
});
