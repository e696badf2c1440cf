// The `rota` command line.
import { Command } from 'commander';
import { ApiError } from '../client/http-client.js';
import { registerJobs } from './job.js';
import { registerNode } from './node.js';
import { registerRuns } from './run.js';
import { registerUp } from './up.js';
import { registerWork } from './work.js';
import { registerWorkers } from './worker.js';
import { registerCaches } from './cache.js';

const program = new Command('rota')
  .description('spread work across a fleet of worker processes and keep it spread')
  .showHelpAfterError();
registerUp(program);
registerNode(program);
registerWork(program);
registerWorkers(program);
registerCaches(program);
registerJobs(program);
registerRuns(program);
try {
  await program.parseAsync(process.argv);
} catch (err) {
  const e = err as Error;
  console.error(`rota: ${e instanceof ApiError ? `${e.message} (${e.status || e.code})` : e.message}`);
  process.exit(1);
}
