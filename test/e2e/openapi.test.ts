// GET /openapi.json and GET /docs: the document is valid OpenAPI 3.1, documents every route the
// node registers (request and answer shapes, error bodies), matches what the routes really answer
// (every answer of a walk through the API is checked against the documented schema of its status),
// and the page lists every operation in Chromium. Served by `rota up` and by `rota node` on etcd.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import { Validator } from '@seriousme/openapi-schema-validator';
import Ajv2020 from 'ajv/dist/2020.js';
import fc from 'fast-check';
import { fuzzRequest } from '../fuzz/requests.js';
import { launchBrowser } from '../helpers/browser.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { waitFor } from '../helpers/processes.js';
import { startRota, type RotaProcess } from '../helpers/rota-process.js';

type Json = Record<string, any>;
const TOKEN = 'openapi-test-token';

/** The operation of `doc` a request went to: its path template matched segment by segment. */
function operationOf(doc: Json, method: string, url: string): { path: string; op: Json } {
  const segments = url.split('?')[0].split('/');
  for (const [path, ops] of Object.entries<Json>(doc.paths)) {
    const t = path.split('/');
    if (t.length === segments.length && t.every((s, i) => s.startsWith('{') || s === segments[i]) && ops[method.toLowerCase()]) return { path, op: ops[method.toLowerCase()] };
  }
  throw new Error(`no documented operation for ${method} ${url}`);
}

