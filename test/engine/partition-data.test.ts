// A worker's cache data: any sequence of sets, appends and deletes reads back as a plain map of
// byte strings would; the bytes counted are the bytes held; a write over the max memory is refused
// with the numbers and changes nothing.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { OverBudgetError, PartitionData } from '../../src/engine/caches/partition-data.js';

const op = fc.oneof(
  fc.record({ kind: fc.constant('set' as const), id: fc.constantFrom('a', 'b', 'c'), data: fc.uint8Array({ maxLength: 300 }) }),
  fc.record({ kind: fc.constant('append' as const), id: fc.constantFrom('a', 'b', 'c'), data: fc.uint8Array({ maxLength: 50 }) }),
  fc.record({ kind: fc.constant('delete' as const), id: fc.constantFrom('a', 'b', 'c') }),
);

describe('cache partition data', () => {
  it('property: reads back as a plain map would, through any sets, appends (past re-compaction) and deletes', () => {
    fc.assert(
      fc.property(fc.array(op, { maxLength: 200 }), (ops) => {
        // A small tail limit: the tail is compressed into chunks, and chunks compacted, many times over.
        const data = new PartitionData(undefined, undefined, 40);
        const model = new Map<string, Buffer>();
        for (const o of ops) {
          if (o.kind === 'set') (data.set('c1', o.id, Buffer.from(o.data)), model.set(o.id, Buffer.from(o.data)));
          else if (o.kind === 'append') {
            const next = Buffer.concat([model.get(o.id) ?? Buffer.alloc(0), Buffer.from(o.data)]);
            assert.equal(data.append('c1', o.id, Buffer.from(o.data)), next.length);
            model.set(o.id, next);
          } else assert.equal(data.delete('c1', o.id), model.delete(o.id));
        }
        for (const id of ['a', 'b', 'c']) assert.deepEqual(data.get('c1', id), model.get(id));
        // A copy taken with raw() and loaded elsewhere reads the same; the bytes counted are the bytes held.
        const copy = new PartitionData();
        for (const id of data.ids('c1')) {
          const raw = data.raw('c1', id)!;
          copy.load('c1', id, raw.chunks, raw.length);
          assert.deepEqual(copy.get('c1', id), model.get(id));
          assert.deepEqual(data.get('c1', id), model.get(id));
        }
        assert.equal(data.usedBytes, Object.values(data.bytesByCache()).reduce((a, b) => a + b, 0));
        assert.deepEqual(data.ids('c1').sort(), [...model.keys()].sort());
        if (model.size === 0) assert.equal(data.usedBytes, 0);
      }),
    );
  });

  it('refuses a write past the max memory with the numbers, and keeps what it held', () => {
    const data = new PartitionData(undefined, () => 200);
    data.set('c', 'x', Buffer.from('small'));
    const random = Buffer.from(Array.from({ length: 1000 }, (_, i) => (i * 7919) % 251));
    assert.throws(() => data.set('c', 'y', random), (err: unknown) => err instanceof OverBudgetError && err.maxBytes === 200 && /max memory of 200/.test(err.message));
    assert.throws(() => data.append('c', 'x', random), OverBudgetError);
    assert.equal(data.get('c', 'x')!.toString(), 'small');
    assert.equal(data.has('c', 'y'), false);
  });

  it('a cache deleted whole leaves the others', () => {
    const data = new PartitionData();
    data.append('one', 'a', Buffer.from('1'));
    data.append('two', 'a', Buffer.from('2'));
    assert.equal(data.deleteCache('one'), 1);
    assert.equal(data.get('two', 'a')!.toString(), '2');
    assert.equal(data.get('one', 'a'), undefined);
  });
});
