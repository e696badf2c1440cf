// A worker's live configuration: patches validated field by field, applied key by key, and the
// settings in force are the start-up flags with the store over them.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { applyPatch, decodeConfig, inForce, parseConfigPatch, parseSize } from '../../src/engine/fleet/worker-config.js';
import { ValidationError } from '../../src/engine/model.js';

describe('worker configuration', () => {
  it('property: any JSON is either a valid patch or a ValidationError naming what is wrong, never another error', () => {
    fc.assert(
      fc.property(fc.jsonValue(), fc.record({ capacity: fc.jsonValue(), labels: fc.jsonValue(), maxMemory: fc.jsonValue(), priority: fc.jsonValue(), draining: fc.jsonValue() }, { requiredKeys: [] }), (any, shaped) => {
        for (const body of [any, shaped]) {
          try {
            const patch = parseConfigPatch(body);
            // What passes is stored and read back the same.
            assert.deepEqual(decodeConfig(JSON.stringify(applyPatch({}, patch))), applyPatch({}, patch));
          } catch (err) {
            assert.ok(err instanceof ValidationError, `${(err as Error).name}: ${(err as Error).message}`);
          }
        }
      }),
    );
  });

  it('names the field a bad value is in', () => {
    assert.throws(() => parseConfigPatch({ capacity: 0 }), /capacity/);
    assert.throws(() => parseConfigPatch({ maxMemory: '2 lots' }), /maxMemory/);
    assert.throws(() => parseConfigPatch({ labels: { 'bad key!': 'x' } }), /labels/);
    assert.throws(() => parseConfigPatch({ colour: 'red' }), /colour/);
    assert.throws(() => parseConfigPatch([1]), ValidationError);
  });

  it('sizes: units in powers of 1,000 and 1,024', () => {
    assert.equal(parseSize('2GiB'), 2 * 2 ** 30);
    assert.equal(parseSize('512MB'), 512e6);
    assert.equal(parseSize('1.5 kib'), 1536);
    assert.equal(parseSize(4096), 4096);
    assert.throws(() => parseSize('0'), ValidationError);
    assert.throws(() => parseSize('-1GiB'), ValidationError);
  });

  it('labels are set and removed key by key over the start-up labels; null fields go back to the flags', () => {
    const defaults = { capacity: 2, labels: { zone: 'a', disk: 'ssd' }, priority: 1 };
    let config = applyPatch({}, parseConfigPatch({ capacity: 4, labels: { zone: 'b', gpu: 'yes' }, maxMemory: '1GiB', draining: true }));
    config = applyPatch(config, parseConfigPatch({ labels: { disk: null } }));
    assert.deepEqual(inForce(defaults, config), { capacity: 4, labels: { zone: 'b', gpu: 'yes' }, draining: true, maxMemory: 2 ** 30, priority: 1 });
    config = applyPatch(config, parseConfigPatch({ capacity: null, draining: null, maxMemory: null, labels: null, priority: 7 }));
    assert.deepEqual(inForce(defaults, config), { capacity: 2, labels: { zone: 'a', disk: 'ssd' }, draining: false, maxMemory: undefined, priority: 7 });
  });

  it('a damaged stored configuration reads as none, not as a crash', () => {
    assert.deepEqual(decodeConfig('{not json'), {});
    assert.deepEqual(decodeConfig('{"capacity": "many"}'), {});
    assert.deepEqual(decodeConfig(undefined), {});
  });
});
