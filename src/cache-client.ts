// The cache from Node (shoveling's API): `const c = await cache({ store })` follows the placement
// itself and talks to each id's owner directly; `cache({ api })` goes through one node, which
// forwards. Values are bytes (a string is taken as UTF-8).
import { CacheDirectory } from './engine/caches/cache-directory.js';
import { CachePeers } from './engine/caches/cache-peers.js';
import { CacheRouter } from './engine/caches/cache-router.js';
import type { CacheCreate } from './engine/caches/cache-model.js';
import type { PartitionHolder } from './engine/caches/cache-ops.js';
import { Keys } from './engine/keys.js';
import { HttpClient } from './client/http-client.js';
import { StoreClient } from './client/store-client.js';
import type { CacheView } from './client/store-caches.js';
import type { Store } from './store/index.js';

/** Where the cache client finds the fleet: its store (direct to owners) or one node's API. */
export type CacheClientOptions = { store: Store; prefix?: string; token?: string } | { api: string; token?: string };

/** A cache id's value as given: bytes or UTF-8 text. */
export type CacheValue = Buffer | Uint8Array | string;

/** The cache operations of a fleet. */
export interface CacheClient {
  /** Creates cache `name` with `ids` (or adds them), spread by `strategy` (default nodes) with `replicas` copies (default 2). */
  init(name: string, ids: string[], options?: Omit<CacheCreate, 'name' | 'ids'>): Promise<CacheView & { added: number }>;
  /** Replaces an id's value; resolves with its length once every holder has it. */
  set(name: string, id: string, value: CacheValue): Promise<number>;
  /** Appends to an id's value; resolves with the new length once every holder has it. */
  append(name: string, id: string, value: CacheValue): Promise<number>;
  get(name: string, id: string): Promise<Buffer>;
  /** Where an id's data is: owner first, then replicas (node_ids). */
  nodes(name: string, id: string): Promise<PartitionHolder[]>;
  /** The worker that should process an id: its owner (node_id). */
  best(name: string, id: string): Promise<PartitionHolder>;
  /** 0 owner, 1 replica, 2 same host, 3 same zone, 4 elsewhere (_node_cache_score). */
  score(name: string, id: string, worker: string): Promise<number>;
  describe(name: string): Promise<CacheView>;
  /** Deletes one id, or the whole cache. */
  delete(name: string, id?: string): Promise<void>;
  close(): Promise<void>;
}

const bytes = (v: CacheValue) => (Buffer.isBuffer(v) ? v : typeof v === 'string' ? Buffer.from(v, 'utf8') : Buffer.from(v));

/** Opens a cache client on a fleet. */
export async function cache(options: CacheClientOptions): Promise<CacheClient> {
  let data: { set(n: string, i: string, b: Buffer): Promise<number>; append(n: string, i: string, b: Buffer): Promise<number>; get(n: string, i: string): Promise<Buffer> };
  let control: StoreClient | HttpClient;
  let close = async () => undefined as void;
  if ('store' in options) {
    const keys = new Keys(options.prefix);
    const dir = new CacheDirectory(options.store, keys);
    const peers = new CachePeers(options.token);
    await dir.start();
    data = new CacheRouter(dir, peers);
    control = new StoreClient(options.store, keys);
    close = async () => (await dir.close(), peers.close());
  } else {
    const http = new HttpClient(options.api, options.token);
    data = { set: (n, i, b) => http.cacheSet(n, i, b), append: (n, i, b) => http.cacheAppend(n, i, b), get: (n, i) => http.cacheGet(n, i) };
    control = http;
  }
  return {
    init: (name, ids, o = {}) => control.createCache({ name, ids, ...o }),
    set: (name, id, v) => data.set(name, id, bytes(v)),
    append: (name, id, v) => data.append(name, id, bytes(v)),
    get: (name, id) => data.get(name, id),
    nodes: async (name, id) => (await control.cacheNodes(name, id)).holders,
    best: (name, id) => control.cacheBest(name, id),
    score: async (name, id, worker) => (await control.cacheScore(name, id, worker)).score,
    describe: (name) => control.getCache(name),
    delete: (name, id) => (id === undefined ? control.deleteCache(name) : control.deleteCacheId(name, id)),
    close,
  };
}
