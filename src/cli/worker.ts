// `rota worker …` and `rota workers`: the fleet as the Consul seed knew it — where everyone is,
// what it can take — and its live configuration (capacity, labels, draining, max memory, priority).
import type { Command } from 'commander';
import type { WorkerConfigPatch, WorkerConfigView, WorkerView } from '../client/types.js';
import { parseSize } from '../engine/fleet/worker-config.js';
import { parseLabels } from '../engine/model.js';
import { clientFor, print, withApi, type ApiOptions } from './api-options.js';
import { formatTable } from './table.js';

/** Bytes as people read them: 1.5 GiB, 512 MiB. */
export function formatBytes(n: number | undefined): string | undefined {
  if (n === undefined) return undefined;
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
}

/** How long ago `iso` was: 45s, 12m, 3h, 2d. */
function age(iso: string): string {
  const s = Math.max(0, (Date.now() - Date.parse(iso)) / 1000);
  return s < 120 ? `${Math.round(s)}s` : s < 7200 ? `${Math.round(s / 60)}m` : s < 172_800 ? `${Math.round(s / 3600)}h` : `${Math.round(s / 86_400)}d`;
}

const hostPort = (w: WorkerView) => (w.api ? new URL(w.api).host : w.host);
const labelText = (labels: Record<string, string | null> | undefined) =>
  Object.entries(labels ?? {})
    .map(([k, v]) => (v === null ? `-${k}` : `${k}=${v}`))
    .join(',') || undefined;

/** The seed's view of the fleet, one row per worker. */
export function workersTable(workers: WorkerView[]): string {
  return formatTable(
    ['ID', 'HOST:PORT', 'CPUS', 'MEMORY (AVAIL/TOTAL)', 'SHARE', 'LABELS', 'PRIORITY', 'RUNNING', 'STATE', 'AGE'],
    workers.map((w) => [
      w.id,
      hostPort(w),
      w.cpus,
      w.memory === undefined ? undefined : `${formatBytes(w.memoryAvailable)} / ${formatBytes(w.memory)}${w.maxMemory ? ` (max ${formatBytes(w.maxMemory)})` : ''}`,
      w.capacity,
      labelText(w.labels),
      w.priority ?? 0,
      w.load,
      [w.leader ? 'leader' : '', w.draining ? 'draining' : ''].filter(Boolean).join(',') || undefined,
      age(w.startedAt),
    ]),
  );
}

function showConfig(v: WorkerConfigView): string {
  const c = v.config;
  const set = [
    c.capacity !== undefined && `capacity=${c.capacity}`,
    c.labels && `labels=${labelText(c.labels)}`,
    c.draining !== undefined && `draining=${c.draining}`,
    c.maxMemory !== undefined && `max-memory=${formatBytes(c.maxMemory)}`,
    c.priority !== undefined && `priority=${c.priority}`,
  ].filter(Boolean);
  return [`worker ${v.id}`, `configured: ${set.join(' ') || 'nothing (start-up flags in force)'}`, '', v.worker ? workersTable([v.worker]) : 'not running now (its configuration applies when it starts)'].join('\n');
}

const collect = (v: string, all: string[]) => [...all, v];

/** Adds `rota worker …` and `rota workers`. */
export function registerWorkers(program: Command): void {
  const worker = program.command('worker').description('configure, drain or show one worker');
  for (const [name, draining] of [['drain', true], ['undrain', false]] as const) {
    withApi(worker.command(`${name} <id>`))
      .description(draining ? 'move every item away from a worker and give it no new ones' : 'let a drained worker take items again')
      .action(async (id: string, opts: ApiOptions) => {
        await clientFor(opts).setDraining(id, draining);
        console.log(`${draining ? 'draining' : 'undrained'} ${id}`);
      });
  }
  withApi(worker.command('set <id>'))
    .description("change a worker's live configuration (kept in the store: it outlives restarts, and may be set before the worker starts)")
    .option('--capacity <n>', 'its share of the load', (v) => Number(v))
    .option('--label <k=v>', 'set a label (repeatable)', collect, [] as string[])
    .option('--unlabel <k>', 'remove a label (repeatable)', collect, [] as string[])
    .option('--max-memory <size>', 'memory it may use at most, e.g. 2GiB ("none" to lift)')
    .option('--priority <n>', 'its node\'s rank in the leader election', (v) => Number(v))
    .option('--reset <fields>', 'go back to the start-up value of these fields: capacity,labels,draining,max-memory,priority')
    .option('--json', 'print JSON')
    .action(async (id: string, opts: ApiOptions & { capacity?: number; label: string[]; unlabel: string[]; maxMemory?: string; priority?: number; reset?: string }) => {
      const patch: WorkerConfigPatch = {};
      if (opts.capacity !== undefined) patch.capacity = opts.capacity;
      if (opts.priority !== undefined) patch.priority = opts.priority;
      if (opts.maxMemory !== undefined) patch.maxMemory = opts.maxMemory === 'none' ? null : parseSize(opts.maxMemory, '--max-memory');
      if (opts.label.length || opts.unlabel.length) patch.labels = { ...parseLabels(opts.label.join(',')), ...Object.fromEntries(opts.unlabel.map((k) => [k, null])) };
      for (const field of (opts.reset ?? '').split(',').filter(Boolean)) {
        const key = ({ capacity: 'capacity', labels: 'labels', draining: 'draining', 'max-memory': 'maxMemory', priority: 'priority' } as const)[field as 'capacity'];
        if (!key) throw new Error(`--reset: "${field}" is not a field (capacity, labels, draining, max-memory, priority)`);
        patch[key] = null;
      }
      if (Object.keys(patch).length === 0) throw new Error('nothing to set: give --capacity, --label, --unlabel, --max-memory, --priority or --reset');
      const view = await clientFor(opts).configureWorker(id, patch);
      print(opts, view, () => showConfig(view));
    });
  withApi(worker.command('show <id>'))
    .description("a worker's live configuration and the values in force")
    .option('--json', 'print JSON')
    .action(async (id: string, opts: ApiOptions) => {
      const view = await clientFor(opts).workerConfig(id);
      print(opts, view, () => showConfig(view));
    });
  withApi(program.command('workers'))
    .description('the fleet: where every worker is and what it can take')
    .option('--label <k=v,...>', 'only workers with these labels')
    .option('--json', 'print JSON')
    .action(async (opts: ApiOptions & { label?: string }) => {
      const client = clientFor(opts);
      const labels = opts.label ? parseLabels(opts.label) : undefined;
      const workers: WorkerView[] = [];
      for (let after: string | undefined; ; ) {
        const page = await client.listWorkerPage({ after, labels });
        workers.push(...page.items);
        if (page.next === undefined) break;
        after = page.next;
      }
      print(opts, workers, () => workersTable(workers));
    });
}
