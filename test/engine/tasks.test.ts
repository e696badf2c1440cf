// Tasks on both backends, leader and agents in process: results written once under the claim,
// retries with backoff, timeouts that kill the process tree, and a stale worker refused.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import { after, it } from 'node:test';
import { StoreClient } from '../../src/client/store-client.js';
import { Agent } from '../../src/engine/agent.js';
import { Keys } from '../../src/engine/keys.js';
import { Leader } from '../../src/engine/leader.js';
import { silentLogger } from '../../src/engine/log.js';
import { logProcessor } from '../../src/engine/processors/log-processor.js';
import { claimBatchTxn, endWrites, holdsBatch, newBatchId, type BatchTask } from '../../src/engine/tasks/batch.js';
import type { TaskResult } from '../../src/engine/tasks/task-model.js';
import type { Store } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { isRunning, tempDir, waitFor } from '../helpers/processes.js';
import { fresh } from '../store/conformance.js';

const tmp = tempDir('tasks');
after(() => tmp.remove());

async function fleet(store: Store, workers = 1) {
  const keys = new Keys(fresh());
  const leader = new Leader({ store, keys, nodeId: 'leader', log: silentLogger, ttl: 2, debounceMs: 10 });
  const agents = Array.from({ length: workers }, (_, i) => new Agent({ store, keys, workerId: `w${i}`, processor: logProcessor(), log: silentLogger, ttl: 2, capacity: 2 }));
  leader.start();
  for (const a of agents) await a.start();
  const client = new StoreClient(store, keys);
  const result = (id: string) => waitFor(async () => (await client.getWork(id)).result, 20_000, `the result of ${id}`);
  return {
    keys,
    client,
    result,
    stop: async () => {
      for (const a of agents) await a.stop();
      await leader.stop();
    },
  };
}

forEachBackend('tasks', (backend) => {
  it('runs a task to a recorded result; a failing one is retried with backoff, then fails for good', async () => {
    const f = await fleet(await backend.open());
    try {
      const ok = await f.client.addWork({ content: 'hello', kind: 'task', command: ['sh', '-c', 'cat; echo " out"; echo err >&2'] });
      const bad = await f.client.addWork({ content: '', kind: 'task', command: ['sh', '-c', 'echo nope; exit 7'], maxAttempts: 3, backoffMs: 100 });
      const r = await f.result(ok.id);
      assert.equal(r.status, 'succeeded');
      assert.equal(r.exitCode, 0);
      assert.equal(r.attempts, 1);
      assert.equal(r.worker, 'w0');
      assert.match(r.output, /hello out/);
      assert.match(r.output, /err/);
      assert.ok(r.durationMs !== undefined && r.finishedAt >= r.startedAt!);
      const b = await f.result(bad.id);
      assert.deepEqual([b.status, b.reason, b.exitCode, b.attempts], ['failed', 'exit', 7, 3]);
      // Attempts that may be retried leave a record; the last one is the result.
      const attempts = (await (await backend.open()).range(f.keys.attempt(bad.id), { prefix: true })).kvs.map((kv) => JSON.parse(kv.value));
      assert.equal(attempts.length, 2);
      const starts = [...attempts.map((a) => a.startedAt), b.startedAt];
      for (let i = 1; i < 3; i++) assert.ok(starts[i] >= attempts[i - 1].end.retryAt, 'each retry waits for its backoff');
    } finally {
      await f.stop();
    }
  });

  it('retries a task that fails once, then it succeeds', async () => {
    const f = await fleet(await backend.open());
    try {
      const marker = path.join(tmp.dir, `once-${backend.name}`);
      const t = await f.client.addWork({ content: '', kind: 'task', command: ['sh', '-c', `[ -e "${marker}" ] || { touch "${marker}"; exit 1; }`], backoffMs: 50 });
      const r = await f.result(t.id);
      assert.deepEqual([r.status, r.attempts], ['succeeded', 2]);
    } finally {
      await f.stop();
    }
  });

  it('kills a task that runs past its timeout, with everything it started', async () => {
    const f = await fleet(await backend.open());
    try {
      const pidFile = path.join(tmp.dir, `pid-${backend.name}`);
      const t = await f.client.addWork({ content: '', kind: 'task', command: ['sh', '-c', `sleep 60 & echo $! > "${pidFile}"; wait`], timeoutMs: 500, maxAttempts: 1 });
      const r = await f.result(t.id);
      assert.deepEqual([r.status, r.reason], ['failed', 'timeout']);
      const grandchild = Number(fs.readFileSync(pidFile, 'utf8'));
      await waitFor(() => !isRunning(grandchild), 3000, 'the sleeping grandchild to be killed');
    } finally {
      await f.stop();
    }
  });

  it('refuses the late result of a worker that lost its batch; the result is written once', async () => {
    const store = await backend.open();
    const keys = new Keys(fresh());
    const id = 'task-1';
    const item = await store.put(keys.item(id), '');
    await store.put(keys.spec(id), JSON.stringify({ kind: 'task', weight: 1, selector: {} }));
    const task: BatchTask = { id, created: item.revision, attempt: 1 };
    // Each worker claims a batch naming the task, as the agent does (a claim needs its batch as read).
    const claim = async (worker: string, lease: string) => {
      const batch = newBatchId();
      const put = await store.put(keys.assignment(worker, batch), JSON.stringify({ tasks: [task] }));
      const kv = (await store.get(keys.assignment(worker, batch)))!;
      assert.equal(kv.modRevision, put.revision);
      const r = await store.txn(claimBatchTxn(keys, worker, batch, kv, { tasks: [task] }, lease));
      assert.ok(r.succeeded, `${worker} claims its batch`);
      return { batch, token: r.revision };
    };
    const end = (b: { batch: string; token: number }, worker: string) => {
      const result: TaskResult = { status: 'succeeded', reason: 'exit', exitCode: 0, signal: null, attempts: 1, worker, finishedAt: Date.now(), output: worker };
      const w = endWrites(keys, b.token, [{ task, result }]);
      return store.txn({ compare: [holdsBatch(keys, b.batch, b.token), ...w.compare], success: w.success });
    };
    const stale = await store.grantLease(10);
    const a = await claim('stale', stale.id);
    assert.equal((await store.txn(claimBatchTxn(keys, 'stale', a.batch, (await store.get(keys.assignment('stale', a.batch)))!, { tasks: [task] }, stale.id))).succeeded, false, 'a batch is claimed once');
    await store.revokeLease(stale.id); // its lease is gone, the claim with it
    const fresh_ = await store.grantLease(10);
    const b = await claim('fresh', fresh_.id);
    assert.equal((await end(a, 'stale')).succeeded, false, 'the late end is refused');
    assert.equal(await store.get(keys.result(id)), null);
    assert.equal((await end(b, 'fresh')).succeeded, true);
    assert.equal(JSON.parse((await store.get(keys.result(id)))!.value).worker, 'fresh');
    assert.equal((await end(b, 'again')).succeeded, false, 'nothing is written twice');
    // Deleted and added again: the new item is not the one the batch named.
    await store.delete(keys.result(id));
    await store.delete(keys.item(id));
    await store.put(keys.item(id), '');
    assert.equal((await end(b, 'fresh')).succeeded, false, 'a result never lands on a newer item of the same id');
    await store.revokeLease(fresh_.id);
  });
}, { timeout: 120_000 });
