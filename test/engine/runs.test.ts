// Runs on both backends: barriers that advance exactly once per round, refusals that change
// nothing, parameters, and live events over SSE and WebSocket that resume without a gap.
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import WebSocket from 'ws';
import { StoreClient } from '../../src/client/store-client.js';
import { watchRun } from '../../src/client/watch-run.js';
import { Keys } from '../../src/engine/keys.js';
import { completeRun, createRun, getRun, RunRefusedError } from '../../src/engine/runs/runs.js';
import { WriteOnce } from '../../src/engine/write-once.js';
import { buildServer } from '../../src/server/app.js';
import type { Store } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { fresh } from '../store/conformance.js';

forEachBackend('runs', (backend) => {
  let store: Store;
  let keys: Keys;
  let w: WriteOnce;
  let app: FastifyInstance;
  let api: string;
  before(async () => {
    store = await backend.open();
    keys = new Keys(fresh());
    w = new WriteOnce(store, keys);
    app = await buildServer({ client: new StoreClient(store, keys), events: { store, keys } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    api = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => app?.close());

  const run = (id: string, participants: Record<string, number[]> = { node1: [1, 2, 4], node2: [2] }) =>
    createRun(w, keys, { id, participants, states: ['init', 'provisioning', 'executing', 'ready'] }, Date.now());

  it('advances when the last participant reports, re-arms everyone, refuses what does not fit, is idempotent', async () => {
    await run('run-1235');
    const done = async (node: string, index: number, state: string) => completeRun(w, keys, 'run-1235', { node, index, state });
    assert.equal((await done('node1', 1, 'init')).advanced, false);
    const again = await done('node1', 1, 'init');
    assert.deepEqual([again.recorded, again.advanced], [false, false], 'a repeat changes nothing');
    await assert.rejects(done('node2', 1, 'init'), (e: Error) => e instanceof RunRefusedError && /node2\/1 is not a participant.*node1 \[1 2 4\], node2 \[2\]/.test(e.message));
    await assert.rejects(done('node1', 2, 'executing'), (e: Error) => e instanceof RunRefusedError && /is in state "init" \(round 1\)/.test(e.message));
    const before = await getRun(w, keys, 'run-1235');
    assert.deepEqual(before.pending, ['node1/2', 'node1/4', 'node2/2'], 'refusals changed nothing');
    await done('node1', 2, 'init');
    await done('node1', 4, 'init');
    const last = await done('node2', 2, 'init');
    assert.equal(last.advanced, true);
    assert.equal(last.run.state, 'provisioning');
    assert.equal(last.run.round, 2);
    assert.deepEqual(last.run.pending, ['node1/1', 'node1/2', 'node1/4', 'node2/2'], 'everyone is pending again');
    assert.deepEqual(last.run.history.map((h) => h.state), ['init', 'provisioning']);
    // A late report of the old state does not eat a participant of the new round.
    await assert.rejects(done('node1', 1, 'init'), RunRefusedError);
    assert.equal((await getRun(w, keys, 'run-1235')).pending.length, 4);
  });

  it('advances exactly once per round when 100 participants report at once', async () => {
    await run('crowd', { a: Array.from({ length: 50 }, (_, i) => i), b: Array.from({ length: 50 }, (_, i) => i) });
    const clients = [store, await backend.open(), await backend.open()];
    for (const state of ['init', 'provisioning', 'executing']) {
      const writers = clients.map((c) => new WriteOnce(c, keys));
      const reports = ['a', 'b'].flatMap((node) => Array.from({ length: 50 }, (_, i) => completeRun(writers[i % 3], keys, 'crowd', { node, index: i, state })));
      const results = await Promise.all(reports);
      assert.equal(results.filter((r) => r.advanced).length, 1, `one advance for ${state}`);
    }
    const r = await getRun(w, keys, 'crowd');
    assert.deepEqual(r.history.map((h) => [h.state, h.round]), [['init', 1], ['provisioning', 2], ['executing', 3], ['ready', 4]]);
  });

  it('keeps parameters, with defaults', async () => {
    const client = new StoreClient(store, keys);
    await client.createRun({ id: 'params', participants: { n: [1] }, defaults: { threads: '4' } });
    assert.equal(await client.getRunParam('params', 'n', 1, 'threads'), '4');
    await client.setRunParam('params', 'n', 1, 'threads', '8');
    assert.equal(await client.getRunParam('params', 'n', 1, 'threads'), '8');
    await assert.rejects(client.getRunParam('params', 'n', 1, 'missing'), /does not exist/);
    await client.deleteRun('params');
    await assert.rejects(client.getRun('params'), /does not exist/);
  });

  it('an SSE and a WebSocket client each receive a transition; a waiter that reconnects misses nothing', async () => {
    await run('live', { n: [1] });
    const ws = new WebSocket(`${api.replace('http', 'ws')}/ws?run=live`);
    const wsMessages: Array<{ revision: number; changes: Array<{ key: string; value?: string }> }> = [];
    ws.on('message', (m) => wsMessages.push(JSON.parse(String(m))));
    await new Promise((r) => ws.once('open', r));
    const sse = watchRun(api, 'live');
    const first = await sse.next();
    assert.equal(first.value?.type, 'run');
    await completeRun(w, keys, 'live', { node: 'n', index: 1, state: 'init' });
    const seen = await sse.next();
    assert.deepEqual([seen.value?.type, (seen.value as { state: string }).state], ['state', 'provisioning']);
    const lastRevision = (seen.value as { revision: number }).revision;
    await sse.return(undefined); // the waiter goes away…
    await completeRun(w, keys, 'live', { node: 'n', index: 1, state: 'provisioning' });
    await completeRun(w, keys, 'live', { node: 'n', index: 1, state: 'executing' });
    const resumed = watchRun(api, 'live', { afterRevision: lastRevision }); // …and comes back
    const states: string[] = [];
    for await (const e of resumed) {
      if (e.type === 'state') states.push(e.state);
      if (states.length === 2) break;
    }
    assert.deepEqual(states, ['executing', 'ready'], 'every transition it missed, in order');
    const wsStates = () => wsMessages.flatMap((m) => m.changes.filter((c) => c.key.endsWith('/run') && c.value).map((c) => JSON.parse(c.value!).state));
    for (let i = 0; i < 50 && wsStates().length < 3; i++) await new Promise((r) => setTimeout(r, 20));
    assert.deepEqual(wsStates(), ['provisioning', 'executing', 'ready']);
    ws.close();
  });

  if (backend.name === 'embedded') {
    it('drops a client that does not read, with a reason, instead of buffering without bound', async () => {
      const res = await fetch(`${api}/events?prefix=big/`);
      const reader = res.body!.getReader();
      const big = 'x'.repeat(1024 * 1024);
      for (let i = 0; i < 40; i++) await store.put(`${keys.prefix}big/${i}`, big);
      let text = '';
      for (;;) {
        const { done, value } = await reader.read();
        if (done) break;
        text += Buffer.from(value).toString('utf8').slice(-500);
      }
      assert.match(text, /event: error\ndata: \{"error":"too_slow"/);
    });
  }
}, { timeout: 90_000 });
