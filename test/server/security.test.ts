// The API guarded like a shell (DESIGN "Security model"), over real HTTP: bodies only of the
// content types their route declares (no JSON out of text/plain), no requests from pages of other
// origins, only Host names that DNS rebinding cannot produce, ?access_token= only on event streams.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { StoreClient } from '../../src/client/store-client.js';
import { Keys } from '../../src/engine/keys.js';
import { buildServer, type ServerOptions } from '../../src/server/app.js';
import { EmbeddedStore, type Store } from '../../src/store/index.js';
import { openStream, rawRequest } from '../helpers/raw-http.js';

const keys = new Keys('/work/');
const spec = '{"name":"p","command":["sh","-c","id > pwned.txt"],"matrix":{"x":["1"]}}';

async function serve(store: Store, options: Partial<ServerOptions> = {}) {
  const app = await buildServer({ client: new StoreClient(store, keys), events: { store, keys }, ...options });
  await app.listen({ port: 0, host: '127.0.0.1' });
  return { app, base: `http://127.0.0.1:${(app.server.address() as { port: number }).port}`, port: (app.server.address() as { port: number }).port };
}

describe('API security model', () => {
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  let port: number;
  before(async () => {
    store = await EmbeddedStore.open({});
    ({ app, base, port } = await serve(store, { listenHost: '127.0.0.1', allowHosts: ['rota.internal', '.fleet.example'] }));
  });
  after(async () => {
    await app?.close();
    await store?.close();
  });

  const revision = async () => (await store.range(keys.prefix, { prefix: true, countOnly: true })).revision;
  const send = (method: string, path: string, body?: string | Buffer, headers: Record<string, string> = {}) => rawRequest(base, { method, path, body, headers });

  it("refuses the issue's cross-origin text/plain job (no preflight in a browser) and writes nothing", async () => {
    const before = await revision();
    const hostile = await send('POST', '/jobs', spec, { 'content-type': 'text/plain', origin: 'http://evil.example', 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'no-cors' });
    assert.equal(hostile.status, 403, hostile.text);
    assert.equal(hostile.json.error, 'cross_origin');
    // Even without Origin (a client that hides it), JSON is never read out of text/plain.
    const plain = await send('POST', '/jobs', spec, { 'content-type': 'text/plain' });
    assert.equal(plain.status, 415, plain.text);
    assert.match(plain.json.message, /application\/json/);
    for (const type of ['application/x-www-form-urlencoded', 'multipart/form-data; boundary=x', '']) {
      const r = await send('POST', '/jobs', spec, type ? { 'content-type': type } : {});
      assert.equal(r.status, 415, `${type}: ${r.text}`);
    }
    assert.equal(await revision(), before, 'nothing written');
    assert.equal((await send('GET', '/jobs')).json.length, 0);
  });

  it('takes a job spec as JSON or YAML', async () => {
    const json = await send('POST', '/jobs', spec.replace('"p"', '"pj"'), { 'content-type': 'application/json' });
    assert.equal(json.status, 201, json.text);
    const yaml = await send('POST', '/jobs', 'name: py\ncommand: [echo, "{x}"]\nmatrix: {x: [a, b]}\n', { 'content-type': 'application/yaml' });
    assert.equal(yaml.status, 201, yaml.text);
    assert.equal(yaml.json.total, 2);
  });

  it('keeps raw content for /work as `curl -d` and text/plain send it, and parses JSON only from application/json', async () => {
    const form = await send('POST', '/work', 'testing=one', { 'content-type': 'application/x-www-form-urlencoded' });
    assert.equal(form.status, 201, form.text);
    assert.equal(form.json.content, 'testing=one');
    const looksLikeJson = '{"content":"x","id":"sneaky","kind":"task","command":["sh","-c","id"]}';
    const text = await send('POST', '/work', looksLikeJson, { 'content-type': 'text/plain;charset=UTF-8' });
    assert.equal(text.status, 201, text.text);
    assert.equal(text.json.content, looksLikeJson, 'the text is the content, not a spec');
    assert.equal(text.json.kind, 'service');
    const put = await send('PUT', `/work/${form.json.id}`, 'testing=twotwo', { 'content-type': 'text/plain' });
    assert.equal(put.status, 200, put.text);
    const spec = await send('POST', '/work', '{"content":"y","id":"json-1","weight":2}', { 'content-type': 'application/json' });
    assert.equal(spec.status, 201, spec.text);
    assert.equal(spec.json.weight, 2);
  });

  it('refuses a body of a type the route does not take, a body where none is taken, bad charsets and bad UTF-8', async () => {
    const before = await revision();
    const cases: Array<[string, string, string | Buffer, Record<string, string>, number, RegExp]> = [
      ['POST', '/work', 'x', { 'content-type': 'image/png' }, 415, /takes text\/plain/],
      ['POST', '/work', 'x', {}, 415, /no content type/],
      ['POST', '/runs', '{"id":"r","participants":{"n":[1]}}', { 'content-type': 'text/plain' }, 415, /application\/json/],
      ['POST', '/runs/r/complete', '{"node":"n","index":1,"state":"init"}', { 'content-type': 'application/x-www-form-urlencoded' }, 415, /application\/json/],
      ['POST', '/workers/w1/drain', 'x', { 'content-type': 'text/plain' }, 415, /takes no body/],
      ['DELETE', '/work/json-1', 'x', { 'content-type': 'text/plain' }, 415, /takes no body/],
      ['POST', '/work', 'x', { 'content-type': 'text/plain; charset=latin1' }, 415, /charset/],
      ['POST', '/work', Buffer.from([0x61, 0xff, 0xfe, 0x62]), { 'content-type': 'text/plain' }, 400, /UTF-8/],
      ['POST', '/work', Buffer.from([0x7b, 0xff, 0x7d]), { 'content-type': 'application/json' }, 400, /UTF-8/],
    ];
    for (const [method, path, body, headers, status, re] of cases) {
      const r = await send(method, path, body, headers);
      assert.equal(r.status, status, `${method} ${path} ${JSON.stringify(headers)} → ${r.status} ${r.text}`);
      assert.match(r.json.message, re, `${method} ${path} → ${r.json.message}`);
    }
    assert.equal(await revision(), before, 'nothing written');
  });

  it("refuses requests from other origins, and serves the node's own origin", async () => {
    const before = await revision();
    for (const origin of ['http://evil.example', 'null', `http://127.0.0.1:${port + 1}`, `http://localhost:${port}`, 'file://', 'garbage']) {
      for (const [method, path, body, type] of [
        ['POST', '/work', 'evil', 'text/plain'],
        ['GET', '/work', undefined, undefined],
        ['DELETE', '/work/json-1', undefined, undefined],
        ['POST', '/workers/w/drain', undefined, undefined],
      ] as const) {
        const r = await send(method, path, body, { origin, ...(type ? { 'content-type': type } : {}) });
        assert.equal(r.status, 403, `${origin} ${method} ${path} → ${r.status}`);
        assert.equal(r.json.error, 'cross_origin');
      }
    }
    // A page of another site may link to the dashboard, but not fetch from the API.
    assert.equal((await send('GET', '/work', undefined, { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'cors' })).status, 403);
    assert.equal((await send('GET', '/work', undefined, { 'sec-fetch-site': 'same-site', 'sec-fetch-mode': 'no-cors' })).status, 403);
    assert.equal((await send('GET', '/', undefined, { 'sec-fetch-site': 'cross-site', 'sec-fetch-mode': 'navigate' })).status, 200);
    assert.equal(await revision(), before, 'nothing written');
    // The dashboard's own requests: same origin, as a browser sends them.
    const own = await send('POST', '/work', 'from the dashboard', { origin: `http://127.0.0.1:${port}`, 'content-type': 'text/plain', 'sec-fetch-site': 'same-origin' });
    assert.equal(own.status, 201, own.text);
    const viaLocalhost = await send('GET', '/work', undefined, { host: `localhost:${port}`, origin: `http://localhost:${port}`, 'sec-fetch-site': 'same-origin' });
    assert.equal(viaLocalhost.status, 200, viaLocalhost.text);
  });

  it('serves only Host names DNS rebinding cannot produce, and the --allow-host names', async () => {
    for (const host of ['evil.example', `evil.example:${port}`, `127.0.0.1.nip.io:${port}`, 'localhost.evil.example', 'fleet.example.evil', '']) {
      for (const path of ['/', '/status', '/work', '/healthz']) {
        const r = await send('GET', path, undefined, { host });
        assert.equal(r.status, host === '' ? 400 : 403, `Host ${host} ${path} → ${r.status} ${r.text}`);
        assert.match(r.json.message, /--allow-host/);
      }
    }
    const rebound = await send('POST', '/jobs', spec, { host: `evil.example:${port}`, origin: `http://evil.example:${port}`, 'content-type': 'application/json' });
    assert.equal(rebound.status, 403, 'a rebound page is same-origin with itself, and still refused');
    for (const host of [`localhost:${port}`, `127.0.0.1:${port}`, `[::1]:${port}`, '10.1.2.3', `LOCALHOST.:${port}`, 'rota.internal', `a.fleet.example:${port}`, 'fleet.example']) {
      const r = await send('GET', '/status', undefined, { host });
      assert.equal(r.status, 200, `Host ${host} → ${r.status} ${r.text}`);
    }
  });

  it('forbids framing the dashboard (clickjacking its buttons)', async () => {
    const r = await send('GET', '/');
    assert.equal(r.status, 200);
    assert.equal(r.headers['x-frame-options'], 'DENY');
    assert.match(String(r.headers['content-security-policy']), /frame-ancestors 'none'/);
  });

  it('refuses unknown and repeated query parameters', async () => {
    for (const path of ['/jobs?x=1', '/status?verbose', '/workers?a=b', '/events?fromRevision=1&fromRevision=2', '/events?colour=red', '/healthz?x=1']) {
      const r = await send('GET', path);
      assert.equal(r.status, 400, `${path} → ${r.status} ${r.text}`);
      assert.match(r.json.message, /query parameter/);
    }
  });
});

