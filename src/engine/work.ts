// Items as users change them. Adding is create-if-absent; an update is compare-and-swap on the item;
// deleting takes the item and everything it left behind (spec, result, attempts, status) in one
// transaction, so the same id added again starts from nothing and runs. Assignments are the leader's:
// filed by worker, they are removed by the leader's next round (the owner stops when it does). Every write goes
// through WriteOnce: a retry of a write that committed is its success, not a conflict.
import type { KeyValue, Store, TxnOp } from '../store/index.js';
import type { Keys } from './keys.js';
import { decodeSpec, encodeSpec, specOf, type WorkSpec } from './model.js';
import type { WriteOnce } from './write-once.js';

/** Deletes of what a task or item leaves besides its registry key and spec: result, attempts. */
export function leftoverDeletes(keys: Keys, id: string): TxnOp[] {
  return [
    { type: 'delete', key: keys.result(id) },
    { type: 'delete', key: keys.attempt(id), prefix: true },
  ];
}

/** Deletes of every key of an item but its claim (which belongs to the worker running it). */
export function itemDeletes(keys: Keys, id: string): TxnOp[] {
  return [{ type: 'delete', key: keys.item(id) }, { type: 'delete', key: keys.spec(id) }, ...leftoverDeletes(keys, id)];
}

/**
 * The writes that create item `id` (once the compare that it does not exist holds). `leftovers`:
 * also delete a spec, result or attempts an earlier item of this id left behind (an older rota did):
 * they would stop it running. A caller that knows there are none spares the deletes.
 */
export function createOps(keys: Keys, id: string, content: string, spec: WorkSpec, leftovers = true): TxnOp[] {
  const encoded = encodeSpec(spec);
  const ops: TxnOp[] = [{ type: 'put', key: keys.item(id), value: content }];
  if (encoded) ops.push({ type: 'put', key: keys.spec(id), value: encoded });
  else if (leftovers) ops.push({ type: 'delete', key: keys.spec(id) });
  if (leftovers) ops.push(...leftoverDeletes(keys, id));
  return ops;
}

/** Creates item `id` unless it exists; false if it does (and is not this request's own). */
export async function createItem(w: WriteOnce, keys: Keys, id: string, content: string, spec: WorkSpec): Promise<boolean> {
  const r = await w.txn({ compare: [{ key: keys.item(id), target: 'create', op: '==', value: 0 }], success: createOps(keys, id, content, spec) });
  return r.succeeded;
}

/** A change of an item: new content and/or placement settings. */
export interface ItemChange {
  content?: string;
  weight?: number;
  selector?: Record<string, string>;
}

/** Applies `change` to item `id`; false if it does not exist. */
export async function updateItem(store: Store, w: WriteOnce, keys: Keys, id: string, change: ItemChange): Promise<boolean> {
  for (;;) {
    const [item, specKv] = await Promise.all([store.get(keys.item(id)), store.get(keys.spec(id))]);
    if (!item) return false;
    const ops = changeOps(keys, id, change, specKv);
    if (ops.length === 0) return true;
    const r = await w.txn({ compare: [{ key: keys.item(id), target: 'mod', op: '==', value: item.modRevision }], success: ops });
    if (r.succeeded) return true;
    // Changed by someone else meanwhile: apply ours on top of theirs.
  }
}

function changeOps(keys: Keys, id: string, change: ItemChange, specKv: KeyValue | null): TxnOp[] {
  const ops: TxnOp[] = [];
  if (change.content !== undefined) ops.push({ type: 'put', key: keys.item(id), value: change.content });
  const encoded = encodeSpec(specOf(change, decodeSpec(specKv?.value)));
  if (encoded !== specKv?.value) ops.push(encoded ? { type: 'put', key: keys.spec(id), value: encoded } : { type: 'delete', key: keys.spec(id) });
  return ops;
}

/** Deletes item `id` with its spec, result, attempts, assignment and status; false if it does not exist. */
export async function deleteItem(w: WriteOnce, keys: Keys, id: string): Promise<boolean> {
  const r = await w.txn({
    compare: [{ key: keys.item(id), target: 'create', op: '>', value: 0 }],
    success: [...itemDeletes(keys, id), { type: 'delete', key: keys.itemStatus(id) }],
  });
  return r.succeeded;
}
