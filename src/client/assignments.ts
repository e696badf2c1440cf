// Which worker items are assigned to, for the views of the API. Assignments are filed by worker
// (assign/<worker>/<item>, each worker's inbox), so a page of items is looked up inbox by inbox:
// one keys-only read per live worker over the page's id interval, a hundred to a transaction —
// O(workers + page), never a read of every assignment of the fleet.
import { scanPrefix, type KeyValue, type Store } from '../store/index.js';
import type { Keys } from '../engine/keys.js';

/** Reads per transaction (etcd allows 128 operations). */
const PER_TXN = 100;

/** The assignment of each of `ids` (sorted) that has one, as a key-value whose value is the worker. */
export async function assignmentsOf(store: Store, keys: Keys, ids: string[]): Promise<Map<string, KeyValue>> {
  const out = new Map<string, KeyValue>();
  if (ids.length === 0) return out;
  const workers: string[] = [];
  for await (const page of scanPrefix(store, keys.workers, { keysOnly: true, pageSize: 5000 })) {
    for (const kv of page.kvs) workers.push(kv.key.slice(keys.workers.length));
  }
  const [first, last] = [ids[0], ids[ids.length - 1]];
  const wanted = new Set(ids);
  for (let i = 0; i < workers.length; i += PER_TXN) {
    const group = workers.slice(i, i + PER_TXN);
    const r = await store.txn({
      success: group.map((w) => ({ type: 'range' as const, key: keys.assignment(w, first), end: `${keys.assignment(w, last)}\0`, keysOnly: true })),
    });
    group.forEach((w, j) => {
      const read = r.results[j];
      if (read?.type !== 'range') return;
      for (const kv of read.kvs) {
        const id = kv.key.slice(keys.inbox(w).length);
        if (wanted.has(id) && !out.has(id)) out.set(id, { ...kv, value: w });
      }
    });
  }
  return out;
}
