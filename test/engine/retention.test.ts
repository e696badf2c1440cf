// Nothing left behind, both backends, leader and agents in process: deleting an item takes its
// result and attempts (even while a worker is still stopping it), so the same id runs again;
// `rota job rm` / DELETE /jobs/:id take a job whole, and a delete cut off halfway is finished by the
// leader; retention deletes finished tasks and jobs beyond an age and a count.
import assert from 'node:assert/strict';
import { execFile } from 'node:child_process';
import { promisify } from 'node:util';
import { after, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import { StoreClient } from '../../src/client/store-client.js';
import { Agent } from '../../src/engine/agent.js';
import { deleteTasks, markDeleting } from '../../src/engine/jobs/job-delete.js';
import { Keys } from '../../src/engine/keys.js';
import { taskPlacements } from '../../src/engine/tasks/batch-reads.js';
import { Leader } from '../../src/engine/leader.js';
import { silentLogger } from '../../src/engine/log.js';
import { logProcessor } from '../../src/engine/processors/log-processor.js';
import type { RetentionPolicy } from '../../src/engine/retention/policy.js';
import { buildServer } from '../../src/server/app.js';
import type { Store } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/processes.js';
import { root, rotaBin } from '../helpers/rota-process.js';
import { fresh } from '../store/conformance.js';

const KEEP_ALL: RetentionPolicy = { maxAgeMs: 0, maxCount: 0 };

async function fleet(store: Store, retention: RetentionPolicy = KEEP_ALL) {
  const keys = new Keys(fresh());
  const leader = new Leader({ store, keys, nodeId: 'leader', log: silentLogger, ttl: 2, debounceMs: 10, retention, retentionEveryMs: 100 });
  const agent = new Agent({ store, keys, workerId: 'w0', processor: logProcessor(), log: silentLogger, ttl: 2, capacity: 4 });
  leader.start();
  await agent.start();
  const client = new StoreClient(store, keys);
  const count = async (prefix: string) => (await store.range(prefix, { prefix: true, countOnly: true })).count;
  /** Keys of everything a task may leave, but its claim. */
  const leftovers = async (id: string) => {
    const found = [];
    for (const key of [keys.item(id), keys.spec(id), keys.result(id), keys.assignment('w0', id)]) if (await store.get(key)) found.push(key);
    if (await count(keys.attempt(id))) found.push(keys.attempt(id));
    return found;
  };
  const result = (id: string) => waitFor(async () => (await client.getWork(id)).result, 20_000, `the result of ${id}`);
  return {
    keys,
    client,
    count,
    leftovers,
    result,
    stop: async () => {
      await agent.stop();
      await leader.stop();
    },
  };
}

forEachBackend('nothing left behind', (backend) => {
  let app: FastifyInstance | undefined;
  after(async () => app?.close());

  it('deleting a finished task takes its result and attempts; the same id added again runs again', async () => {
    const f = await fleet(await backend.open());
    try {
      await f.client.addWork({ id: 'again', content: '', kind: 'task', command: ['sh', '-c', 'echo first'] });
      assert.match((await f.result('again')).output, /first/);
      await f.client.deleteWork('again');
      assert.deepEqual(await f.leftovers('again'), []);
      await f.client.addWork({ id: 'again', content: '', kind: 'task', command: ['sh', '-c', 'echo second'] });
      const r = await f.result('again');
      assert.match(r.output, /second/);
      assert.equal(r.attempts, 1, 'the old attempt does not count');
    } finally {
      await f.stop();
    }
  });

  it('a task deleted while it runs leaves nothing: the worker that stops it writes nothing back', async () => {
    const store = await backend.open();
    const f = await fleet(store);
    try {
      await f.client.addWork({ id: 'busy', content: '', kind: 'task', command: ['sleep', '30'] });
      await waitFor(async () => (await taskPlacements(store, f.keys)).get('busy')?.token !== undefined, 20_000, 'the attempt to begin');
      await f.client.deleteWork('busy');
      await waitFor(async () => (await f.count(f.keys.active)) + (await f.count(f.keys.assign)) === 0, 20_000, 'the worker to let go of its batch');
      assert.deepEqual(await f.leftovers('busy'), []);
    } finally {
      await f.stop();
    }
  });

  it('DELETE /jobs/:id and rota job rm take a job whole: record, tasks, specs, results, attempts; running tasks stop', async () => {
    const store = await backend.open();
    const f = await fleet(store);
    app = await buildServer({ client: f.client, events: { store, keys: f.keys } });
    await app.listen({ port: 0, host: '127.0.0.1' });
    const api = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    try {
      const done = await f.client.submitJob(JSON.stringify({ name: 'done', command: ['true'], matrix: { n: Array.from({ length: 60 }, (_, i) => String(i)) } }));
      await waitFor(async () => (await f.client.getJob(done.id)).done === 60, 30_000, 'the job to finish');
      const busy = await f.client.submitJob(JSON.stringify({ name: 'busy', command: ['sleep', '30'], matrix: { n: ['1', '2', '3'] } }));
      await waitFor(async () => (await f.client.getJob(busy.id)).counts.running > 0, 20_000, 'a task to run');
      const res = await fetch(`${api}/jobs/${busy.id}`, { method: 'DELETE' });
      assert.equal(res.status, 204);
      // The API is served by this process: the CLI must not block its event loop.
      const cli = await promisify(execFile)(process.execPath, [rotaBin, 'job', 'rm', done.id, '--api', api], { cwd: root, encoding: 'utf8' });
      assert.match(cli.stdout, new RegExp(`deleted ${done.id}`));
      assert.equal((await fetch(`${api}/jobs/${done.id}`)).status, 404);
      await waitFor(async () => (await f.count(f.keys.active)) === 0, 20_000, 'the running tasks to stop');
      for (const id of [done.id, busy.id]) {
        for (const p of [f.keys.registry, f.keys.specs, f.keys.results, f.keys.attempts, f.keys.assign]) assert.equal(await f.count(`${p}${id}.`), 0, `${p}${id}.`);
        assert.equal(await store.get(f.keys.job(id)), null);
      }
      assert.equal((await fetch(`${api}/jobs/${done.id}`, { method: 'DELETE' })).status, 404);
    } finally {
      await app.close();
      app = undefined;
      await f.stop();
    }
  });

  it('a job delete cut off halfway is finished by the leader; none of its tasks runs meanwhile', async () => {
    const store = await backend.open();
    const f = await fleet(store);
    try {
      const job = await f.client.submitJob(JSON.stringify({ name: 'cut', command: ['sleep', '30'], matrix: { n: Array.from({ length: 80 }, (_, i) => String(i)) } }));
      // What `rota job rm` leaves when it dies after its first batch.
      const at = await markDeleting(store, f.keys, job.id);
      assert.ok(at);
      assert.equal(await deleteTasks(store, f.keys, at, 0, 25), 25);
      await waitFor(async () => !(await store.get(f.keys.job(job.id))), 20_000, 'the leader to finish the delete');
      assert.equal(await f.count(`${f.keys.registry}${job.id}.`), 0);
      await waitFor(async () => (await f.count(f.keys.active)) === 0, 20_000, 'no task of it running');
      assert.equal(await f.count(`${f.keys.attempts}${job.id}.`), 0);
    } finally {
      await f.stop();
    }
  });

  it('retention keeps the newest finished tasks up to the count, and jobs whole', async () => {
    const store = await backend.open();
    const f = await fleet(store, { maxAgeMs: 0, maxCount: 3 });
    try {
      for (let i = 0; i < 6; i++) {
        await f.client.addWork({ id: `t${i}`, content: '', kind: 'task' });
        await f.result(`t${i}`); // one after another: their finish times are ordered
      }
      await waitFor(async () => (await f.count(f.keys.results)) === 3, 20_000, 'three results left');
      for (const id of ['t0', 't1', 't2']) assert.deepEqual(await f.leftovers(id), [], id);
      for (const id of ['t3', 't4', 't5']) assert.ok((await f.client.getWork(id)).result, id);
      // A job finishing after them is the newest unit: it is kept whole, the older tasks go.
      const job = await f.client.submitJob(JSON.stringify({ name: 'kept', command: ['true'], matrix: { n: ['1', '2', '3', '4', '5'] } }));
      await waitFor(async () => (await f.count(f.keys.registry)) === 5, 20_000, 'only the job left');
      assert.equal((await f.client.getJob(job.id)).done, 5);
      assert.equal(await f.count(f.keys.results), 5);
      assert.equal(await f.count(f.keys.attempts), 0, 'a first attempt that succeeded leaves its result alone');
    } finally {
      await f.stop();
    }
  });

  it('retention deletes what finished longer ago than its age', async () => {
    const store = await backend.open();
    const f = await fleet(store, { maxAgeMs: 1500, maxCount: 0 });
    try {
      await f.client.addWork({ id: 'old', content: '', kind: 'task' });
      const job = await f.client.submitJob(JSON.stringify({ name: 'aging', command: ['true'], matrix: { n: ['1', '2'] } }));
      await f.result('old');
      const finished = Date.now();
      await waitFor(async () => (await f.count(f.keys.registry)) === 0 && !(await store.get(f.keys.job(job.id))), 20_000, 'everything to expire');
      assert.ok(Date.now() - finished >= 1000, 'not before its age');
      assert.equal((await f.count(f.keys.results)) + (await f.count(f.keys.attempts)), 0);
    } finally {
      await f.stop();
    }
  });
}, { timeout: 120_000 });
