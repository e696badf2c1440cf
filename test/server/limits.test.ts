// Every input bounded before the work it bounds, over real HTTP: a refusal is a 4xx (413 naming the
// limit, 400 saying what is wrong), comes at once, changes nothing and pollutes nothing.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { StoreClient } from '../../src/client/store-client.js';
import { Keys } from '../../src/engine/keys.js';
import { buildServer } from '../../src/server/app.js';
import { EmbeddedStore, type Store } from '../../src/store/index.js';
import { rawRequest } from '../helpers/raw-http.js';

const keys = new Keys('/work/');
const values = (n: number, prefix = 'v') => Array.from({ length: n }, (_, i) => `${prefix}${i}`);
const job = (fields: Record<string, unknown>) => JSON.stringify({ name: 'lim', command: ['true'], matrix: { x: ['1'] }, ...fields });

describe('input limits', () => {
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    store = await EmbeddedStore.open({});
    app = await buildServer({ client: new StoreClient(store, keys), events: { store, keys } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await app?.close();
    await store?.close();
  });

  const revision = async () => (await store.range(keys.prefix, { prefix: true, countOnly: true })).revision;
  const send = (method: string, path: string, body?: string | Buffer, type = 'application/json') => rawRequest(base, { method, path, body, headers: body === undefined ? {} : { 'content-type': type } });
  /** Sends each case, expects its status and message, and that nothing was written. */
  const refuses = async (cases: Array<[method: string, path: string, body: string, status: number, message: RegExp, type?: string]>) => {
    const before = await revision();
    for (const [method, path, body, status, message, type] of cases) {
      const r = await send(method, path, body, type);
      assert.equal(r.status, status, `${method} ${path} ${body.slice(0, 120)} → ${r.status} ${r.text.slice(0, 300)}`);
      assert.match(r.json?.message ?? '', message, `${body.slice(0, 120)} → ${r.json?.message}`);
      assert.ok(r.ms < 2000, `answered in ${Math.round(r.ms)} ms`);
    }
    assert.equal(await revision(), before, 'nothing was written');
  };

  it('refuses the 1.5 KB matrix of 312 million tasks from the product of its axes, at once', async () => {
    const spec = job({ matrix: { a: values(50), b: values(50), c: values(50), d: values(50), e: values(50) } });
    assert.ok(spec.length < 1600);
    await refuses([['POST', '/jobs', spec, 413, /jobTasks.*|312500000/]]);
    const r = await send('POST', '/jobs', spec);
    assert.match(r.json.message, /50 × 50 × 50 × 50 × 50/);
    assert.match(r.json.message, /jobTasks/);
  });

  it('bounds every part of a job spec before expanding it', async () => {
    const axes = Object.fromEntries(values(17, 'a').map((a) => [a, ['1']]));
    await refuses([
      ['POST', '/jobs', job({ matrix: axes }), 413, /axes of the matrix: 17.*matrixAxes/],
      ['POST', '/jobs', job({ matrix: { x: Array(50_001).fill('1') } }), 413, /50001.*axisValues/],
      ['POST', '/jobs', job({ matrix: { x: ['y'.repeat(300)] } }), 413, /matrixValue/],
      ['POST', '/jobs', job({ matrix: { x: values(300), y: values(200) } }), 413, /60000.*jobTasks/],
      ['POST', '/jobs', job({ exclude: Array.from({ length: 257 }, () => ({ x: '1' })) }), 413, /entries of exclude: 257.*matrixRules/],
      ['POST', '/jobs', job({ command: values(257) }), 413, /arguments of command: 257.*commandArgs/],
      ['POST', '/jobs', job({ command: ['sh', '-c', 'x'.repeat(70_000)] }), 413, /bytes of command.*commandBytes/],
      ['POST', '/jobs', job({ env: Object.fromEntries(values(257, 'E').map((k) => [k, '1'])) }), 413, /variables of env: 257.*envVars/],
      ['POST', '/jobs', job({ env: { A: 'x'.repeat(70_000) } }), 413, /bytes of env.*envBytes/],
      ['POST', '/jobs', job({ selector: Object.fromEntries(values(33, 'k').map((k) => [k, '1'])) }), 413, /entries of selector: 33.*labels/],
      ['POST', '/jobs', job({ matrix: { x: values(1000), y: values(50) }, command: ['sh', '-c', 'x'.repeat(60_000), '{x}'] }), 413, /bytes the job would write.*jobBytes/],
      ['POST', '/jobs', job({ timeoutMs: 1e12 }), 400, /timeoutMs/],
      ['POST', '/jobs', job({ backoffMs: 2 ** 31 }), 400, /backoffMs/],
      ['POST', '/jobs', job({ env: { 'A=B': '1' } }), 400, /env/],
      ['POST', '/jobs', job({ command: ['a\u0000b'] }), 400, /NUL/],
      ['POST', '/jobs', job({ name: 'n'.repeat(65) }), 400, /name/],
      ['POST', '/jobs', JSON.stringify({ name: 'big', command: ['true'], pad: 'x'.repeat(300 * 1024) }), 413, /limit/],
    ]);
  });

  it('refuses YAML that costs far more to parse than its size, quickly', async () => {
    const yaml = 'application/yaml';
    const bomb = ['a: &a [x, x, x, x, x, x, x, x, x]', ...'bcdefghij'.split('').map((k, i) => `${k}: &${k} [${Array(9).fill(`*${'abcdefghij'[i]}`).join(', ')}]`)].join('\n');
    await refuses([
      ['POST', '/jobs', `${'? '.repeat(2000)}x\n`, 400, /complex key/, yaml],
      ['POST', '/jobs', `${'['.repeat(100_000)}${']'.repeat(100_000)}`, 413, /specDepth/, yaml],
      ['POST', '/jobs', `${'- '.repeat(20_000)}x\n`, 413, /specDepth/, yaml],
      ['POST', '/jobs', bomb, 413, /specAliases|alias/i, yaml],
      ['POST', '/jobs', `name: t\ncommand: [true]\nmatrix:\n  x: [${values(60_000).join(',')}]\n`, 413, /specTokens|specBytes|limit/, yaml],
      ['POST', '/jobs', `name: t\ncommand: [true]\n__proto__: {polluted: yes}\n`, 400, /__proto__/, yaml],
    ]);
  });

  it('bounds every JSON body: nesting, members, values, and no prototype keys anywhere', async () => {
    const deep = `{"content":"x","selector":${'['.repeat(40)}${']'.repeat(40)}}`;
    await refuses([
      ['POST', '/work', deep, 413, /jsonDepth/],
      ['POST', '/work', `${'['.repeat(1_000_000)}`, 413, /jsonDepth/],
      ['POST', '/work', JSON.stringify({ content: 'x', selector: Object.fromEntries(values(10_001).map((k) => [k, '1'])) }), 413, /jsonEntries/],
      ['POST', '/work', `{"content":"x","__proto__":{"polluted":"yes"}}`, 400, /__proto__/],
      ['POST', '/work', `{"content":"x","selector":{"constructor":{"prototype":{"polluted":"yes"}}}}`, 400, /constructor/],
      ['POST', '/runs', `{"id":"r","participants":{"__proto__":[1]}}`, 400, /__proto__/],
      ['POST', '/runs/r/complete', `{"node":"n","index":1,"state":"init","__proto__":{"polluted":"yes"}}`, 400, /__proto__/],
      ['POST', '/jobs', `{"name":"p","command":["true"],"matrix":{"x":["1"]},"include":[{"x":"1","__proto__":{"polluted":"yes"}}]}`, 400, /__proto__/],
      ['POST', '/work', JSON.stringify({ content: 'x', kind: 'task', command: values(257) }), 413, /commandArgs/],
      ['POST', '/work', JSON.stringify({ content: 'x', kind: 'task', env: { A: 'x'.repeat(70_000) } }), 413, /envBytes/],
      ['POST', '/work', JSON.stringify({ content: 'x', kind: 'task', timeoutMs: 1e15 }), 400, /timeoutMs/],
      ['POST', '/work', JSON.stringify({ content: 'x', selector: { k: 'v'.repeat(257) } }), 400, /selector/],
      ['POST', '/work', JSON.stringify({ content: 'x', id: 'i'.repeat(129) }), 400, /id/],
      ['POST', '/work', '', 400, /empty/],
      ['POST', '/work', 'null', 400, /body/],
      ['POST', '/work', '{"content": "x", ', 400, /JSON/],
    ]);
    assert.equal(({} as Record<string, unknown>).polluted, undefined, 'Object.prototype is untouched');
  });

  it('checks ids in paths and values in queries: 400, not a 404, a 200 or a stream', async () => {
    await refuses([
      ['GET', `/work/${'w'.repeat(129)}`, '', 400, /work id/],
      ['GET', '/jobs/a.b', '', 400, /job id/],
      ['GET', `/jobs/${'j'.repeat(65)}/tasks`, '', 400, /job id/],
      ['DELETE', '/jobs/..', '', 400, /job id/],
      ['GET', '/runs/r/params/n/abc/name', '', 400, /index/],
      ['PUT', '/runs/r/params/n/-1/name', 'v', 400, /index/, 'text/plain'],
      ['GET', '/runs/r/params/n/1/a%2Fb', '', 400, /parameter name/],
      ['DELETE', '/workers/w?crash=maybe', '', 400, /crash/],
      ['GET', '/work/%ff', '', 400, /./],
    ]);
    for (const path of ['/events?fromRevision=abc', '/events?fromRevision=-5', '/events?fromRevision=0', '/events?fromRevision=1.5', '/events?fromRevision=1e3', '/events?fromRevision=', '/events?fromRevision=99999999999999999', '/events?item=../x', '/events?job=a.b', '/events?prefix=%00', '/runs/r/events?fromRevision=abc', '/runs/a%20b/events', '/ws?fromRevision=abc']) {
      const r = await rawRequest(base, { method: 'GET', path, timeoutMs: 3000 });
      assert.equal(r.status, 400, `${path} → ${r.status} ${r.text.slice(0, 200)}`);
      assert.equal(r.json.error, 'invalid');
    }
    for (const id of ['abc', '-5', '1.5']) {
      const r = await rawRequest(base, { method: 'GET', path: '/events', headers: { 'last-event-id': id }, timeoutMs: 3000 });
      assert.equal(r.status, 400, `Last-Event-ID ${id} → ${r.status}`);
      assert.match(r.json.message, /Last-Event-ID/);
    }
  });

  it('keeps accepting what is within the limits', async () => {
    const r = await send('POST', '/jobs', job({ name: 'ok', matrix: { x: values(1000), y: values(50) } }));
    assert.equal(r.status, 201, r.text);
    assert.equal(r.json.total, 50_000);
    const w = await send('POST', '/work', JSON.stringify({ content: 'x', id: 'i'.repeat(128), kind: 'task', command: values(256), env: { A_1: 'x' }, timeoutMs: 2 ** 31 - 1 }));
    assert.equal(w.status, 201, w.text);
    assert.equal((await send('GET', `/work/${'i'.repeat(128)}`)).status, 200, 'a 128-character id reaches its route');
  });
});