describe('the OpenAPI document', { timeout: 120_000 }, () => {
  let up: RotaProcess;
  let doc: Json;
  const procs: RotaProcess[] = [];
  let etcd: EtcdCluster | undefined;
  const ajv = new Ajv2020.default({ strict: false, allErrors: true });
  before(async () => {
    up = await startRota(['up', '--memory', '--port', '0', '--workers', '2', '--token', TOKEN]);
    procs.push(up);
    const r = await fetch(`${up.api}/openapi.json`); // public: no token
    assert.equal(r.status, 200);
    doc = (await r.json()) as Json;
    ajv.addSchema({ $id: 'doc', components: doc.components });
  });
  after(async () => {
    await Promise.all(procs.map((p) => p.stop()));
    await etcd?.stop();
  });

  it('is valid OpenAPI 3.1', async () => {
    const result = await new Validator().validate(doc);
    assert.ok(result.valid, JSON.stringify(result.errors, null, 1)?.slice(0, 3000));
    assert.equal(doc.openapi, '3.1.0');
  });

  it('documents every route with its parameters, bodies, answers and error bodies', () => {
    const ops = Object.entries<Json>(doc.paths).flatMap(([path, o]) => Object.entries<Json>(o).map(([method, op]) => ({ path, method, op })));
    assert.ok(ops.length >= 45, `${ops.length} operations`);
    for (const { path, method, op } of ops) {
      const where = `${method.toUpperCase()} ${path}`;
      assert.ok(!op['x-undocumented'], `${where} has no entry in ROUTE_DOCS`);
      assert.ok(op.summary && op.tags?.length === 1, `${where}: summary and tag`);
      for (const p of op.parameters ?? []) assert.ok(p.description, `${where}: parameter ${p.name} described`);
      assert.deepEqual((op.parameters ?? []).filter((p: Json) => p.in === 'path').map((p: Json) => p.name), [...path.matchAll(/\{(\w+)\}/g)].map((m) => m[1]), `${where}: its path parameters`);
      for (const [type, media] of Object.entries<Json>(op.requestBody?.content ?? {})) assert.ok(media.schema, `${where}: a schema for ${type}`);
      const statuses = Object.keys(op.responses);
      const ok = statuses.filter((s) => Number(s) < 400);
      assert.equal(ok.length, 1, `${where}: one success status`);
      for (const s of statuses.filter((x) => Number(x) >= 400)) assert.equal(op.responses[s].content['application/json'].schema.$ref, '#/components/schemas/Error', `${where} ${s}: the error body`);
      if (op.requestBody) assert.ok(statuses.includes('415') && statuses.includes('413'), `${where}: body errors`);
    }
    // The JSON bodies are the engine's own schemas: a field it refuses is not in them.
    const work = doc.paths['/work'].post.requestBody.content['application/json'].schema.anyOf[0];
    assert.equal(work.additionalProperties, false);
    assert.deepEqual(Object.keys(work.properties).sort(), ['backoffMs', 'command', 'content', 'env', 'id', 'kind', 'maxAttempts', 'placement', 'selector', 'timeoutMs', 'weight']);
    assert.ok(doc.paths['/jobs'].post.requestBody.content['application/yaml'].schema.properties.matrix, 'a job spec in YAML has the same schema');
    // The token rule as the guard applies it.
    assert.deepEqual(doc.paths['/healthz'].get.security, []);
    assert.equal(doc.paths['/work'].get.security, undefined, 'under the global token rule');
    assert.ok(doc.paths['/work'].get.responses['401']);
    assert.deepEqual(doc.paths['/work'].get.parameters.map((p: Json) => p.name), ['limit', 'after', 'content', 'q', 'kind', 'status']);
  });

  it('matches what the routes answer, on a walk through the API', async () => {
    let checked = 0;
    const call = async (method: string, url: string, body?: string, type = 'application/json', expect?: number): Promise<any> => {
      const r = await fetch(`${up.api}${url}`, { method, body, headers: { authorization: `Bearer ${TOKEN}`, ...(body === undefined ? {} : { 'content-type': type }) } });
      const text = await r.text();
      const { path, op } = operationOf(doc, method, url);
      const where = `${method} ${path} → ${r.status} ${text.slice(0, 300)}`;
      if (expect !== undefined) assert.equal(r.status, expect, where);
      const documented = op.responses[String(r.status)];
      assert.ok(documented, `${where}: status not documented`);
      const media = r.headers.get('content-type')?.split(';')[0] ?? '';
      if (r.status === 204) return undefined;
      const schema = documented.content?.[media]?.schema;
      assert.ok(schema, `${where}: no schema for ${media}`);
      if (media === 'application/json') {
        const validate = ajv.compile(schema.$ref ? { $ref: `doc${schema.$ref}` } : schema);
        assert.ok(validate(JSON.parse(text)), `${where}: ${JSON.stringify(validate.errors)}`);
      }
      checked++;
      return media === 'application/json' ? JSON.parse(text) : text;
    };
    await call('GET', '/status', undefined, undefined, 200);
    await call('GET', '/healthz', undefined, undefined, 200);
    await call('POST', '/work', 'plain content', 'text/plain', 201);
    await call('POST', '/work', JSON.stringify([{ id: 'svc-a', content: 'a', weight: 2 }, { id: 'svc-b', content: 'b', selector: { zone: 'x' } }]), 'application/json', 201);
    const task = await call('POST', '/work', JSON.stringify({ id: 'task-a', content: 't', kind: 'task', command: [process.execPath, '-e', 'console.log("hi")'] }), 'application/json', 201);
    assert.equal(task.kind, 'task');
    await waitFor(async () => (await call('GET', '/work/task-a')).result !== undefined, 15_000, 'the task to finish');
    await call('GET', '/work?limit=2', undefined, undefined, 200);
    await call('GET', '/work?content=true&q=a', undefined, undefined, 200);
    await call('GET', '/work?kind=task&status=succeeded', undefined, undefined, 200);
    await call('GET', '/work?status=nope', undefined, undefined, 400);
    await call('GET', '/counts', undefined, undefined, 200);
    await call('GET', '/work/task-a/attempts', undefined, undefined, 200);
    await call('POST', '/work/task-a/retry', undefined, undefined, 409);
    await call('GET', '/workers?lease=true', undefined, undefined, 200);
    await call('PUT', '/work/svc-a', JSON.stringify({ weight: 3 }), 'application/json', 200);
    await call('PUT', '/work/svc-a', 'new content', 'text/plain', 200);
    await call('DELETE', '/work/svc-b', undefined, undefined, 204);
    await call('GET', '/work/nope', undefined, undefined, 404);
    await call('POST', '/work', JSON.stringify({ content: 'x', comand: ['ls'] }), 'application/json', 400);
    await call('POST', '/work', '<xml/>', 'application/xml', 415);
    await call('GET', '/work?bogus=1', undefined, undefined, 400);

    const job = (await call('POST', '/jobs', 'name: matrix\ncommand: [echo, "{a}"]\nmatrix:\n  a: [1, 2]\n', 'application/yaml', 201)).id;
    await waitFor(async () => (await call('GET', `/jobs/${job}`)).done === 2, 20_000, 'the job to finish');
    await call('GET', '/jobs', undefined, undefined, 200);
    await call('GET', `/jobs/${job}/tasks?output=true`, undefined, undefined, 200);
    await call('POST', `/jobs/${job}/retry`, undefined, undefined, 200);
    await call('POST', `/jobs/${job}/cancel`, undefined, undefined, 200);
    await call('DELETE', `/jobs/${job}`, undefined, undefined, 204);
    await call('POST', '/jobs', 'name: x\ncomand: [ls]\n', 'application/yaml', 400);

    const workers = await call('GET', '/workers', undefined, undefined, 200);
    const w = workers[0].id;
    await call('GET', `/workers/${w}`, undefined, undefined, 200);
    await call('PATCH', `/workers/${w}`, JSON.stringify({ labels: { zone: 'x' } }), 'application/json', 200);
    await call('POST', `/workers/${w}/drain`, undefined, undefined, 200);
    await call('POST', `/workers/${w}/undrain`, undefined, undefined, 200);
    const added = await call('POST', '/workers', undefined, undefined, 201);
    await call('DELETE', `/workers/${added.id}`, undefined, undefined, 204);

    await call('POST', '/runs', JSON.stringify({ id: 'r1', participants: { a: [0] }, states: ['one', 'two'], defaults: { k: 'v' } }), 'application/json', 201);
    await call('GET', '/runs', undefined, undefined, 200);
    await call('GET', '/runs/r1', undefined, undefined, 200);
    await call('PUT', '/runs/r1/params/a/0/k', 'w', 'text/plain', 204);
    await call('GET', '/runs/r1/params/a/0/k', undefined, undefined, 200);
    await call('POST', '/runs/r1/complete', JSON.stringify({ node: 'a', index: 0, state: 'one' }), 'application/json', 200);
    await call('POST', '/runs/r1/complete', JSON.stringify({ node: 'b', index: 0, state: 'two' }), 'application/json', 409);
    await call('DELETE', '/runs/r1', undefined, undefined, 204);

    await call('POST', '/caches', JSON.stringify({ name: 'c1', ids: ['i1', 'i2'], replicas: 2 }), 'application/json', 201);
    await waitFor(async () => (await call('GET', '/caches/c1')).unplaced === 0, 10_000, 'the ids placed');
    await call('GET', '/caches', undefined, undefined, 200);
    await call('GET', '/caches/c1/i1/nodes', undefined, undefined, 200);
    const best = await call('GET', '/caches/c1/i1/best', undefined, undefined, 200);
    await call('GET', `/caches/c1/i1/score?node=${best.worker}`, undefined, undefined, 200);
    await call('PUT', '/caches/c1/i1', 'bytes', 'application/octet-stream', 200);
    await call('POST', '/caches/c1/i1/append', '+more', 'application/octet-stream', 200);
    assert.equal(await call('GET', '/caches/c1/i1', undefined, undefined, 200), 'bytes+more');
    await call('DELETE', '/caches/c1/i2', undefined, undefined, 204);
    await call('DELETE', '/caches/c1', undefined, undefined, 204);
    await call('GET', '/metrics/series', undefined, undefined, 200);
    await call('GET', '/metrics', undefined, undefined, 200);
    const unauthorized = await fetch(`${up.api}/status`);
    assert.equal(unauthorized.status, 401);
    console.log(`# ${checked} answers checked against the document`);
  });

  it('is what the fuzzer covers: 20,000 of its requests reach every documented operation', () => {
    const hits = new Map<string, number>();
    for (const r of fc.sample(fuzzRequest, { numRuns: 20_000, seed: 42 })) {
      try {
        const { path } = operationOf(doc, r.method, decodeURIComponent(r.path));
        hits.set(`${r.method} ${path}`, (hits.get(`${r.method} ${path}`) ?? 0) + 1);
      } catch {
        // a path no route has (the fuzzer sends those too)
      }
    }
    const missed = Object.entries<Json>(doc.paths).flatMap(([path, ops]) => Object.keys(ops).map((m) => `${m.toUpperCase()} ${path}`)).filter((op) => !hits.has(op));
    assert.deepEqual(missed, [], 'operations the fuzzer never sends');
  });

  it('is browsable at /docs, from the node itself', async () => {
    const browser = await launchBrowser();
    try {
      const page = await browser.newPage();
      const outside: string[] = [];
      page.on('request', (r) => void (new URL(r.url()).origin !== new URL(up.api!).origin && outside.push(r.url())));
      await page.goto(`${up.api}/docs`);
      const count = Object.values<Json>(doc.paths).reduce((n, ops) => n + Object.keys(ops).length, 0);
      await page.waitForFunction((n) => (globalThis as any).document.querySelectorAll('[data-testid=operation]').length === n, count, { timeout: 10_000 });
      await page.click('#postWork summary');
      const text = await page.textContent('#postWork');
      assert.match(text ?? '', /maxAttempts\?: integer 1-100/);
      assert.match(text ?? '', /201/);
      assert.match(text ?? '', /curl -XPOST/);
      assert.deepEqual(outside, [], 'no request leaves the node');
    } finally {
      await browser.close();
    }
  });

  it('is served by rota node on etcd too', async () => {
    etcd = await startEtcd();
    const node = await startRota(['node', '--etcd', etcd.endpoints[0], '--port', '0', '--ttl', '3']);
    procs.push(node);
    const r = await fetch(`${node.api}/openapi.json`);
    assert.equal(r.status, 200);
    const nodeDoc = (await r.json()) as Json;
    assert.ok(nodeDoc.paths['/work/{id}'].get);
    assert.equal(nodeDoc.paths['/workers'].post.summary, doc.paths['/workers'].post.summary);
    const page = await fetch(`${node.api}/docs`);
    assert.equal(page.status, 200);
    assert.match(await page.text(), /docs\.js/);
  });
});
