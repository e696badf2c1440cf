// Client writes survive a retry of a transaction that had committed (its answer lost, the request
// sent again, as the etcd adapter does after a deadline): each is reported as the success it was,
// applied once — and a real conflict (another request's) is still refused. Both backends.
import assert from 'node:assert/strict';
import { before, it } from 'node:test';
import { ConflictError, NotFoundError } from '../../src/client/errors.js';
import { StoreClient } from '../../src/client/store-client.js';
import { Keys } from '../../src/engine/keys.js';
import { completeRun, createRun, getRun } from '../../src/engine/runs/runs.js';
import { WriteOnce } from '../../src/engine/write-once.js';
import type { Store } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { loseAnswers, type LostAnswers } from '../helpers/lost-answers.js';
import { fresh } from '../store/conformance.js';

forEachBackend('client writes retried after they committed', (backend) => {
  let store: Store;
  let keys: Keys;
  let lost: LostAnswers;
  let client: StoreClient;
  before(async () => {
    store = await backend.open();
    keys = new Keys(fresh());
    lost = loseAnswers(store);
    client = new StoreClient(lost.store, keys);
  });
  const count = async (prefix: string) => (await store.range(prefix, { prefix: true, countOnly: true })).count;

  it('addWork: a new random id is created once and answered 201, not 409', async () => {
    const before = lost.repeats;
    const w = await client.addWork({ content: 'hello' });
    assert.ok(lost.repeats > before, 'the fault was injected');
    assert.equal((await store.get(keys.item(w.id)))?.value, 'hello');
    assert.equal((await store.get(keys.item(w.id)))?.version, 1, 'written once');
    // Someone else's id is still refused.
    await new StoreClient(store, keys).addWork({ content: 'x', id: 'taken' });
    await assert.rejects(client.addWork({ content: 'y', id: 'taken' }), ConflictError);
    assert.equal((await store.get(keys.item('taken')))?.value, 'x');
  });

  it('updateWork and deleteWork report success, apply once, and a second delete is 404', async () => {
    const w = await client.addWork({ content: 'v1', id: 'upd' });
    await client.updateWork(w.id, { content: 'v2' });
    const kv = await store.get(keys.item(w.id));
    assert.deepEqual([kv?.value, kv?.version], ['v2', 2], 'one update, not two');
    await client.deleteWork(w.id);
    assert.equal(await store.get(keys.item(w.id)), null);
    await assert.rejects(client.deleteWork(w.id), NotFoundError);
  });

  it('submitJob: the job is created, all its tasks written and it is ready — not a 409 with the job stuck submitting', async () => {
    const job = await client.submitJob(JSON.stringify({ name: 'retried', command: ['true'], matrix: { n: ['1', '2', '3'] } }));
    const status = await client.getJob(job.id);
    assert.deepEqual([status.state, status.total], ['ready', 3]);
    assert.equal((await client.jobTasks(job.id)).length, 3);
    await client.cancelJob(job.id);
    assert.equal((await client.getJob(job.id)).counts.cancelled, 3);
    await client.deleteJob(job.id);
    await assert.rejects(client.getJob(job.id), NotFoundError);
    assert.equal(await count(keys.registry + `${job.id}.`), 0);
    await assert.rejects(client.deleteJob(job.id), NotFoundError);
  });

  it('runs: create, report, parameters and delete each succeed once', async () => {
    await client.createRun({ id: 'r1', participants: { n: [0, 1] }, states: ['a', 'b'] });
    const first = await client.completeRun('r1', { node: 'n', index: 0, state: 'a' });
    assert.deepEqual([first.recorded, first.advanced, first.run.pending], [true, false, ['n/1']]);
    const last = await client.completeRun('r1', { node: 'n', index: 1, state: 'a' });
    assert.deepEqual([last.recorded, last.advanced, last.run.state, last.run.round], [true, true, 'b', 2]);
    await client.setRunParam('r1', 'n', 0, 'p', 'v');
    assert.equal(await client.getRunParam('r1', 'n', 0, 'p'), 'v');
    await client.deleteRun('r1');
    await assert.rejects(client.getRun('r1'), NotFoundError);
  });

  it('a report retried after its round ended never counts in the next round (a state that follows itself)', async () => {
    const w = new WriteOnce(store, keys);
    await createRun(w, keys, { id: 'loop', participants: { n: [0, 1] }, transitions: { a: 'a' } }, Date.now());
    let injected = false;
    lost.between = async (request) => {
      // In the gap before n/0's retry arrives, n/1 reports and the run moves on to round 2.
      if (injected || !request.success?.some((op) => op.type === 'delete' && op.key.endsWith('/pending/n/0'))) return;
      injected = true;
      const other = await completeRun(w, keys, 'loop', { node: 'n', index: 1, state: 'a' });
      assert.equal(other.run.round, 2);
    };
    try {
      await completeRun(new WriteOnce(lost.store, keys), keys, 'loop', { node: 'n', index: 0, state: 'a' });
    } finally {
      lost.between = undefined;
    }
    assert.ok(injected);
    const run = await getRun(w, keys, 'loop');
    assert.equal(run.round, 2);
    assert.deepEqual(run.pending, ['n/0', 'n/1'], 'round 2 still waits for both');
  });
});
