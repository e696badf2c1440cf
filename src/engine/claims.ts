// The claim protocol (DESIGN "Handover"): a worker claims an item with create-if-absent on its
// lease, only while the leader's assignment is still in its inbox; it releases only the claim it holds.
import type { KeyValue, Store } from '../store/index.js';
import type { Keys } from './keys.js';
import type { BatchedRequest, BatchedResult } from './txn-batcher.js';

export type ClaimOutcome =
  | { claimed: true; token: number; content: string; spec?: string }
  | { claimed: false; holder?: KeyValue; revision: number };

/** Runs one conditional write: a TxnBatcher, or the store directly. */
export interface TxnRunner {
  run(request: BatchedRequest): Promise<BatchedResult>;
}

/** A TxnRunner that sends every request on its own. */
export const direct = (store: Store): TxnRunner => ({ run: (r) => store.txn(r) });

/** The claim of `id` for `workerId` on `lease`, reading the item's content and spec at the same revision. */
function claimRequest(keys: Keys, id: string, workerId: string, lease: string): BatchedRequest {
  return {
    compare: [
      { key: keys.claim(id), target: 'create', op: '==', value: 0 },
      { key: keys.assignment(workerId, id), target: 'create', op: '>', value: 0 },
      { key: keys.item(id), target: 'create', op: '>', value: 0 },
      { key: keys.result(id), target: 'create', op: '==', value: 0 },
    ],
    success: [
      { type: 'put', key: keys.claim(id), value: workerId, lease },
      { type: 'range', key: keys.item(id) },
      { type: 'range', key: keys.spec(id) },
    ],
  };
}

/** Claims `id`. */
export async function claimItem(store: Store, keys: Keys, id: string, workerId: string, lease: string, runner: TxnRunner = direct(store)): Promise<ClaimOutcome> {
  const r = await runner.run(claimRequest(keys, id, workerId, lease));
  if (r.succeeded) {
    const [, item, spec] = r.results;
    return {
      claimed: true,
      token: r.revision,
      content: item.type === 'range' ? (item.kvs[0]?.value ?? '') : '',
      spec: spec.type === 'range' ? spec.kvs[0]?.value : undefined,
    };
  }
  const read = await store.range(keys.claim(id));
  const holder = read.kvs[0];
  // A retried request may have claimed it already: a claim on our own lease is ours.
  if (holder && holder.lease === lease && holder.value === workerId) {
    const [item, spec] = await Promise.all([store.get(keys.item(id)), store.get(keys.spec(id))]);
    if (item) return { claimed: true, token: holder.createRevision, content: item.value, spec: spec?.value };
  }
  return { claimed: false, holder, revision: read.revision };
}

/** Deletes the claim on `id` if it is still the one created at `token`; false if it was not. */
export async function releaseItem(store: Store, keys: Keys, id: string, token: number, runner: TxnRunner = direct(store)): Promise<boolean> {
  const r = await runner.run({
    compare: [{ key: keys.claim(id), target: 'create', op: '==', value: token }],
    success: [{ type: 'delete', key: keys.claim(id) }],
  });
  return r.succeeded;
}

/** Of `runs`, the ids whose claim is gone or is no longer the one created at their token (read in a few transactions). */
export async function lostClaims(store: Store, keys: Keys, runs: Array<{ id: string; token: number }>): Promise<string[]> {
  const lost: string[] = [];
  for (let i = 0; i < runs.length; i += 100) {
    const group = runs.slice(i, i + 100);
    const r = await store.txn({ success: group.map((run) => ({ type: 'range' as const, key: keys.claim(run.id), keysOnly: true })) });
    group.forEach((run, j) => {
      const read = r.results[j];
      const claim = read?.type === 'range' ? read.kvs[0] : undefined;
      if (!claim || claim.createRevision !== run.token) lost.push(run.id);
    });
  }
  return lost;
}
