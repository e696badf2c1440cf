// What `rota node` runs (loaded only for it): the etcd connection, the API, the workers and the
// leader candidate.
import { randomUUID } from 'node:crypto';
import { Keys } from '../engine/keys.js';
import { checkId } from '../engine/model.js';
import { RotaNode } from '../engine/node.js';
import { releaseOnDeath } from '../engine/processors/guarded-child.js';
import { waitUntilIdle } from '../engine/tasks/idle.js';
import { leaderSettings, loggerFor, retentionPolicy, startApi, stopOnSignals, workerSettings } from './common.js';
import { connectEtcd, type EtcdFlags } from './etcd-connect.js';
import { positiveInt, type ServeOptions } from './serve-options.js';

/** `rota node`'s options. */
export interface NodeOptions extends ServeOptions, EtcdFlags {
  id?: string;
  worker: boolean;
  lead: boolean;
  untilIdle?: boolean;
  workers: string;
  returnWithin: string;
}

/** --return-within in ms. */
function returnWithin(text: string): number {
  const m = /^(\d+(?:\.\d+)?)(ms|s|m)?$/.exec(text.trim());
  if (!m) throw new Error(`--return-within "${text}" is not a duration: write e.g. 15s, 1m or 0`);
  const ms = Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] ?? 's']!);
  // Items wait that long for a node that never comes back: a restart takes seconds, not hours.
  if (ms > 600_000) throw new Error(`--return-within ${text} is longer than 10m: a node that does not come back would hold its items that long`);
  return ms;
}

/** Runs `rota node` until a signal stops it (or, with --until-idle, no task is left). */
export async function runNode(opts: NodeOptions): Promise<void> {
  const log = loggerFor(opts);
  const settings = opts.worker ? { ...workerSettings(opts), returnWithinMs: returnWithin(opts.returnWithin) } : undefined;
  if (settings?.returnWithinMs && opts.id === undefined) throw new Error('--return-within needs --id: a worker returns under the id it left with');
  const id = checkId(opts.id ?? randomUUID(), 'worker id');
  const ttl = positiveInt(opts.ttl, '--ttl');
  const retention = retentionPolicy(opts);
  const { store, endpoints, gateway, answered } = connectEtcd(opts, log);
  const keys = new Keys(opts.prefix);
  let node: RotaNode | undefined;
  let waiting = true;
  const health = () => node?.health() ?? { ok: false, reasons: [waiting ? `waiting for etcd at ${endpoints.join(',')} to answer` : 'the node is starting'] };
  const api = await startApi(store, keys, opts, log, { store: `etcd ${endpoints.join(',')}`, health }).catch(async (err: unknown) => {
    await store.close().catch(() => undefined);
    throw err;
  });
  try {
    await answered;
  } catch (err) {
    await api?.app.close();
    throw err;
  }
  waiting = false;
  node = new RotaNode({
    store,
    keys,
    log,
    nodeId: id,
    ttl,
    lead: opts.lead,
    worker: settings,
    api: api?.url,
    peers: api?.peers,
    releaseOnDeath: (lease) => releaseOnDeath(lease, gateway),
    retention,
    ...leaderSettings(opts),
  });
  log.info(`rota node on etcd ${endpoints.join(',')}`, { node: id, prefix: opts.prefix });
  const stop = stopOnSignals(log, { node, api, store });
  const workers = opts.worker ? positiveInt(opts.workers, '--workers') : 0;
  // Returning workers come back under the ids they left with: the others of --workers are <id>-1, <id>-2….
  await node.start(workers, settings?.returnWithinMs ? Array.from({ length: workers }, (_, i) => (i === 0 ? id : `${id}-${i}`)) : []);
  if (opts.untilIdle && settings) {
    await waitUntilIdle(store, keys, { busy: () => [...node.agents.values()].some((a) => a.items.length > 0), labels: settings.labels ?? {} });
    log.info('no task is left for this worker: exiting');
    await stop('idle');
  }
}
