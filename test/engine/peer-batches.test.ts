// The framing of batched peer calls: what is encoded decodes to the same entries, and bytes from the
// network that are not a batch are refused with an error, never read past their end.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { batchCalls, decodeFrames, encodeFrames } from '../../src/engine/caches/peer-batches.js';

const frame = fc.record({ head: fc.record({ op: fc.constantFrom('set', 'get', 'write', 'prepare'), cache: fc.string({ maxLength: 8 }), id: fc.string({ maxLength: 8 }), meta: fc.dictionary(fc.string({ maxLength: 5 }), fc.oneof(fc.integer(), fc.string({ maxLength: 5 }))) }), body: fc.uint8Array({ maxLength: 64 }).map((b) => Buffer.from(b)) });

describe('peer batches', () => {
  it('property: entries round-trip through the framing, bodies byte for byte', () => {
    fc.assert(
      fc.property(fc.array(frame, { maxLength: 20 }), (frames) => {
        const back = decodeFrames(encodeFrames(frames));
        assert.equal(back.length, frames.length);
        back.forEach((f, i) => {
          assert.deepEqual(f.body, frames[i].body);
          const { length, ...head } = f.head as { length: number };
          assert.equal(length, frames[i].body.length);
          assert.deepEqual(head, JSON.parse(JSON.stringify(frames[i].head)));
        });
        // Only the calls that may be batched pass; the others are named.
        const calls = batchCalls(back, ['set', 'get', 'write']);
        calls.forEach((c, i) => assert.equal(typeof c === 'string', frames[i].head.op === 'prepare'));
      }),
    );
  });

  it('property: any bytes either decode to entries within them or are refused with an Error', () => {
    fc.assert(
      fc.property(fc.oneof(fc.uint8Array({ maxLength: 80 }).map((b) => Buffer.from(b)), fc.array(frame, { maxLength: 4 }).chain((fs) => fc.nat({ max: 40 }).map((cut) => encodeFrames(fs).subarray(0, Math.max(0, encodeFrames(fs).length - cut))))), (buf) => {
        try {
          const frames = decodeFrames(buf);
          assert.ok(frames.reduce((n, f) => n + f.body.length, 0) <= buf.length);
        } catch (err) {
          assert.ok(err instanceof Error, `threw ${String(err)}`);
        }
      }),
    );
  });
});
