// A handover's usual race: the new owner's claim is refused because the old owner still holds it,
// and the old owner lets go before the new owner reads who holds it. The new owner then finds no
// holder to wait on; it must try again at once rather than at the next periodic reconcile (in a
// handover of 909 items, 124 waited 3.8 s for it).
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Agent } from '../../src/engine/agent.js';
import { Keys } from '../../src/engine/keys.js';
import { silentLogger } from '../../src/engine/log.js';
import type { Processor } from '../../src/engine/processors/types.js';
import type { Store, TxnRequest } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/processes.js';
import { fresh } from '../store/conformance.js';

/** `inner`, except that the first claim of `id` finds it held by another lease, released right after the refusal. */
function racingStore(inner: Store, keys: Keys, id: string, otherLease: string): { store: Store; raced: () => boolean } {
  let raced = false;
  const isClaim = (r: TxnRequest) => (r.compare ?? []).some((c) => c.key === keys.claim(id) && c.target === 'create' && c.value === 0);
  const txn = async (r: TxnRequest) => {
    if (raced || !isClaim(r)) return inner.txn(r);
    raced = true;
    await inner.put(keys.claim(id), 'old-owner', { lease: otherLease });
    const result = await inner.txn(r);
    await inner.delete(keys.claim(id));
    return result;
  };
  const store = new Proxy(inner, {
    get: (target, p) => (p === 'txn' ? txn : typeof Reflect.get(target, p) === 'function' ? Reflect.get(target, p).bind(target) : Reflect.get(target, p)),
  });
  return { store, raced: () => raced };
}

forEachBackend('a claim refused while its holder lets go', (backend) => {
  it('is tried again at once, not at the next periodic reconcile', async () => {
    const inner = await backend.open();
    const keys = new Keys(fresh());
    const other = await inner.grantLease(30);
    const { store, raced } = racingStore(inner, keys, 'item-1', other.id);
    const started: string[] = [];
    const processor: Processor = { start: async (item) => void started.push(item.id), update: async () => undefined, stop: async () => undefined };
    // Periodic reconciles and relists far away: only the retry can claim it within the test.
    const agent = new Agent({ store, keys, workerId: 'w1', processor, log: silentLogger, ttl: 5, reconcileMs: 60_000, relistMs: 60_000 });
    try {
      await agent.start();
      await inner.put(keys.item('item-1'), 'content');
      await inner.put(keys.assignment('w1', 'item-1'), '');
      await waitFor(() => started.includes('item-1'), 3000, 'the item to be claimed again after the race');
      assert.ok(raced(), 'the race was played');
      const claim = await inner.get(keys.claim('item-1'));
      assert.equal(claim?.value, 'w1');
    } finally {
      await agent.stop();
      await inner.revokeLease(other.id).catch(() => undefined);
    }
  });
});
