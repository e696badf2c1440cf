// `rota work …` and `rota status`: talk to a node's API.
import fs from 'node:fs';
import type { Command } from 'commander';
import { clientFor, print, withApi, type ApiOptions } from './api-options.js';
import { MAX_PAGE_LIMIT } from '../client/paging.js';
import type { WorkChange, WorkView } from '../client/types.js';
import { parseLabels } from '../engine/model.js';
import { parsePlacement } from '../engine/fleet/placement.js';
import { formatTable, oneLine } from './table.js';

/** Content from the argument, --file, or stdin when the argument is "-". */
function contentOf(arg: string | undefined, file: string | undefined): string | undefined {
  if (file) return fs.readFileSync(file, 'utf8');
  if (arg === '-') return fs.readFileSync(0, 'utf8');
  return arg;
}

/** A whole number of at least 1, for a count option. */
function positive(v: string, flag: string): number {
  if (!/^[0-9]+$/.test(v) || Number(v) < 1) throw new Error(`${flag} must be a whole number of at least 1, not "${v}"`);
  return Number(v);
}

/** Adds the API commands to the program. */
export function registerWork(program: Command): void {
  const work = program.command('work').description('add, list, update and remove work items');
  withApi(work.command('add [content]'))
    .description('add an item (content as an argument, from --file, or "-" for stdin); prints its id')
    .option('--id <id>', 'choose the id (default: a new UUID)')
    .option('--weight <n>', 'relative load of the item', (v) => Number(v))
    .option('--selector <k=v,...>', 'only workers with these labels may run it')
    .option('--placement <strategy>', "how it shares the fleet with the others of its strategy: capacity, nodes, cpu or memory (default: the leader's --placement)")
    .option('--file <file>', 'read the content from a file')
    .option('--json', 'print JSON')
    .action(async (arg: string | undefined, opts: ApiOptions & { id?: string; weight?: number; selector?: string; file?: string; placement?: string }) => {
      const content = contentOf(arg, opts.file);
      if (content === undefined) throw new Error('give the content as an argument, with --file, or "-" to read stdin');
      const placement = opts.placement === undefined ? undefined : parsePlacement(opts.placement, '--placement');
      const view = await clientFor(opts).addWork({ content, id: opts.id, weight: opts.weight, selector: opts.selector ? parseLabels(opts.selector) : undefined, placement });
      print(opts, view, () => view.id);
    });
  withApi(work.command('ls'))
    .description('list items with the worker each is assigned to and the one running it (read from the API page by page)')
    .option('--limit <n>', 'show at most this many items', (v) => positive(v, '--limit'))
    .option('--after <id>', 'start after this item id (the last id of a previous listing)')
    .option('--search <text>', 'only items whose id, content, kind or workers contain the text (any case)')
    .option('--content', 'whole contents (default: the first 1 KiB of each, with contentBytes)')
    .option('--json', 'print JSON')
    .action(async (opts: ApiOptions & { limit?: number; after?: string; search?: string; content?: boolean }) => {
      const client = clientFor(opts);
      const items: WorkView[] = [];
      let after = opts.after;
      const wanted = opts.limit ?? Infinity;
      do {
        const page = await client.listWorkPage({ after, limit: Math.min(MAX_PAGE_LIMIT, wanted - items.length), content: opts.content, q: opts.search });
        for (const w of page.items) items.push(w);
        after = page.next;
      } while (after !== undefined && items.length < wanted);
      print(opts, items, () =>
        formatTable(['ID', 'ASSIGNED', 'RUNNING ON', 'TOKEN', 'CONTENT'], items.map((w) => [w.id, w.assignedTo, w.claimedBy, w.fencingToken, oneLine(w.content)])),
      );
    });
  withApi(work.command('update <id> [content]'))
    .description('change an item: new content and/or --weight, --selector')
    .option('--weight <n>', 'relative load of the item', (v) => Number(v))
    .option('--selector <k=v,...>', 'only workers with these labels may run it')
    .option('--file <file>', 'read the content from a file')
    .option('--json', 'print JSON')
    .action(async (id: string, arg: string | undefined, opts: ApiOptions & { weight?: number; selector?: string; file?: string }) => {
      const change: WorkChange = { content: contentOf(arg, opts.file), weight: opts.weight, selector: opts.selector ? parseLabels(opts.selector) : undefined };
      const view = await clientFor(opts).updateWork(id, change);
      print(opts, view, () => `updated ${view.id}`);
    });
  withApi(work.command('rm <id>'))
    .description('remove an item; its worker stops it')
    .action(async (id: string, opts: ApiOptions) => {
      await clientFor(opts).deleteWork(id);
      console.log(`removed ${id}`);
    });

  withApi(program.command('status'))
    .description('the leader, the workers with their load, and how many items run')
    .option('--json', 'print JSON')
    .action(async (opts: ApiOptions) => {
      const client = clientFor(opts);
      const [status, workers] = await Promise.all([client.status(), client.listWorkers()]);
      print(opts, { ...status, workerList: workers }, () =>
        [
          `leader: ${status.leader ?? 'none'}   items: ${status.items} (${status.running} running, ${Math.max(0, status.items - status.running - status.finished)} waiting, ${status.finished} finished tasks)   workers: ${status.workers}`,
          ...(status.returning ?? []).map((r) => `returning: ${r.id} within ${r.remaining} s (its services wait for it; rota worker drain ${r.id} moves them now)`),
          '',
          formatTable(
            // RUNNING: items and tasks it runs now; SHARE: its relative share of the fleet's items (not a limit).
            ['WORKER', 'HOST', 'RUNNING', 'SHARE', 'LABELS', 'STATE'],
            workers.map((w) => [w.id, w.host, w.load, w.capacity, Object.entries(w.labels).map(([k, v]) => `${k}=${v}`).join(',') || undefined, [w.leader ? 'leader' : '', w.draining ? 'draining' : ''].filter(Boolean).join(',') || undefined]),
          ),
        ].join('\n'),
      );
    });
}
