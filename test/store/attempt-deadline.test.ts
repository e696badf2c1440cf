// The deadline of an etcd attempt: learnt from answers, never below the floor nor above the ceiling.
import assert from 'node:assert/strict';
import { test } from 'node:test';
import fc from 'fast-check';
import { AttemptDeadline } from '../../src/store/etcd/attempt-deadline.js';

test('an attempt deadline stays within its floor and ceiling, whatever the answers took', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 60_000 }), { maxLength: 50 }), fc.integer({ min: 0, max: 10 }), (samples, timedOut) => {
      const d = new AttemptDeadline(1500, 10_000);
      for (const ms of samples) d.answered(ms);
      const ms = d.forAttempt(timedOut);
      assert.ok(ms >= 1500 && ms <= 10_000, `${ms}`);
    }),
  );
});

test('answers that take longer than the floor lengthen the deadline, so a slow etcd is waited for, not flooded with retries', () => {
  const d = new AttemptDeadline(1500, 10_000);
  assert.equal(d.forAttempt(0), 1500);
  for (let i = 0; i < 20; i++) d.answered(2000);
  assert.ok(d.forAttempt(0) >= 2000, `${d.forAttempt(0)}`);
  // Fast answers again bring it back to the floor.
  for (let i = 0; i < 100; i++) d.answered(5);
  assert.equal(d.forAttempt(0), 1500);
});

test('each attempt of a call that ran out of time gets twice the deadline of the one before', () => {
  fc.assert(
    fc.property(fc.array(fc.integer({ min: 0, max: 3000 }), { maxLength: 20 }), (samples) => {
      const d = new AttemptDeadline(100, 1_000_000);
      for (const ms of samples) d.answered(ms);
      assert.equal(d.forAttempt(1), 2 * d.forAttempt(0));
      assert.equal(d.forAttempt(3), 8 * d.forAttempt(0));
    }),
  );
});
