// `rota up`: everything on one machine — the embedded store (persisted under ./.rota), the API on
// :3000 and local workers that can be added, stopped and crashed while it runs.
import type { Command } from 'commander';
import { addServeOptions } from './serve-options.js';
import type { UpOptions } from './up-run.js';

/** Adds `rota up` to the program. */
export function registerUp(program: Command): void {
  const cmd = program
    .command('up')
    .description('run rota on this machine: embedded store, API and dashboard on :3000, local workers')
    .option('--memory', 'keep state in memory only (default: persisted under --data-dir)')
    .option('--data-dir <dir>', 'where the embedded store keeps its data', '.rota')
    .option('--workers <n>', 'local workers to start', '3');
  addServeOptions(cmd, '3000', 'embedded').action(async (opts: UpOptions) => (await import('./up-run.js')).runUp(opts));
}
