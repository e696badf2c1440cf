// `rota run …`: create runs, report states done, wait for transitions, read parameters.
import type { Command } from 'commander';
import { watchRun } from '../client/watch-run.js';
import { ValidationError } from '../engine/model.js';
import { clientFor, withApi, type ApiOptions } from './api-options.js';
import { formatTable } from './table.js';

/** "node1=1,2,4" → ["node1", [1, 2, 4]]. */
function parseNodes(values: string[]): Record<string, number[]> {
  const out: Record<string, number[]> = {};
  for (const v of values) {
    const [node, list] = v.split('=');
    if (!node || !list) throw new ValidationError(`--nodes ${v}: write node=indices, e.g. node1=1,2,4`);
    out[node] = [...(out[node] ?? []), ...list.split(',').map((i) => Number(i.trim()))];
  }
  return out;
}

const collect = (v: string, all: string[]) => [...all, v];

/** Adds the run commands. */
export function registerRuns(program: Command): void {
  const run = program.command('run').description('multi-party state machines: participants report states done, the last one advances the run');
  withApi(run.command('create <id>'))
    .description('create a run')
    .requiredOption('--nodes <node=i,j,...>', 'participants: a node and its indices (repeat for more nodes)', collect, [])
    .option('--states <s1,s2,...>', 'ordered states (default: init,provisioning,executing,ready)')
    .option('--default <name=value>', 'a parameter default (repeatable)', collect, [])
    .action(async (id: string, opts: ApiOptions & { nodes: string[]; states?: string; default: string[] }) => {
      const defaults = Object.fromEntries(opts.default.map((d) => [d.slice(0, d.indexOf('=')), d.slice(d.indexOf('=') + 1)]));
      const r = await clientFor(opts).createRun({ id, participants: parseNodes(opts.nodes), states: opts.states?.split(',').map((s) => s.trim()), defaults });
      console.log(`${r.id} ${r.state} (round ${r.round}); waiting for ${r.pending.join(' ')}`);
    });
  withApi(run.command('complete <id>'))
    .description('report that a participant finished the current state')
    .requiredOption('--node <node>', 'the participant node')
    .requiredOption('--index <n>', 'the participant index', (v) => Number(v))
    .requiredOption('--state <state>', 'the state it finished')
    .action(async (id: string, opts: ApiOptions & { node: string; index: number; state: string }) => {
      const c = await clientFor(opts).completeRun(id, { node: opts.node, index: opts.index, state: opts.state });
      const what = c.advanced ? `advanced to ${c.run.state} (round ${c.run.round})` : c.recorded ? `recorded; waiting for ${c.run.pending.join(' ') || 'nobody'}` : 'already recorded';
      console.log(`${id} ${opts.node}/${opts.index} ${opts.state}: ${what}`);
    });
  withApi(run.command('wait <id>'))
    .description('block until the run changes state (or reaches --state), then print its state')
    .option('--state <state>', 'wait for this state')
    .action(async (given: string, opts: ApiOptions & { state?: string }) => {
      const client = clientFor(opts);
      const api = client.baseUrl;
      const id = (await client.getRun(given)).id;
      for await (const e of watchRun(api, id, { token: opts.token ?? process.env.ROTA_TOKEN })) {
        if (e.type === 'deleted') throw new Error(`run ${id} was deleted`);
        if (e.type === 'run') {
          if (opts.state && e.run.state === opts.state) return console.log(`${id} ${e.run.state} (round ${e.run.round})`);
          continue;
        }
        if (e.type !== 'state') continue;
        if (!opts.state || e.state === opts.state) return console.log(`${id} ${e.state} (round ${e.round})`);
      }
    });
  withApi(run.command('show <id>'))
    .description("a run's state, round, pending participants and history")
    .option('--json', 'print JSON')
    .action(async (id: string, opts: ApiOptions) => {
      const r = await clientFor(opts).getRun(id);
      if (opts.json) return console.log(JSON.stringify(r, null, 2));
      console.log(`${r.id}: ${r.state} (round ${r.round})${r.final ? ', final' : ''}; pending: ${r.pending.join(' ') || 'nobody'}\n`);
      console.log(formatTable(['ROUND', 'STATE', 'SINCE'], r.history.map((h) => [h.round, h.state, new Date(h.at).toISOString()])));
    });
  withApi(run.command('ls'))
    .description('list runs')
    .action(async (opts: ApiOptions) => {
      const runs = await clientFor(opts).listRuns();
      console.log(formatTable(['RUN', 'STATE', 'ROUND'], runs.map((r) => [r.id, r.state, r.round])));
    });
  withApi(run.command('param <id> <node> <index> <name> [value]'))
    .description("read a participant's parameter, or set it when a value is given")
    .action(async (id: string, node: string, index: string, name: string, value: string | undefined, opts: ApiOptions) => {
      const client = clientFor(opts);
      if (value === undefined) console.log(await client.getRunParam(id, node, Number(index), name));
      else await client.setRunParam(id, node, Number(index), name, value);
    });
  withApi(run.command('rm <id>'))
    .description('delete a run')
    .action(async (id: string, opts: ApiOptions) => {
      await clientFor(opts).deleteRun(id);
      console.log(`deleted ${id}`);
    });
}
