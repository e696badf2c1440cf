// Properties of the leader's task batches (task-changes.ts), over random fleets of batches in every
// state: a task is never put in a new batch while a batch may still run it; new batches never
// overflow a worker's task capacity nor hold more than its slots; a batch whose claim went is closed
// in one transaction that counts each unfinished task's attempt once (its result if it was the
// last), never one that ended; claimed batches get stop lists for cancelled and deleted tasks only.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Keys } from '../../src/engine/keys.js';
import { DEFAULT_SPEC, type WorkSpec } from '../../src/engine/model.js';
import { attemptId, batchOf, BATCH_MAX, type TaskBatch } from '../../src/engine/tasks/batch.js';
import { planTaskChanges, type BatchView, type TaskSnapshot } from '../../src/engine/tasks/task-changes.js';
import type { AttemptRecord, TaskResult } from '../../src/engine/tasks/task-model.js';
import type { KeyValue } from '../../src/store/index.js';

const keys = new Keys('/work/');
const kv = (key: string, value: string, create: number, mod = create): KeyValue => ({ key, value, createRevision: create, modRevision: mod, version: 1, lease: '0' });
const spec: WorkSpec = { ...DEFAULT_SPEC, kind: 'task', maxAttempts: 3 };

/** A random fleet: tasks 0..n-1 (some deleted or re-added), each in at most one batch, batches open, claimed or lost. */
const caseArb = fc
  .record({
    workers: fc.array(fc.record({ slots: fc.integer({ min: 1, max: 70 }), draining: fc.boolean() }), { minLength: 1, maxLength: 4 }),
    tasks: fc.array(
      fc.record({
        state: fc.constantFrom('queued', 'queued', 'in-batch', 'done', 'cancelled', 'deleted', 'readded'),
        batch: fc.integer({ min: 0, max: 5 }),
        ended: fc.boolean(),
        attempts: fc.integer({ min: 0, max: 2 }),
      }),
      { maxLength: 60 },
    ),
    batches: fc.array(fc.record({ worker: fc.integer({ min: 0, max: 4 }), state: fc.constantFrom('open', 'claimed', 'lost') }), { minLength: 6, maxLength: 6 }),
  })
  .map(({ workers, tasks, batches }) => {
    const registry = new Map<string, KeyValue>();
    const results = new Map<string, TaskResult>();
    const attempts = new Map<string, Array<{ kv: KeyValue; record: AttemptRecord }>>();
    const views: BatchView[] = batches.map((b, i) => {
      const id = `~b${i}`;
      const record: TaskBatch = { tasks: [], claimed: b.state !== 'open' || undefined };
      return { worker: `w${b.worker}`, id, kv: kv(keys.assignment(`w${b.worker}`, id), '', 100 + i, b.state === 'open' ? 100 + i : 200 + i), record };
    });
    const claims = new Map<string, KeyValue>(batches.flatMap((b, i) => (b.state === 'claimed' ? [[`~b${i}`, kv(keys.claim(`~b${i}`), `w${b.worker}`, 200 + i)] as [string, KeyValue]] : [])));
    tasks.forEach((t, i) => {
      const id = `t${i}`;
      const created = t.state === 'readded' ? 500 + i : 10 + i;
      if (t.state !== 'deleted') registry.set(id, kv(keys.item(id), '', created));
      const list: Array<{ kv: KeyValue; record: AttemptRecord }> = [];
      for (let a = 0; a < t.attempts; a++) list.push({ kv: kv(keys.attempt(id, attemptId(50 + a)), '', 50 + a), record: { worker: 'old', token: 50 + a, startedAt: 0, end: { ok: false, reason: 'exit', exitCode: 1, signal: null, finishedAt: 0, retryAt: 0 } } });
      if (t.state !== 'queued') {
        const b = views[t.batch];
        b.record.tasks.push({ id, created: 10 + i, attempt: t.attempts + 1, spec: JSON.stringify(spec) });
        const token = claims.get(b.id)?.createRevision ?? b.kv.modRevision;
        if (t.ended && b.record.claimed) list.push({ kv: kv(keys.attempt(id, attemptId(token)), '', token), record: { worker: b.worker, token, startedAt: 0, end: { ok: false, reason: 'exit', exitCode: 1, signal: null, finishedAt: 0, retryAt: 0 } } });
      }
      if (t.state === 'done') results.set(id, { status: 'succeeded', reason: 'exit', exitCode: 0, signal: null, attempts: 1, finishedAt: 0, output: '' });
      if (t.state === 'cancelled') results.set(id, { status: 'cancelled', reason: 'cancelled', exitCode: null, signal: null, attempts: 0, finishedAt: 0, output: '' });
      attempts.set(id, list);
    });
    const s: TaskSnapshot = {
      now: 1000,
      workers: workers.map((w, i) => ({ id: `w${i}`, capacity: w.slots * 2, slots: w.slots, labels: {}, draining: w.draining })),
      tasks: [...registry.keys()].filter((id) => !results.has(id)).map((id) => ({ id, spec, order: registry.get(id)!.createRevision })),
      batches: views.filter((b) => b.record.tasks.length > 0),
      item: (id) => registry.get(id),
      spec: () => kv('', JSON.stringify(spec), 1),
      claimOf: (b) => claims.get(b),
      resultOf: (id) => results.get(id),
      attemptsOf: (id) => attempts.get(id) ?? [],
      jobReady: () => true,
    };
    return { s, claims, views: views.filter((b) => b.record.tasks.length > 0) };
  });

