// A worker that stops for a restart (an upgrade) and will be back within a window: it says so in
// returning/<id>, on a lease of that window, before it revokes its own. While that key lives the
// leader plans with the worker as if present (its services keep their assignments, and run again
// when it is back under the same id); tasks are never given to it. If it does not come back, the
// lease ends the key and the leader moves its items then: failover waits at most the window.
import type { KeyValue, Store } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { decodeWorker, type WorkerRecord } from '../model.js';

/** Announces that worker `id`, whose record was `record`, returns within `withinMs`. */
export async function announceReturn(store: Store, keys: Keys, id: string, record: WorkerRecord, withinMs: number): Promise<void> {
  const lease = await store.grantLease(Math.max(1, Math.ceil(withinMs / 1000)));
  await store.put(keys.returnOf(id), JSON.stringify(record), { lease: lease.id });
}

/** Worker `id` is back: its announcement is done with (its lease would end it anyway). */
export async function returned(store: Store, keys: Keys, id: string): Promise<void> {
  await store.delete(keys.returnOf(id));
}

/** The workers announced as returning, by id, from the returning/ key-values (damaged ones left out). */
export function returningWorkers(keys: Keys, kvs: ReadonlyMap<string, KeyValue>): Map<string, WorkerRecord> {
  const out = new Map<string, WorkerRecord>();
  for (const kv of kvs.values()) {
    const record = decodeWorker(kv.value);
    if (record) out.set(kv.key.slice(keys.returning.length), record);
  }
  return out;
}
