// `rota up`: everything on one machine — the embedded store (persisted under ./.rota), the API on
// :3000 and local workers that can be added, stopped and crashed while it runs.
import path from 'node:path';
import type { Command } from 'commander';
import { Keys } from '../engine/keys.js';
import { RotaNode } from '../engine/node.js';
import { EmbeddedStore } from '../store/index.js';
import { meterStore } from '../engine/metrics.js';
import { addServeOptions, leaderSettings, loggerFor, positiveInt, retentionPolicy, startApi, stopOnSignals, workerSettings, type ServeOptions } from './common.js';

interface UpOptions extends ServeOptions {
  memory?: boolean;
  dataDir: string;
  workers: string;
}

/** Adds `rota up` to the program. */
export function registerUp(program: Command): void {
  const cmd = program
    .command('up')
    .description('run rota on this machine: embedded store, API and dashboard on :3000, local workers')
    .option('--memory', 'keep state in memory only (default: persisted under --data-dir)')
    .option('--data-dir <dir>', 'where the embedded store keeps its data', '.rota')
    .option('--workers <n>', 'local workers to start', '3');
  addServeOptions(cmd, '3000').action(async (opts: UpOptions) => {
    const log = loggerFor(opts);
    const retention = retentionPolicy(opts);
    const dir = opts.memory ? undefined : path.resolve(opts.dataDir);
    const store = meterStore(await EmbeddedStore.open({ dir }));
    const keys = new Keys(opts.prefix);
    let node: RotaNode | undefined;
    const api = await startApi(store, keys, opts, log, {
      add: () => node!.add(),
      remove: (id, crash) => node!.remove(id, crash),
    }, () => node?.health() ?? { ok: false, reasons: ['the node is starting'] });
    node = new RotaNode({ store, keys, log, ttl: positiveInt(opts.ttl, '--ttl'), worker: workerSettings(opts), api: api?.url, peers: api?.peers, retention, ...leaderSettings(opts) });
    log.info(`rota up: embedded store ${dir ? `in ${dir}` : 'in memory'}`, { node: node.id });
    stopOnSignals(log, { node, api, store });
    await node.start(positiveInt(opts.workers, '--workers'));
  });
}
