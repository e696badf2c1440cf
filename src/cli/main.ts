// The `rota` command line.
import { Command } from 'commander';
import { registerUp } from './up.js';

const program = new Command('rota')
  .description('spread work across a fleet of worker processes and keep it spread')
  .showHelpAfterError();
registerUp(program);
await program.parseAsync(process.argv);
