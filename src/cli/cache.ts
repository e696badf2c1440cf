// `rota cache …`: shoveling's cache — create ids spread over the fleet, set, append and get their bytes, and ask where one lives.
import fs from 'node:fs';
import type { Command } from 'commander';
import type { CacheView } from '../client/types.js';
import { parsePlacement } from '../engine/fleet/placement.js';
import { clientFor, print, withApi, type ApiOptions } from './api-options.js';
import { formatTable } from './table.js';

function cacheTable(c: CacheView): string {
  return [
    `cache ${c.name}: ${c.ids} ids, ${c.replicas} copies each, placed by ${c.strategy}${c.unplaced ? ` (${c.unplaced} not placed yet)` : ''}${c.moving ? `, ${c.moving} moving` : ''}`,
    '',
    formatTable(['WORKER', 'OWNS', 'HOLDS', 'COPYING IN'], Object.entries(c.workers).sort(([a], [b]) => (a < b ? -1 : 1)).map(([w, n]) => [w, n.owns, n.holds, n.copying])),
  ].join('\n');
}

/** Adds `rota cache …` to the program. */
export function registerCaches(program: Command): void {
  const cache = program.command('cache').description('cache ids spread over the fleet: create them, and ask where one lives');
  withApi(cache.command('init <name> [ids...]'))
    .description('create a cache (or add ids to it); ids as arguments or one per line from --from FILE')
    .option('--from <file>', 'read the ids from a file, one per line ("-" for stdin)')
    .option('--strategy <s>', 'nodes, cpu, memory or capacity (default nodes)')
    .option('--replicas <n>', 'copies of each id, owner included (default 2)', (v) => Number(v))
    .option('--json', 'print JSON')
    .action(async (name: string, args: string[], opts: ApiOptions & { from?: string; strategy?: string; replicas?: number }) => {
      const listed = opts.from ? fs.readFileSync(opts.from === '-' ? 0 : opts.from, 'utf8').split('\n').map((l) => l.trim()).filter(Boolean) : [];
      const ids = [...args, ...listed];
      const client = clientFor(opts);
      let view: CacheView & { added: number } = await client.createCache({ name, ids: ids.slice(0, 1000), strategy: opts.strategy ? parsePlacement(opts.strategy, '--strategy') : undefined, replicas: opts.replicas });
      let added = view.added;
      for (let i = 1000; i < ids.length; i += 1000) {
        view = await client.createCache({ name, ids: ids.slice(i, i + 1000) });
        added += view.added;
      }
      print(opts, { ...view, added }, () => `${added} ids added\n${cacheTable(view)}`);
    });
  withApi(cache.command('ls'))
    .description('every cache with its ids per worker')
    .option('--json', 'print JSON')
    .action(async (opts: ApiOptions) => {
      const caches = await clientFor(opts).listCaches();
      print(opts, caches, () => formatTable(['CACHE', 'IDS', 'COPIES', 'STRATEGY', 'WORKERS', 'NOT PLACED'], caches.map((c) => [c.name, c.ids, c.replicas, c.strategy, Object.keys(c.workers).length, c.unplaced])));
    });
  withApi(cache.command('show <name>'))
    .description('a cache: how many ids each worker owns and holds')
    .option('--json', 'print JSON')
    .action(async (name: string, opts: ApiOptions) => {
      const view = await clientFor(opts).getCache(name);
      print(opts, view, () => cacheTable(view));
    });
  withApi(cache.command('nodes <name> <id>'))
    .description('where an id lives: its owner, then its replicas (shoveling\'s node_ids)')
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: ApiOptions) => {
      const r = await clientFor(opts).cacheNodes(name, id);
      print(opts, r, () => formatTable(['WORKER', 'ROLE', 'API'], r.holders.map((h) => [h.worker, h.role, h.api])));
    });
  withApi(cache.command('best <name> <id>'))
    .description('the node that should process an id: its owner (shoveling\'s node_id)')
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: ApiOptions) => {
      const h = await clientFor(opts).cacheBest(name, id);
      print(opts, h, () => `${h.worker}${h.api ? ` ${h.api}` : ''}`);
    });
  withApi(cache.command('score <name> <id>'))
    .description('how far a worker is from an id\'s data: 0 owner, 1 replica, 2 same host, 3 same zone label, 4 elsewhere')
    .requiredOption('--node <worker>', 'the worker')
    .option('--json', 'print JSON')
    .action(async (name: string, id: string, opts: ApiOptions & { node: string }) => {
      const r = await clientFor(opts).cacheScore(name, id, opts.node);
      print(opts, r, () => String(r.score));
    });
  /** The value to write: the argument, or --file (stdin with "-"). */
  const valueOf = (value: string | undefined, file: string | undefined): Buffer => {
    if ((value === undefined) === (file === undefined)) throw new Error('give the value as an argument or --file FILE ("-" for stdin), one of the two');
    return value !== undefined ? Buffer.from(value, 'utf8') : fs.readFileSync(file === '-' ? 0 : file!);
  };
  withApi(cache.command('set <name> <id> [value]'))
    .description('replace an id\'s value (acknowledged once every holder has it); prints its length')
    .option('--file <file>', 'the value from a file ("-" for stdin), as bytes')
    .action(async (name: string, id: string, value: string | undefined, opts: ApiOptions & { file?: string }) => {
      console.log(await clientFor(opts).cacheSet(name, id, valueOf(value, opts.file)));
    });
  withApi(cache.command('append <name> <id> [value]'))
    .description('append to an id\'s value (acknowledged once every holder has it); prints the new length')
    .option('--file <file>', 'the bytes to append from a file ("-" for stdin)')
    .action(async (name: string, id: string, value: string | undefined, opts: ApiOptions & { file?: string }) => {
      console.log(await clientFor(opts).cacheAppend(name, id, valueOf(value, opts.file)));
    });
  withApi(cache.command('get <name> <id>'))
    .description('an id\'s value, as bytes on stdout (from its owner)')
    .action(async (name: string, id: string, opts: ApiOptions) => {
      process.stdout.write(await clientFor(opts).cacheGet(name, id));
    });
  withApi(cache.command('rm <name> [id]'))
    .description('delete one id of a cache, or the whole cache')
    .action(async (name: string, id: string | undefined, opts: ApiOptions) => {
      const client = clientFor(opts);
      await (id === undefined ? client.deleteCache(name) : client.deleteCacheId(name, id));
      console.log(id === undefined ? `deleted cache ${name}` : `deleted ${name}/${id}`);
    });
}
