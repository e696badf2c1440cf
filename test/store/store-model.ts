// Model-based property test of the store: random write sequences against a plain Map model.
import assert from 'node:assert/strict';
import fc from 'fast-check';
import type { Store, TxnOp, WatchBatch } from '../../src/store/index.js';
import { waitFor } from '../helpers/processes.js';

type Cmd =
  | { kind: 'put'; key: string; value: string }
  | { kind: 'delete'; key: string }
  | { kind: 'deletePrefix'; key: string }
  | { kind: 'cas'; key: string; version: number; value: string; other: string };

interface ModelKv {
  value: string;
  create: number;
  mod: number;
  version: number;
}

const keys = ['a', 'b', 'c', 'd/e', 'd/f'];
const keyArb = fc.constantFrom(...keys);
const valueArb = fc.string({ maxLength: 8 });
const cmdArb: fc.Arbitrary<Cmd> = fc.oneof(
  fc.record({ kind: fc.constant('put' as const), key: keyArb, value: valueArb }),
  fc.record({ kind: fc.constant('delete' as const), key: keyArb }),
  fc.record({ kind: fc.constant('deletePrefix' as const), key: fc.constantFrom('d/', 'x') }),
  fc.record({ kind: fc.constant('cas' as const), key: keyArb, version: fc.integer({ min: 0, max: 3 }), value: valueArb, other: keyArb }),
);

/** Runs the property `runs` times, each on keys under a fresh prefix. */
export async function storeModelProperty(store: Store, fresh: () => string, runs: number): Promise<void> {
  await fc.assert(
    fc.asyncProperty(fc.array(cmdArb, { minLength: 1, maxLength: 25 }), async (cmds) => {
      const p = fresh();
      const model = new Map<string, ModelKv>();
      const log: Array<{ revision: number; events: string[] }> = [];
      const start = (await store.range(p, { prefix: true })).revision;
      let last = start;
      for (const cmd of cmds) {
        const { ops, compare } = toRequest(cmd, p);
        const r = await store.txn({ compare, success: ops.success, failure: ops.failure });
        if (cmd.kind === 'cas') assert.equal(r.succeeded, (model.get(p + cmd.key)?.version ?? 0) === cmd.version);
        else assert.equal(r.succeeded, true);
        const events = applyToModel(model, r.succeeded ? ops.success : ops.failure, r.revision);
        if (events.length > 0) {
          assert.ok(r.revision > last, `a change gets a new revision (${r.revision} after ${last})`);
          log.push({ revision: r.revision, events });
          last = r.revision;
        }
      }
      const got = await store.range(p, { prefix: true });
      const want = [...model.entries()].sort(([a], [b]) => (a < b ? -1 : 1));
      assert.deepEqual(
        got.kvs.map((kv) => [kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version]),
        want.map(([k, m]) => [k, m.value, m.create, m.mod, m.version]),
      );
      if (log.length === 0) return;
      const watch = store.watch(p, { prefix: true, fromRevision: start + 1 });
      const batches: WatchBatch[] = [];
      watch.on('events', (b) => batches.push(b));
      try {
        await waitFor(() => batches.length >= log.length, 5000, 'the watch to replay the log');
        await new Promise((r) => setTimeout(r, 5));
        assert.deepEqual(
          batches.map((b) => ({ revision: b.revision, events: b.events.map((e) => `${e.type} ${e.kv.key} ${e.kv.value}`) })),
          log,
        );
      } finally {
        await watch.close();
      }
    }),
    { numRuns: runs },
  );
}

function toRequest(cmd: Cmd, p: string) {
  const k = p + cmd.key;
  switch (cmd.kind) {
    case 'put':
      return { compare: [], ops: { success: [{ type: 'put', key: k, value: cmd.value }] as TxnOp[], failure: [] as TxnOp[] } };
    case 'delete':
      return { compare: [], ops: { success: [{ type: 'delete', key: k }] as TxnOp[], failure: [] as TxnOp[] } };
    case 'deletePrefix':
      return { compare: [], ops: { success: [{ type: 'delete', key: k, prefix: true }] as TxnOp[], failure: [] as TxnOp[] } };
    case 'cas':
      return {
        compare: [{ key: k, target: 'version' as const, op: '==' as const, value: cmd.version }],
        ops: {
          success: [{ type: 'put', key: k, value: cmd.value }] as TxnOp[],
          failure: [{ type: 'delete', key: p + cmd.other }] as TxnOp[],
        },
      };
  }
}

/** Applies a branch to the model; returns the events it should produce. */
function applyToModel(model: Map<string, ModelKv>, ops: TxnOp[], revision: number): string[] {
  const events: string[] = [];
  for (const op of ops) {
    if (op.type === 'put') {
      const prev = model.get(op.key);
      model.set(op.key, { value: op.value, create: prev?.create ?? revision, mod: revision, version: (prev?.version ?? 0) + 1 });
      events.push(`put ${op.key} ${op.value}`);
    } else if (op.type === 'delete') {
      const gone = [...model.keys()].filter((k) => (op.prefix ? k.startsWith(op.key) : k === op.key)).sort();
      for (const k of gone) {
        model.delete(k);
        events.push(`delete ${k} `);
      }
    }
  }
  return events;
}