describe('API token', () => {
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    store = await EmbeddedStore.open({});
    ({ app, base } = await serve(store, { token: 'sekret' }));
    await store.txn({ success: [{ type: 'put', key: `${keys.runs}r1/run`, value: JSON.stringify({ id: 'r1', participants: { n: [1] }, state: 'init', round: 1, history: [], createdAt: 0, defaults: {} }) }] });
  });
  after(async () => {
    await app?.close();
    await store?.close();
  });

  it('takes ?access_token= on event streams only', async () => {
    for (const path of ['/work', '/status', '/jobs', '/runs/r1']) {
      const r = await rawRequest(base, { method: 'GET', path: `${path}?access_token=sekret` });
      assert.equal(r.status, 401, `${path} → ${r.status} ${r.text}`);
      assert.equal((await rawRequest(base, { method: 'GET', path, headers: { authorization: 'Bearer sekret' } })).status, 200, path);
    }
    for (const path of ['/events', '/runs/r1/events']) {
      assert.equal((await openStream(base, path)).status, 401, path);
      const wrong = await openStream(base, `${path}?access_token=nope`);
      assert.equal(wrong.status, 401, path);
      const s = await openStream(base, `${path}?access_token=sekret`);
      assert.equal(s.status, 200, path);
      s.close();
    }
  });

  it('needs no token for /healthz and the dashboard', async () => {
    assert.equal((await rawRequest(base, { method: 'GET', path: '/healthz' })).status, 200);
    assert.equal((await rawRequest(base, { method: 'GET', path: '/' })).status, 200);
    assert.equal((await rawRequest(base, { method: 'GET', path: '/app.js' })).status, 200);
  });
});
