// The HTTP API over real HTTP: the etcd allocator's calls, JSON specs, and every kind of bad input.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { StoreClient } from '../../src/client/store-client.js';
import { Keys } from '../../src/engine/keys.js';
import { buildServer } from '../../src/server/app.js';
import { EmbeddedStore, type Store } from '../../src/store/index.js';

describe('HTTP API', () => {
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  const keys = new Keys('/work/');
  before(async () => {
    store = await EmbeddedStore.open({});
    app = await buildServer({ client: new StoreClient(store, keys), token: 'sekret' });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await app?.close();
    await store?.close();
  });

  const call = async (method: string, path: string, body?: string, headers: Record<string, string> = {}) => {
    const res = await fetch(`${base}${path}`, { method, body, headers: { authorization: 'Bearer sekret', ...headers } });
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined };
  };
  const count = async () => (await store.range(keys.prefix, { prefix: true, countOnly: true })).count;

  it('stores a form-encoded body (curl -d) as raw content', async () => {
    const r = await call('POST', '/work', 'testing=one', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(r.status, 201);
    assert.equal(r.body.content, 'testing=one');
    assert.equal((await store.get(keys.item(r.body.id)))?.value, 'testing=one');
    const put = await call('PUT', `/work/${r.body.id}`, 'testing=twotwo', { 'content-type': 'text/plain' });
    assert.equal(put.status, 200);
    assert.equal((await call('GET', `/work/${r.body.id}`)).body.content, 'testing=twotwo');
    assert.equal((await call('DELETE', `/work/${r.body.id}`)).status, 204);
    assert.equal((await call('GET', `/work/${r.body.id}`)).status, 404);
  });

  it('keeps content that looks like markup or shell exactly as given', async () => {
    const content = `<img src=x onerror=alert(1)> $(rm -rf /) \`id\` ; 'quotes' "and" \n newline`;
    const r = await call('POST', '/work', content, { 'content-type': 'text/plain' });
    assert.equal((await call('GET', `/work/${r.body.id}`)).body.content, content);
  });

  it('takes a JSON spec with id, weight and selector, and refuses a taken id with 409', async () => {
    const spec = { content: 'x', id: 'cache-7', weight: 3, selector: { zone: 'a' } };
    const r = await call('POST', '/work', JSON.stringify(spec), { 'content-type': 'application/json' });
    assert.equal(r.status, 201);
    assert.deepEqual({ ...r.body }, { id: 'cache-7', content: 'x', kind: 'service', weight: 3, selector: { zone: 'a' } });
    const before = await count();
    const again = await call('POST', '/work', JSON.stringify({ ...spec, content: 'y' }), { 'content-type': 'application/json' });
    assert.equal(again.status, 409);
    assert.equal(again.body.error, 'conflict');
    assert.equal(await count(), before);
    assert.equal((await call('GET', '/work/cache-7')).body.content, 'x');
  });

  it('answers bad input with 400 and a message naming the problem, writing nothing', async () => {
    const before = await count();
    const cases: Array<[string, string, string, RegExp]> = [
      ['POST', '/work', '{"content": "x", ', /JSON|body/i],
      ['POST', '/work', '{"content": 5}', /content/],
      ['POST', '/work', '{"content": "x", "colour": "red"}', /colour/],
      ['POST', '/work', '{"content": "x", "weight": 0}', /weight/],
      ['POST', '/work', '{"content": "x", "id": "../etc/passwd"}', /id/],
      ['POST', '/work', '{"content": "x", "selector": {"zone": 1}}', /selector/],
    ];
    for (const [method, path, body, re] of cases) {
      const r = await call(method, path, body, { 'content-type': 'application/json' });
      assert.equal(r.status, 400, `${body} → ${r.status}`);
      assert.equal(r.body.error, 'invalid');
      assert.match(r.body.message, re, `${body} → ${r.body.message}`);
    }
    assert.equal(await count(), before);
  });

  it('refuses content over 1 MiB with 413 and writes nothing', async () => {
    const before = await count();
    const big = 'x'.repeat(1024 * 1024 + 1);
    for (const type of ['text/plain', 'application/x-www-form-urlencoded']) {
      const r = await call('POST', '/work', big, { 'content-type': type });
      assert.equal(r.status, 413);
      assert.equal(r.body.error, 'too_large');
    }
    const huge = await call('POST', '/work', 'x'.repeat(3 * 1024 * 1024), { 'content-type': 'text/plain' });
    assert.equal(huge.status, 413);
    assert.equal(await count(), before);
    const exact = await call('POST', '/work', 'x'.repeat(1024 * 1024), { 'content-type': 'text/plain' });
    assert.equal(exact.status, 201, 'exactly 1 MiB is fine');
  });

  it('answers unknown items, workers and routes with 404', async () => {
    assert.equal((await call('PUT', '/work/nope', 'x', { 'content-type': 'text/plain' })).status, 404);
    assert.equal((await call('DELETE', '/work/nope')).status, 404);
    const drain = await call('POST', '/workers/nobody/drain');
    assert.equal(drain.status, 404);
    assert.match(drain.body.message, /worker nobody/);
    assert.equal((await call('GET', '/nothing-here')).status, 404);
    assert.equal((await call('POST', '/workers')).status, 405, 'no local workers on this node');
  });

  it('requires the bearer token on everything but /healthz', async () => {
    const res = await fetch(`${base}/work`);
    assert.equal(res.status, 401);
    assert.equal(((await res.json()) as { error: string }).error, 'unauthorized');
    const wrong = await fetch(`${base}/work`, { headers: { authorization: 'Bearer nope' } });
    assert.equal(wrong.status, 401);
    assert.equal((await fetch(`${base}/healthz`)).status, 200);
  });
});
