// `rota node`: join a fleet whose state lives in etcd.
import type { Command } from 'commander';
import type { NodeOptions } from './node-run.js';
import { addServeOptions } from './serve-options.js';

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
    .option('--workers <n>', 'workers in this process (the first takes --id, the others new UUIDs; with --return-within, <id>-1, <id>-2…)', '1')
    .option('--until-idle', 'exit 0 once no task is left for this worker (the Kubernetes Job pattern)')
    .option('--return-within <duration>', 'on a clean stop, keep this worker\'s services assigned to it for this long (e.g. 15s) so a restart under the same --id moves nothing; 0: they move at once', '0');
  addServeOptions(cmd, '0', 'etcd').action(async (opts: NodeOptions) => (await import('./node-run.js')).runNode(opts));
}
