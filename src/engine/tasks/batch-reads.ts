// Where tasks are now, for the views of the API: the batches in the live workers' inboxes (one
// range per worker over its batch ids, which sort after every item id) and the claims of batches.
// O(workers + batches), never a read of every assignment of the fleet.
import { listPrefix, scanPrefix, type Store } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { BATCH_MARK, batchOf } from './batch.js';

/** Where one task is batched. */
export interface TaskPlacement {
  worker: string;
  batch: string;
  /** The claim's fencing token, once the batch is claimed. */
  token?: number;
}

/** Reads per transaction (etcd allows 128 operations). */
const PER_TXN = 100;

/** Task id → the batch that holds it (claimed ones first), for the tasks in some worker's inbox. */
export async function taskPlacements(store: Store, keys: Keys): Promise<Map<string, TaskPlacement>> {
  const workers: string[] = [];
  for await (const page of scanPrefix(store, keys.workers, { keysOnly: true, pageSize: 5000 })) {
    for (const kv of page.kvs) workers.push(kv.key.slice(keys.workers.length));
  }
  const claims = new Map((await listPrefix(store, keys.active + BATCH_MARK)).kvs.map((kv) => [kv.key.slice(keys.active.length), kv.createRevision]));
  const out = new Map<string, TaskPlacement>();
  for (let i = 0; i < workers.length; i += PER_TXN) {
    const group = workers.slice(i, i + PER_TXN);
    // Batch ids start with '~', after every item id: the range from '~' to the inbox's end.
    const r = await store.txn({ success: group.map((w) => ({ type: 'range' as const, key: keys.inbox(w) + BATCH_MARK, end: keys.inbox(w) + '\x7f' })) });
    group.forEach((worker, j) => {
      const read = r.results[j];
      if (read?.type !== 'range') return;
      for (const kv of read.kvs) {
        const batch = kv.key.slice(keys.inbox(worker).length);
        const record = batchOf(kv);
        if (!record) continue;
        const token = claims.get(batch);
        const stopped = new Set(record.stop ?? []);
        for (const t of record.tasks) {
          if (stopped.has(t.id) || (out.get(t.id)?.token ?? 0) > (token ?? 0)) continue;
          out.set(t.id, { worker, batch, token });
        }
      }
    });
  }
  return out;
}
