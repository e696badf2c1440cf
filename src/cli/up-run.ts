// What `rota up` runs (loaded only for it): the embedded store, the API and the local workers.
import path from 'node:path';
import { Keys } from '../engine/keys.js';
import { RotaNode } from '../engine/node.js';
import { EmbeddedStore } from '../store/index.js';
import { meterStore } from '../engine/metrics.js';
import { leaderSettings, loggerFor, retentionPolicy, startApi, stopOnSignals, workerSettings } from './common.js';
import { positiveInt, type ServeOptions } from './serve-options.js';
import { workerIds } from './worker-ids.js';

/** `rota up`'s options. */
export interface UpOptions extends ServeOptions {
  memory?: boolean;
  dataDir: string;
  workers: string;
}

/** Runs `rota up` until a signal stops it. */
export async function runUp(opts: UpOptions): Promise<void> {
  const log = loggerFor(opts);
  const retention = retentionPolicy(opts);
  const dir = opts.memory ? undefined : path.resolve(opts.dataDir);
  const store = meterStore(await EmbeddedStore.open({ dir }));
  const keys = new Keys(opts.prefix);
  let node: RotaNode | undefined;
  const local = { add: () => node!.add(), remove: (id: string, crash: boolean) => node!.remove(id, crash) };
  const health = () => node?.health() ?? { ok: false, reasons: ['the node is starting'] };
  const api = await startApi(store, keys, opts, log, { store: `embedded, ${dir ? `in ${dir}` : 'in memory'}`, local, health }).catch(async (err: unknown) => {
    await store.close().catch(() => undefined);
    throw err;
  });
  const ids = workerIds(dir, positiveInt(opts.workers, '--workers'));
  node = new RotaNode({ store, keys, log, nodeId: ids[0], ttl: positiveInt(opts.ttl, '--ttl'), worker: workerSettings(opts), api: api?.url, peers: api?.peers, retention, ...leaderSettings(opts) });
  log.info(`rota up: embedded store ${dir ? `in ${dir}` : 'in memory'}`, { node: node.id });
  stopOnSignals(log, { node, api, store });
  await node.start(positiveInt(opts.workers, '--workers'), ids);
}
