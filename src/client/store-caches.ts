// Cache operations on a store (the control plane: where ids live; the bytes are the workers'),
// with engine errors turned into the client's.
import { CacheNotFoundError, createCache, deleteCache, deletePartition, partitionHolders, scoreOf, type PartitionHolder } from '../engine/caches/cache-ops.js';
import { decodeCacheSpec, decodePlacement, parseCacheCreate, type CacheCreate, type CacheSpec } from '../engine/caches/cache-model.js';
import type { Keys } from '../engine/keys.js';
import { checkId, decodeWorker } from '../engine/model.js';
import { scanPrefix, type Store } from '../store/index.js';
import { NotFoundError } from './errors.js';

/** A cache as listed: its spec, how many ids, and per worker how many it holds and owns. */
export interface CacheView extends CacheSpec {
  ids: number;
  /** Ids not placed yet (no live worker, or the leader has not run). */
  unplaced: number;
  /** Ids moving: new holders copying them, or a new owner bringing the holders in line. */
  moving: number;
  /** Per worker: ids it owns, holds (owner or replica) and is copying in, and the compressed bytes of them it reported last. */
  workers: Record<string, { owns: number; holds: number; copying: number; bytes?: number }>;
}

/** The cache half of StoreClient. */
export class StoreCaches {
  constructor(
    private readonly store: Store,
    private readonly keys: Keys,
  ) {}

  /** Creates a cache or adds ids to it (POST /caches). */
  async createCache(input: CacheCreate): Promise<CacheView & { added: number }> {
    const c = parseCacheCreate(input);
    const { added } = await createCache(this.store, this.keys, c, Date.now());
    return { ...(await this.getCache(c.name)), added };
  }

  async listCaches(): Promise<CacheView[]> {
    const specs = (await this.store.range(this.keys.caches, { prefix: true, keysOnly: true })).kvs.map((kv) => kv.key.slice(this.keys.caches.length)).filter((k) => !k.includes('/'));
    return Promise.all(specs.map((name) => this.getCache(name)));
  }

  async getCache(name: string): Promise<CacheView> {
    checkId(name, 'cache name');
    const spec = decodeCacheSpec((await this.store.get(this.keys.cache(name)))?.value);
    if (!spec) throw new NotFoundError('cache', name);
    const view: CacheView = { ...spec, ids: 0, unplaced: 0, moving: 0, workers: {} };
    const entry = (w: string) => (view.workers[w] ??= { owns: 0, holds: 0, copying: 0 });
    for await (const page of scanPrefix(this.store, `${this.keys.cache(name)}/`)) {
      for (const kv of page.kvs) {
        const p = decodePlacement(kv.value);
        view.ids++;
        if (!p || p.holders.length === 0) {
          view.unplaced++;
          continue;
        }
        p.holders.forEach((w, i) => {
          entry(w).holds++;
          if (i === 0) entry(w).owns++;
        });
        if (p.next || p.prev) view.moving++;
        for (const w of p.next ?? []) if (!p.holders.includes(w)) entry(w).copying++;
      }
    }
    const records = await Promise.all(Object.keys(view.workers).map((w) => this.store.get(this.keys.worker(w))));
    Object.keys(view.workers).forEach((w, i) => {
      const bytes = records[i] && decodeWorker(records[i]!.value)?.cacheBytes?.[name];
      if (typeof bytes === 'number') view.workers[w].bytes = bytes;
    });
    return view;
  }

  /** Where id `id` lives (shoveling's node_ids): owner first, then replicas. */
  async cacheNodes(name: string, id: string): Promise<{ epoch: number; holders: PartitionHolder[] }> {
    checkId(name, 'cache name');
    checkId(id, 'cache id');
    try {
      return await partitionHolders(this.store, this.keys, name, id);
    } catch (err) {
      if (err instanceof CacheNotFoundError) throw new NotFoundError('cache id', `${name}/${id}`);
      throw err;
    }
  }

  /** The node that should process id `id` (shoveling's node_id): its owner, for data locality. */
  async cacheBest(name: string, id: string): Promise<PartitionHolder> {
    const { holders } = await this.cacheNodes(name, id);
    if (!holders[0]) throw new NotFoundError('placement of cache id', `${name}/${id} (no live worker holds it yet)`);
    return holders[0];
  }

  /** How far worker `node` is from id `id`'s data: 0 owner, 1 replica, 2 same host, 3 same zone label, 4 elsewhere. */
  async cacheScore(name: string, id: string, node: string): Promise<{ node: string; score: number }> {
    checkId(node, 'worker id');
    const { holders } = await this.cacheNodes(name, id);
    const kv = await this.store.get(this.keys.worker(node));
    const me = kv ? decodeWorker(kv.value) : null;
    if (!me) throw new NotFoundError('worker', node);
    return { node, score: scoreOf({ id: node, host: me.host, zone: me.labels.zone }, holders) };
  }

  async deleteCacheId(name: string, id: string): Promise<void> {
    checkId(name, 'cache name');
    checkId(id, 'cache id');
    if (!(await deletePartition(this.store, this.keys, name, id))) throw new NotFoundError('cache id', `${name}/${id}`);
  }

  async deleteCache(name: string): Promise<void> {
    checkId(name, 'cache name');
    if (!(await deleteCache(this.store, this.keys, name))) throw new NotFoundError('cache', name);
  }
}
