// `rota up`: everything on one machine, state in the embedded store.
import path from 'node:path';
import type { Command } from 'commander';
import { EmbeddedStore } from '../store/index.js';

/** Adds `rota up` to the program. */
export function registerUp(program: Command): void {
  program
    .command('up')
    .description('run rota on this machine with the embedded store (persisted under ./.rota)')
    .option('--memory', 'keep state in memory only')
    .option('--data-dir <dir>', 'where the embedded store keeps its data', '.rota')
    .action(async (opts: { memory?: boolean; dataDir: string }) => {
      const dir = opts.memory ? undefined : path.resolve(opts.dataDir);
      const store = await EmbeddedStore.open({ dir });
      const { revision } = await store.range('/work/', { prefix: true, countOnly: true });
      console.log(`rota: embedded store open ${dir ? `in ${dir}` : 'in memory'} at revision ${revision}`);
      console.log('rota: the allocation engine is not built yet; press Ctrl-C to stop');
      const stop = async () => {
        await store.close();
        console.log('rota: store closed');
        process.exit(0);
      };
      process.once('SIGINT', stop);
      process.once('SIGTERM', stop);
      setInterval(() => undefined, 1 << 30);
    });
}
