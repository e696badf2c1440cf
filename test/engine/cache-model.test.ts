// POST /caches bodies: a valid one passes whole, anything else is a ValidationError naming what is wrong.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { decodePlacement, parseCacheCreate } from '../../src/engine/caches/cache-model.js';
import { LimitError, ValidationError } from '../../src/engine/model.js';

describe('cache model', () => {
  it('property: any JSON is a valid cache request or a ValidationError, never another error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.jsonValue(), fc.record({ name: fc.oneof(fc.constantFrom('c1', '', 'bad name', 'x'.repeat(200)), fc.jsonValue()), ids: fc.oneof(fc.array(fc.constantFrom('a', 'b', 'a', '', '../x')), fc.jsonValue()), replicas: fc.jsonValue(), strategy: fc.jsonValue() }, { requiredKeys: [] })), (body) => {
        try {
          const c = parseCacheCreate(body);
          assert.equal(new Set(c.ids).size, c.ids.length);
        } catch (err) {
          assert.ok(err instanceof ValidationError, `${(err as Error).name}: ${(err as Error).message}`);
        }
      }),
    );
  });

  it('names the bad field or id', () => {
    assert.throws(() => parseCacheCreate({ name: 'c', ids: ['a', 'a'] }), /ids\[1\].*twice/);
    assert.throws(() => parseCacheCreate({ name: 'c', ids: ['ok', 'no/slash'] }), /ids\[1\]/);
    assert.throws(() => parseCacheCreate({ name: 'c', strategy: 'random' }), /strategy/);
    assert.throws(() => parseCacheCreate({ name: 'c', replicas: 0 }), /replicas/);
    assert.throws(() => parseCacheCreate({ name: 'c', ids: Array.from({ length: 1001 }, (_, i) => `i${i}`) }), LimitError);
    assert.deepEqual(parseCacheCreate({ name: 'c', ids: ['a'], strategy: 'nodes', replicas: 2 }), { name: 'c', ids: ['a'], strategy: 'nodes', replicas: 2 });
  });

  it('a damaged placement reads as none', () => {
    assert.equal(decodePlacement('{'), undefined);
    assert.equal(decodePlacement('{"holders": [1], "epoch": 1}'), undefined);
    assert.deepEqual(decodePlacement('{"holders": ["w1", "w2"], "epoch": 3}'), { holders: ['w1', 'w2'], epoch: 3 });
  });
});
