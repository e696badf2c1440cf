// Runs under faults and odd input, both backends: an advance left undone by a reporter that died
// between its report and the advance is finished by a waiter and by a report of the next state;
// a list that names a state twice runs through once; every input bound is refused up front (400).
import assert from 'node:assert/strict';
import { after, before, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { ValidationError } from '../../src/client/errors.js';
import { StoreClient } from '../../src/client/store-client.js';
import { Keys } from '../../src/engine/keys.js';
import { RunEvents } from '../../src/engine/runs/run-events.js';
import { MAX_INDEX, MAX_PARAM_BYTES, MAX_PARTICIPANTS, MAX_STATES } from '../../src/engine/runs/run-input.js';
import { buildServer } from '../../src/server/app.js';
import type { Store } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { fresh } from '../store/conformance.js';

forEachBackend('runs: repair and bounds', (backend) => {
  let store: Store;
  let keys: Keys;
  let client: StoreClient;
  let app: FastifyInstance;
  let api: string;
  before(async () => {
    store = await backend.open();
    keys = new Keys(fresh());
    client = new StoreClient(store, keys);
    app = await buildServer({ client, events: { store, keys } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    api = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
  });
  after(async () => app?.close());

  /** What a reporter that died after its report and before the advance leaves: nobody pending, the old state. */
  const dieBeforeAdvance = async (run: string, participant: string) => {
    const r = await store.delete(`${keys.runs}${run}/pending/${participant}`);
    assert.equal(r.deleted, 1);
  };

  it('a waiter sees the next state although the last reporter died before advancing', async () => {
    await client.createRun({ id: 'stuck-wait', participants: { n: [0, 1] }, states: ['a', 'b', 'c'] });
    await client.completeRun('stuck-wait', { node: 'n', index: 0, state: 'a' });
    const events = new RunEvents(store, keys, 'stuck-wait');
    try {
      await events.ready;
      const seen = new Promise<string>((resolve) => events.on('event', (e) => e.type === 'state' && resolve(`${e.state} ${e.round}`)));
      await dieBeforeAdvance('stuck-wait', 'n/1');
      const timeout = new Promise<string>((resolve) => setTimeout(() => resolve('still waiting after 10 s'), 10_000));
      assert.equal(await Promise.race([seen, timeout]), 'b 2');
    } finally {
      await events.close();
    }
  });

  it('a report of the next state is taken (not refused) after the last reporter died before advancing', async () => {
    await client.createRun({ id: 'stuck-report', participants: { n: [0, 1] }, states: ['a', 'b', 'c'] });
    await client.completeRun('stuck-report', { node: 'n', index: 0, state: 'a' });
    await dieBeforeAdvance('stuck-report', 'n/1');
    const next = await client.completeRun('stuck-report', { node: 'n', index: 0, state: 'b' });
    assert.equal(next.recorded, true);
    assert.deepEqual([next.run.state, next.run.round, next.run.pending], ['b', 2, ['n/1']]);
  });

  it('states [a, b, a, c] run a, b, a, c and end', async () => {
    await client.createRun({ id: 'twice', participants: { n: [0] }, states: ['a', 'b', 'a', 'c'] });
    for (const state of ['a', 'b', 'a']) await client.completeRun('twice', { node: 'n', index: 0, state });
    const run = await client.getRun('twice');
    assert.deepEqual(run.history.map((h) => h.state), ['a', 'b', 'a', 'c']);
    assert.deepEqual([run.state, run.final], ['c', true]);
  });

  it('a report that names a round is taken in that round only', async () => {
    await client.createRun({ id: 'rounds', participants: { n: [0, 1] }, transitions: { a: 'a' } });
    await client.completeRun('rounds', { node: 'n', index: 0, state: 'a', round: 1 });
    await client.completeRun('rounds', { node: 'n', index: 1, state: 'a', round: 1 });
    const late = await client.completeRun('rounds', { node: 'n', index: 0, state: 'a', round: 1 });
    assert.deepEqual([late.recorded, late.run.round, late.run.pending], [false, 2, ['n/0', 'n/1']], 'a report of round 1 does not count in round 2');
    await assert.rejects(client.completeRun('rounds', { node: 'n', index: 0, state: 'a', round: 5 }), /round 5/);
  });

  it('refuses runs beyond the bounds before any work, naming the limit (400 over HTTP)', async () => {
    const many = Array.from({ length: MAX_PARTICIPANTS + 1 }, (_, i) => i);
    const cases: Array<[object, RegExp]> = [
      [{ id: 'big1', participants: { n: many } }, new RegExp(`at most ${MAX_PARTICIPANTS}`)],
      [{ id: 'big2', participants: Object.fromEntries(many.map((i) => [`n${i}`, [0]])) }, new RegExp(`at most ${MAX_PARTICIPANTS}`)],
      [{ id: 'big3', participants: { n: [0] }, states: Array.from({ length: MAX_STATES + 1 }, (_, i) => `s${i}`) }, new RegExp(`at most ${MAX_STATES} states`)],
      [{ id: 'big4', participants: { n: [MAX_INDEX + 1] } }, new RegExp(`at most ${MAX_INDEX}`)],
      [{ id: 'big5', participants: { n: [0] }, defaults: { p: 'x'.repeat(MAX_PARAM_BYTES + 1) } }, new RegExp(`limit is ${MAX_PARAM_BYTES}`)],
      [{ id: 'big6', participants: { n: [0] }, states: ['x'.repeat(200)] }, /at most 128 characters/],
    ];
    for (const [input, message] of cases) {
      await assert.rejects(client.createRun(input as never), (e: Error) => e instanceof ValidationError && message.test(e.message), JSON.stringify(input).slice(0, 60));
      const res = await fetch(`${api}/runs`, { method: 'POST', headers: { 'content-type': 'application/json' }, body: JSON.stringify(input) });
      assert.equal(res.status, 400);
      assert.match(((await res.json()) as { message: string }).message, message);
    }
    assert.equal((await client.listRuns()).filter((r) => r.id.startsWith('big')).length, 0, 'nothing was written');
    await client.createRun({ id: 'ok', participants: { n: [0] } });
    await assert.rejects(client.setRunParam('ok', 'n', 0, 'p', 'x'.repeat(MAX_PARAM_BYTES + 1)), new RegExp(`limit is ${MAX_PARAM_BYTES}`));
    await assert.rejects(client.completeRun('ok', { node: 'n', index: MAX_INDEX + 1, state: 'init' }), ValidationError);
  });
}, { timeout: 60_000 });
