// The cache operations on the store that clients call (the placement is the leader's): create a
// cache or add ids to it, delete ids or a whole cache, and read where an id lives.
import type { Store, TxnOp } from '../../store/index.js';
import { ValidationError } from '../input-limits.js';
import type { Keys } from '../keys.js';
import { decodeWorker } from '../model.js';
import { decodeCacheSpec, decodePlacement, type CacheCreate, type CacheSpec, type PartitionPlacement } from './cache-model.js';

/** New partitions per transaction (create-if-absent: a compare and a put each). */
const PER_TXN = 60;

/** Raised when a cache or one of its ids does not exist. */
export class CacheNotFoundError extends Error {
  constructor(readonly what: string) {
    super(`${what} does not exist`);
    this.name = 'CacheNotFoundError';
  }
}

/** Creates cache `c.name` (replicas default 2, strategy `nodes`) or adds `c.ids` to it; returns its spec and how many ids are new. */
export async function createCache(store: Store, keys: Keys, c: CacheCreate, now: number): Promise<{ spec: CacheSpec; added: number }> {
  const key = keys.cache(c.name);
  const wanted: CacheSpec = { name: c.name, replicas: c.replicas ?? 2, strategy: c.strategy ?? 'nodes', createdAt: new Date(now).toISOString() };
  const r = await store.txn({ compare: [{ key, target: 'create', op: '==', value: 0 }], success: [{ type: 'put', key, value: JSON.stringify(wanted) }], failure: [{ type: 'range', key }] });
  const found = r.succeeded ? undefined : r.results[0];
  const spec = found?.type === 'range' ? decodeCacheSpec(found.kvs[0]?.value) : wanted;
  if (!spec) throw new ValidationError(`cache ${c.name} has a damaged spec; delete it first`);
  // An existing cache is extended, never silently changed: a different replica count or strategy is refused.
  if ((c.replicas !== undefined && c.replicas !== spec.replicas) || (c.strategy !== undefined && c.strategy !== spec.strategy)) {
    throw new ValidationError(`cache ${c.name} exists with replicas ${spec.replicas} and strategy ${spec.strategy}; leave them out (or equal) to add ids`);
  }
  let added = 0;
  const empty = JSON.stringify({ holders: [], epoch: 0 } satisfies PartitionPlacement);
  for (let i = 0; i < c.ids.length; i += PER_TXN) {
    const part = c.ids.slice(i, i + PER_TXN);
    // Each id on its own: one that exists already is left as it is.
    const reads = await store.txn({ success: part.map((id) => ({ type: 'range' as const, key: keys.partition(c.name, id), countOnly: true })) });
    const fresh = part.filter((_, j) => { const x = reads.results[j]; return x?.type === 'range' && x.count === 0; });
    if (!fresh.length) continue;
    const w = await store.txn({
      compare: [{ key, target: 'create', op: '>', value: 0 }, ...fresh.map((id) => ({ key: keys.partition(c.name, id), target: 'create' as const, op: '==' as const, value: 0 }))],
      success: fresh.map((id): TxnOp => ({ type: 'put', key: keys.partition(c.name, id), value: empty })),
    });
    if (!w.succeeded) throw new ValidationError(`cache ${c.name} changed while ids were added (deleted, or the same ids added at once); send the request again`);
    added += fresh.length;
  }
  return { spec, added };
}

/** Deletes one id of a cache; false if it did not exist. */
export async function deletePartition(store: Store, keys: Keys, cache: string, id: string): Promise<boolean> {
  return (await store.delete(keys.partition(cache, id))).deleted > 0;
}

/** Deletes a cache, spec and every id; false if it did not exist. */
export async function deleteCache(store: Store, keys: Keys, cache: string): Promise<boolean> {
  const r = await store.txn({ success: [{ type: 'delete', key: keys.cache(cache) }, { type: 'delete', key: `${keys.cache(cache)}/`, prefix: true }] });
  const spec = r.results[0];
  return spec?.type === 'delete' && spec.deleted > 0;
}

/** A holder of a partition, as a client routes to it. */
export interface PartitionHolder {
  worker: string;
  role: 'owner' | 'replica';
  api?: string;
  host?: string;
  /** Its `zone` label, if any (for scores). */
  zone?: string;
}

/** Where id `id` of `cache` lives: owner first, then replicas (empty while it waits for a placement). */
export async function partitionHolders(store: Store, keys: Keys, cache: string, id: string): Promise<{ epoch: number; holders: PartitionHolder[] }> {
  const kv = await store.get(keys.partition(cache, id));
  const placement = kv && decodePlacement(kv.value);
  if (!placement) throw new CacheNotFoundError(`id ${id} of cache ${cache}`);
  const records = await Promise.all(placement.holders.map((w) => store.get(keys.worker(w))));
  return {
    epoch: placement.epoch,
    holders: placement.holders.map((worker, i) => {
      const r = records[i] ? decodeWorker(records[i]!.value) : null;
      return { worker, role: i === 0 ? 'owner' : 'replica', api: r?.api, host: r?.host, zone: r?.labels.zone };
    }),
  };
}

/**
 * How far worker `node` is from the data of an id (shoveling's _node_cache_score): 0 its owner,
 * 1 a replica, 2 on the same host as a holder, 3 with the same `zone` label as one, 4 elsewhere.
 */
export function scoreOf(node: { id: string; host?: string; zone?: string }, holders: Array<{ worker: string; host?: string; zone?: string }>): number {
  const i = holders.findIndex((h) => h.worker === node.id);
  if (i === 0) return 0;
  if (i > 0) return 1;
  if (node.host && holders.some((h) => h.host === node.host)) return 2;
  if (node.zone && holders.some((h) => h.zone === node.zone)) return 3;
  return 4;
}
