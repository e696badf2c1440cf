// `rota node`: join a fleet whose state lives in etcd.
import { randomUUID } from 'node:crypto';
import type { Command } from 'commander';
import { Keys } from '../engine/keys.js';
import { checkId } from '../engine/model.js';
import { RotaNode } from '../engine/node.js';
import { releaseOnDeath } from '../engine/processors/guarded-child.js';
import { waitUntilIdle } from '../engine/tasks/idle.js';
import { addServeOptions, leaderSettings, loggerFor, positiveInt, retentionPolicy, startApi, stopOnSignals, workerSettings, type ServeOptions } from './common.js';
import { connectEtcd, type EtcdFlags } from './etcd-connect.js';

interface NodeOptions extends ServeOptions, EtcdFlags {
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
  return Math.round(Number(m[1]) * { ms: 1, s: 1000, m: 60_000 }[m[2] ?? 's']!);
}

/** Adds `rota node` to the program. */
export function registerNode(program: Command): void {
  const cmd = program
    .command('node')
    .description('join a fleet on etcd: a worker, a leader candidate and an API')
    .option('--etcd <urls>', 'etcd client URLs, comma-separated (default: $ROTA_ETCD or http://127.0.0.1:2379)')
    .option('--id <id>', 'worker id (default: a new UUID)')
    .option('--no-worker', 'run no worker here (API and leader candidate only)')
    .option('--no-lead', 'never lead')
    .option('--etcd-ca <file>', 'CA certificate for etcd TLS')
    .option('--etcd-cert <file>', 'client certificate for etcd TLS')
    .option('--etcd-key <file>', 'client key for etcd TLS')
    .option('--etcd-user <user>', 'etcd user (password in --etcd-password or $ROTA_ETCD_PASSWORD)')
    .option('--etcd-password <password>', 'etcd password')
    .option('--workers <n>', 'workers in this process (the first takes --id, the others new UUIDs)', '1')
    .option('--until-idle', 'exit 0 once no task is left for this worker (the Kubernetes Job pattern)')
    .option('--return-within <duration>', 'on a clean stop, keep this worker\'s services assigned to it for this long (e.g. 15s) so a restart under the same --id moves nothing; 0: they move at once', '0');
  addServeOptions(cmd, '0').action(async (opts: NodeOptions) => {
    const log = loggerFor(opts);
    const settings = opts.worker ? { ...workerSettings(opts), returnWithinMs: returnWithin(opts.returnWithin) } : undefined;
    if (settings?.returnWithinMs && opts.id === undefined) throw new Error('--return-within needs --id: a worker returns under the id it left with');
    const id = checkId(opts.id ?? randomUUID(), 'worker id');
    const ttl = positiveInt(opts.ttl, '--ttl');
    const retention = retentionPolicy(opts);
    const { store, endpoints, gateway } = await connectEtcd(opts, log);
    const keys = new Keys(opts.prefix);
    let node: RotaNode | undefined;
    const api = await startApi(store, keys, opts, log, undefined, () => node?.health() ?? { ok: false, reasons: ['the node is starting'] });
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
    await node.start(opts.worker ? positiveInt(opts.workers, '--workers') : 0);
    if (opts.untilIdle && settings) {
      await waitUntilIdle(store, keys, { busy: () => [...node.agents.values()].some((a) => a.items.length > 0), labels: settings.labels ?? {} });
      log.info('no task is left for this worker: exiting');
      await stop('idle');
    }
  });
}
