// Every list of the API comes in pages of bounded size: ?limit=&after= with the next page in Link,
// content and output cut to previews unless asked for, strict query values, and the HTTP client
// and the CLI reading page after page.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { HttpClient } from '../../src/client/http-client.js';
import { RESPONSE_BYTES } from '../../src/client/paging.js';
import { StoreClient } from '../../src/client/store-client.js';
import { Keys } from '../../src/engine/keys.js';
import { buildServer } from '../../src/server/app.js';
import { EmbeddedStore, type Store } from '../../src/store/index.js';
import { rotaBin } from '../helpers/rota-process.js';

const MiB = 1024 * 1024;
const id = (i: number) => `w${String(i).padStart(4, '0')}`;

describe('HTTP API: paged lists', { timeout: 120_000 }, () => {
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  const keys = new Keys('/work/');
  before(async () => {
    store = await EmbeddedStore.open({});
    app = await buildServer({ client: new StoreClient(store, keys) });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => {
    await app?.close();
    await store?.close();
  });

  const get = async (path: string) => {
    const res = await fetch(`${base}${path}`);
    const text = await res.text();
    return { status: res.status, body: text ? JSON.parse(text) : undefined, bytes: Buffer.byteLength(text), link: res.headers.get('link'), total: res.headers.get('x-total-count') };
  };
  /** Follows Link from `path` to the last page; returns every page. */
  const follow = async (path: string) => {
    const pages = [];
    for (let next: string | null = path; next; ) {
      const page = await get(next);
      assert.equal(page.status, 200, JSON.stringify(page.body).slice(0, 200));
      pages.push(page);
      next = page.link?.match(/<([^>]*)>; rel="next"/)?.[1] ?? null;
    }
    return pages;
  };

  it('pages items by ?limit=&after=, the next page in Link and the total in X-Total-Count', async () => {
    for (let i = 0; i < 25; i++) await store.put(keys.item(id(i)), `item ${i}`);
    const first = await get('/work?limit=10');
    assert.deepEqual(first.body.map((w: { id: string }) => w.id), Array.from({ length: 10 }, (_, i) => id(i)));
    assert.equal(first.link, `</work?limit=10&after=${id(9)}>; rel="next"`);
    assert.equal(first.total, '25');
    const pages = await follow('/work?limit=10');
    assert.deepEqual(pages.map((p) => p.body.length), [10, 10, 5]);
    assert.deepEqual(pages.flatMap((p) => p.body.map((w: { id: string }) => w.id)), Array.from({ length: 25 }, (_, i) => id(i)));
    assert.equal((await get('/work')).body.length, 25, 'without a limit, up to 1000 items');
    assert.equal((await get(`/work?after=${id(24)}`)).body.length, 0);
  });

  it('shows the first 1 KiB of content and the last 1 KiB of output unless asked for the whole', async () => {
    const big = 'é'.repeat(100_000); // two bytes each: previews cut between characters
    await store.put(keys.item('big-1'), big);
    await store.put(keys.item('task-1'), 'x');
    await store.put(keys.spec('task-1'), JSON.stringify({ kind: 'task', command: ['true'] }));
    const output = `${'o'.repeat(64 * 1024 - 3)}end`;
    await store.put(keys.result('task-1'), JSON.stringify({ status: 'succeeded', reason: 'exit', exitCode: 0, signal: null, attempts: 1, finishedAt: 1, output }));

    const list = (await get('/work?limit=1000')).body as Array<{ id: string; content: string; contentBytes: number; contentTruncated?: boolean; result?: { output: string; outputTruncated?: boolean } }>;
    const b = list.find((w) => w.id === 'big-1')!;
    assert.equal(b.contentBytes, 200_000);
    assert.equal(b.contentTruncated, true);
    assert.ok(Buffer.byteLength(b.content) <= 1024 && big.startsWith(b.content) && b.content.length === 512);
    const small = list.find((w) => w.id === id(0))!;
    assert.equal(small.content, 'item 0');
    assert.equal(small.contentTruncated, undefined);
    const t = list.find((w) => w.id === 'task-1')!;
    assert.ok(t.result!.output.length <= 1024 && t.result!.output.endsWith('end') && t.result!.outputTruncated === true);

    const whole = (await get('/work?content=true&after=big-0&limit=1')).body;
    assert.equal(whole[0].content, big);
    assert.equal((await get('/work/task-1')).body.result.output, output, 'one item: everything');
  });

  it('keeps every answer within its byte budget, whatever the items weigh', async () => {
    for (let i = 0; i < 8; i++) await store.put(keys.item(`mib-${i}`), String(i).repeat(MiB - 100));
    const previews = await follow('/work?limit=1000');
    for (const p of previews) assert.ok(p.bytes <= RESPONSE_BYTES, `${p.bytes} bytes`);
    const wholes = await follow('/work?content=true&limit=1000');
    assert.ok(wholes.length >= 3, `${wholes.length} pages for 8 MiB of content`);
    for (const p of wholes) assert.ok(p.bytes <= RESPONSE_BYTES + MiB, `${p.bytes} bytes in one answer`);
    const mibs = wholes.flatMap((p) => p.body).filter((w: { id: string }) => w.id.startsWith('mib-'));
    assert.deepEqual(mibs.map((w: { content: string }) => w.content.length), Array(8).fill(MiB - 100));
    assert.equal(wholes.flatMap((p) => p.body).length, Number(wholes[0].total), 'each item once');
  });

  it('searches with ?q= across pages, going on from where the last page stopped', async () => {
    await store.put(keys.item('needle-a'), 'hay');
    await store.put(keys.item(id(30)), 'has a NEEDLE inside');
    const pages = await follow('/work?q=needle&limit=1');
    assert.deepEqual(pages.flatMap((p) => p.body.map((w: { id: string }) => w.id)).sort(), ['needle-a', id(30)].sort());
  });

  it('answers malformed page parameters with 400 and a message naming them', async () => {
    for (const q of ['limit=0', 'limit=1001', 'limit=abc', 'limit=1.5', 'limit=-1', 'limit=', 'limit=1&limit=2', 'after=..%2Fx', 'after=', 'content=maybe', `q=${'x'.repeat(300)}`]) {
      const r = await get(`/work?${q}`);
      assert.equal(r.status, 400, `${q}: ${r.status}`);
      assert.equal(r.body.error, 'invalid');
      assert.match(r.body.message, /limit|after|content|q /, q);
    }
    for (const path of ['/workers?limit=0', '/jobs?after=%20', '/runs?limit=x', '/jobs/nope/tasks?output=2']) assert.equal((await get(path)).status, 400, path);
  });

  it("pages a job's tasks (output tails cut unless ?output=true), workers, jobs and runs", async () => {
    const client = new HttpClient(base);
    const job = await client.submitJob(JSON.stringify({ name: 'pg', command: ['true'], matrix: { n: Array.from({ length: 30 }, (_, i) => i) }, selector: { pool: 'nowhere' } }));
    await store.put(keys.result(`${job.id}.7`), JSON.stringify({ status: 'failed', reason: 'exit', exitCode: 1, signal: null, attempts: 1, finishedAt: 1, output: 'e'.repeat(5000) }));
    const pages = await follow(`/jobs/${job.id}/tasks?limit=7`);
    assert.deepEqual(pages.map((p) => p.body.length), [7, 7, 7, 7, 2]);
    const tasks = pages.flatMap((p) => p.body) as Array<{ index: number; result?: { output: string; outputTruncated?: boolean } }>;
    assert.deepEqual(tasks.map((t) => t.index).sort((a, b) => a - b), Array.from({ length: 30 }, (_, i) => i));
    assert.equal(tasks.find((t) => t.index === 7)!.result!.output.length, 1024);
    assert.equal(tasks.find((t) => t.index === 7)!.result!.outputTruncated, true);
    assert.equal((await get(`/jobs/${job.id}/tasks?output=true&after=${job.id}.6&limit=1`)).body[0].result.output.length, 5000);
    // The client reads them all, whole and in index order.
    const all = await client.jobTasks(job.id);
    assert.deepEqual(all.map((t) => t.index), Array.from({ length: 30 }, (_, i) => i));
    assert.equal(all[7].result!.output.length, 5000);
    assert.equal((await client.getJob(job.id)).counts.failed, 1);

    for (let i = 0; i < 3; i++) await store.put(keys.worker(`wk-${i}`), JSON.stringify({ host: 'h', pid: i, capacity: 1, labels: {}, load: 0, draining: false, startedAt: '' }));
    assert.deepEqual((await follow('/workers?limit=2')).map((p) => p.body.length), [2, 1]);
    for (let i = 0; i < 3; i++) await client.createRun({ id: `run-${i}`, participants: { n: [1] } });
    await client.setRunParam('run-0', 'n', 1, 'p', 'v');
    assert.deepEqual((await follow('/runs?limit=2')).flatMap((p) => p.body.map((r: { id: string }) => r.id)), ['run-0', 'run-1', 'run-2']);
    assert.equal((await client.listRuns()).length, 3);
    assert.deepEqual((await follow('/jobs?limit=1')).flatMap((p) => p.body.map((j: { id: string }) => j.id)), [job.id]);
  });

  it('the HTTP client and `rota work ls` read past the 1,000 items of one page', async () => {
    await store.delete(keys.registry, { prefix: true });
    for (let i = 0; i < 1005; i += 100) {
      await store.txn({ success: Array.from({ length: Math.min(100, 1005 - i) }, (_, j) => ({ type: 'put' as const, key: keys.item(id(i + j)), value: `n${i + j}` })) });
    }
    const client = new HttpClient(base);
    assert.equal((await client.listWork()).length, 1005);
    const page = await client.listWorkPage({ limit: 5, after: id(1) });
    assert.deepEqual(page.items.map((w) => w.id), [2, 3, 4, 5, 6].map(id));
    assert.equal(page.next, id(6));
    assert.equal(page.total, 1005);

    const cli = async (...args: string[]) => (await promisify(execFile)(process.execPath, [rotaBin, 'work', 'ls', '--api', base, ...args], { maxBuffer: 64 * MiB })).stdout;
    assert.equal((JSON.parse(await cli('--json')) as unknown[]).length, 1005);
    assert.deepEqual((JSON.parse(await cli('--json', '--limit', '3', '--after', id(998))) as Array<{ id: string }>).map((w) => w.id), [999, 1000, 1001].map(id));
    await assert.rejects(cli('--limit', '0'), /--limit must be a whole number/);
  });
});
