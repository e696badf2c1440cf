// A worker that stops for a restart (an upgrade) and will be back within a window: it says so in
// returning/<id>, on a lease of that window, before it revokes its own. While that key lives the
// leader plans with the worker as if present (its services keep their assignments, and run again
// when it is back under the same id); tasks are never given to it. If it does not come back, the
// lease ends the key and the leader moves its items then: failover waits at most the window.
import { setTimeout as delay } from 'node:timers/promises';
import type { Store } from '../../store/index.js';
import type { Logger } from '../log.js';
import type { Keys } from '../keys.js';
import { decodeWorker, type WorkerRecord } from '../model.js';
import { patchWorkerConfig } from './worker-config.js';

/** Announces that worker `id`, whose record was `record`, returns within `withinMs`; if it cannot, its items move now (said in the log). */
export async function announceReturn(store: Store, keys: Keys, record: WorkerRecord, w: { id: string; withinMs: number; log: Logger }): Promise<void> {
  try {
    const lease = await store.grantLease(Math.max(1, Math.ceil(w.withinMs / 1000)));
    await store.put(keys.returnOf(w.id), JSON.stringify(record), { lease: lease.id });
    w.log.info(`Returning within ${Math.round(w.withinMs / 1000)} s: the items of worker=${w.id} wait for it`);
  } catch (err) {
    w.log.warn('could not announce the return: the items move now', { error: (err as Error).message });
  }
}

/** Worker `id` is back: its announcement goes, tried again a few times (left, it would hold the items of a later crash for the window) until `stopped()`. */
export async function returned(store: Store, keys: Keys, id: string, stopped: () => boolean): Promise<void> {
  for (let tries = 0; tries < 6 && !stopped(); tries++) {
    try {
      await store.delete(keys.returnOf(id));
      return;
    } catch {
      await delay(250 * 2 ** tries);
    }
  }
}

/**
 * Drains worker `id` while it is away: it will come back drained, and its announcement goes, so the
 * leader moves its items now instead of waiting for it. Returns its record as it left, or undefined
 * if it is not away.
 */
export async function drainAway(store: Store, keys: Keys, id: string): Promise<WorkerRecord | undefined> {
  const away = await store.get(keys.returnOf(id));
  const record = away ? decodeWorker(away.value) : null;
  if (!record) return undefined;
  await patchWorkerConfig(store, keys, id, { draining: true });
  await store.delete(keys.returnOf(id));
  return { ...record, draining: true };
}

/** The workers away now, with the seconds each has left to come back. */
export async function awayWorkers(store: Store, keys: Keys): Promise<Array<{ id: string; remaining: number }>> {
  const { kvs } = await store.range(keys.returning, { prefix: true });
  const out = await Promise.all(kvs.map(async (kv) => ({ id: kv.key.slice(keys.returning.length), remaining: kv.lease ? Math.max(0, (await store.leaseTimeToLive(kv.lease).catch(() => null))?.ttl ?? 0) : 0 })));
  return out.sort((a, b) => (a.id < b.id ? -1 : 1));
}