describe('task batches: the leader', () => {
  it('never batches a task twice, never overflows a worker, closes each lost batch once, stops only what must stop', () => {
    fc.assert(
      fc.property(caseArb, ({ s, claims }) => {
        const out = planTaskChanges(s, keys, () => 0.5);
        const placed = new Map<string, number>();
        for (const op of out.ops) {
          assert.equal(op.type, 'put');
          const a = keys.assignmentOf(op.key)!;
          const record = batchOf({ ...kv(op.key, (op as { value: string }).value, 1) })!;
          const w = s.workers.find((x) => x.id === a.worker)!;
          assert.ok(!w.draining, 'no batch for a draining worker');
          assert.ok(record.tasks.length >= 1 && record.tasks.length <= Math.min(BATCH_MAX, w.slots), `a batch of ${record.tasks.length} for ${w.slots} slots`);
          placed.set(a.worker, (placed.get(a.worker) ?? 0) + record.tasks.length);
          for (const t of record.tasks) {
            // Nothing that a batch may still run: in an open batch kept, or claimed and not ended, or a lost batch being closed.
            for (const b of s.batches) {
              if (!b.record.tasks.some((x) => x.id === t.id)) continue;
              const claim = s.claimOf(b.id);
              const ended = claim && s.attemptsOf(t.id).some((x) => x.record.token === claim.createRevision);
              assert.ok(claim ? ended : false, `${t.id} batched again while ${b.id} holds it`);
            }
            assert.equal(t.attempt, s.attemptsOf(t.id).length + 1);
            assert.equal(s.resultOf(t.id), undefined);
          }
        }
        for (const w of s.workers) {
          // What the worker holds already (claimed, not ended) and the new batches stay within its task capacity.
          const running = s.batches.filter((b) => b.worker === w.id && claims.has(b.id)).flatMap((b) => b.record.tasks.filter((t) => !s.attemptsOf(t.id).some((a) => a.record.token === claims.get(b.id)!.createRevision) && !s.resultOf(t.id) && s.item(t.id)?.createRevision === t.created));
          assert.ok(running.length + (placed.get(w.id) ?? 0) <= Math.max(w.capacity, running.length), `${placed.get(w.id)} placed on ${w.id} holding ${running.length} (capacity ${w.capacity})`);
        }
        for (const b of s.batches.filter((x) => x.record.claimed && !claims.has(x.id))) {
          const txn = out.guarded.find((g) => (g.success ?? []).some((op) => op.type === 'delete' && op.key === b.kv.key))!;
          assert.ok(txn, `lost batch ${b.id} closed`);
          for (const t of b.record.tasks) {
            const wrote = (txn.success ?? []).filter((op) => op.type === 'put' && (op.key.startsWith(keys.attempt(t.id)) || op.key === keys.result(t.id)));
            const unfinished = s.item(t.id)?.createRevision === t.created && !s.resultOf(t.id) && !s.attemptsOf(t.id).some((a) => a.record.token > b.kv.createRevision);
            assert.equal(wrote.length, unfinished ? 1 : 0, `${t.id} in lost ${b.id}: ${wrote.length} writes`);
            if (unfinished && s.attemptsOf(t.id).length + 1 >= 3) assert.equal(wrote[0].key, keys.result(t.id), 'the last attempt is the result');
          }
        }
        for (const g of out.guarded) {
          const put = (g.success ?? []).find((op) => op.type === 'put' && keys.assignmentOf(op.key));
          if (!put) continue;
          const b = s.batches.find((x) => x.kv.key === put.key)!;
          assert.ok(claims.has(b.id), 'stop lists only for claimed batches');
          for (const id of batchOf(kv(put.key, (put as { value: string }).value, 1))!.stop ?? []) {
            const gone = s.item(id)?.createRevision !== b.record.tasks.find((t) => t.id === id)!.created;
            assert.ok(gone || s.resultOf(id)?.status === 'cancelled', `${id} stopped without cause`);
          }
        }
      }),
      { numRuns: 300 },
    );
  });
});
