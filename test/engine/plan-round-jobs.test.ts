// A planning round over a large job: the job record holds the whole matrix, so decoding it once per
// task made a round over 10,000 pending tasks parse ~600 MB of JSON and a `rota up` node stopped
// answering for 16 s at a time (its dashboard could not page the work view).
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { Keys } from '../../src/engine/keys.js';
import { planRound, type Snapshot } from '../../src/engine/plan-round.js';
import type { KeyValue } from '../../src/store/index.js';

const keys = new Keys('/work/');
const kv = (key: string, value: string, rev: number): KeyValue => ({ key, value, createRevision: rev, modRevision: rev, version: 1, lease: '0' });

describe('planning a round over a large job', () => {
  it('10,000 tasks of one job with a 60 KB record: a round takes well under a second', () => {
    const n = 10_000;
    const matrix = { n: Array.from({ length: n }, (_, i) => String(i)) };
    const job = kv(keys.job('big'), JSON.stringify({ id: 'big', name: 'big', state: 'ready', total: n, createdAt: 0, spec: { name: 'big', command: ['true'], matrix } }), 1);
    assert.ok(job.value.length > 60_000);
    const registry = new Map<string, KeyValue>();
    const specs = new Map<string, KeyValue>();
    for (let i = 0; i < n; i++) {
      const id = `big.${i}`;
      registry.set(keys.item(id), kv(keys.item(id), JSON.stringify({ n: String(i) }), 2 + i));
      // No worker matches the selector: every task stays pending, and each round looks at all of them.
      specs.set(keys.spec(id), kv(keys.spec(id), JSON.stringify({ kind: 'task', command: ['true'], job: 'big', selector: { pool: 'nowhere' } }), 2 + i));
    }
    const snapshot: Snapshot = {
      now: 1000,
      workers: [{ id: 'w1', record: { host: 'h', pid: 1, capacity: 4, labels: {}, load: 0, draining: false, startedAt: '' } as never }],
      registry,
      specs,
      assign: new Map(),
      active: new Map(),
      results: new Map(),
      attempts: () => [],
      jobs: new Map([[job.key, job]]),
    };
    const t = performance.now();
    for (let round = 0; round < 3; round++) planRound(snapshot, keys, () => 0.5);
    const ms = (performance.now() - t) / 3;
    console.log(`# a round over 10,000 pending tasks of one job: ${ms.toFixed(0)} ms`);
    assert.ok(ms < 1000, `${ms.toFixed(0)} ms a round`);
  });
});
