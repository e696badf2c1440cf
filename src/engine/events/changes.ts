// Live changes of rota's keys for clients (SSE, WebSocket, watchRun): one store watch, filtered by
// prefix, item, job or run, every batch carrying its revision so a client can resume from it.
import { EventEmitter } from 'node:events';
import type { Store, Watch } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { ValidationError } from '../model.js';
import { isBatchId, type TaskBatch } from '../tasks/batch.js';
import { decodeJson } from '../tasks/task-model.js';

/** What a client follows; all given filters must match. */
export interface ChangeFilter {
  /** Keys under this prefix, relative to rota's (e.g. "registry/"). */
  prefix?: string;
  /** Everything about one item (registry, spec, assignment, claim, result, attempts…). */
  item?: string;
  /** Everything about one job and its tasks. */
  job?: string;
  /** Everything about one run. */
  run?: string;
}

/** One change, with its key relative to rota's prefix. */
export interface Change {
  type: 'put' | 'delete';
  key: string;
  value?: string;
  modRevision: number;
  /** Puts: the key's create revision (equal to modRevision when the put created it). */
  createRevision?: number;
}

export interface ChangeBatch {
  revision: number;
  changes: Change[];
}

export interface ChangeStreamEvents {
  batch: [batch: ChangeBatch];
  /** The stream ended: CompactedError when `from` is older than the kept history. */
  end: [error?: Error];
}

/** The sections whose keys end in an item id, or an item id then more. */
const ITEM_SECTIONS = ['registry/', 'specs/', 'assign/', 'active/', 'status/', 'results/', 'attempts/'];

/** Whether `key` (relative) passes `filter`; `value` is a put's, for task batches (they name their tasks). */
export function matches(filter: ChangeFilter, key: string, value?: string): boolean {
  if (filter.prefix !== undefined && !key.startsWith(filter.prefix)) return false;
  const idsOf = (): string[] => {
    const section = ITEM_SECTIONS.find((s) => key.startsWith(s));
    // assign/<worker>/<item>: the item id comes after the worker's inbox.
    const id = section ? key.slice(section.length).split('/')[section === 'assign/' ? 1 : 0] : undefined;
    if (id === undefined || !isBatchId(id)) return id === undefined ? [] : [id];
    return section === 'assign/' && value !== undefined ? (decodeJson<TaskBatch>(value)?.tasks ?? []).map((t) => t.id) : [];
  };
  if (filter.item !== undefined && !idsOf().includes(filter.item)) return false;
  if (filter.job !== undefined && key !== `jobs/${filter.job}` && !idsOf().some((id) => id.startsWith(`${filter.job}.`))) return false;
  if (filter.run !== undefined && !key.startsWith(`runs/${filter.run}/`)) return false;
  return true;
}

/**
 * A prefix as people write it, made relative to the pool: `/work/registry/` (the key as etcdctl
 * shows it) is `registry/`; another absolute prefix would match nothing here, so it is refused.
 */
export function poolRelative(keys: Keys, prefix: string): string {
  if (prefix.startsWith(keys.prefix)) return prefix.slice(keys.prefix.length);
  if (prefix.startsWith('/')) throw new ValidationError(`prefix "${prefix.slice(0, 80)}" is not in this pool (${keys.prefix}): give it relative to the pool, e.g. registry/ or active/`);
  return prefix;
}

/** A filtered, resumable stream of changes. */
export class ChangeStream extends EventEmitter<ChangeStreamEvents> {
  private readonly watch: Watch;
  readonly ready: Promise<void>;

  /** Changes from revision `from` (default: from now). */
  constructor(store: Store, keys: Keys, filter: ChangeFilter, from?: number) {
    super();
    // Narrow the store watch when the filter allows it; filter the rest here.
    const base = filter.run !== undefined ? `${keys.runs}${filter.run}/` : keys.prefix + (filter.prefix ?? '');
    this.watch = store.watch(base, { prefix: true, fromRevision: from });
    this.ready = this.watch.ready;
    this.watch.on('events', (b) => {
      const changes: Change[] = [];
      for (const ev of b.events) {
        const key = ev.kv.key.slice(keys.prefix.length);
        if (!matches(filter, key, ev.type === 'put' ? ev.kv.value : undefined)) continue;
        changes.push(ev.type === 'put' ? { type: 'put', key, value: ev.kv.value, modRevision: ev.kv.modRevision, createRevision: ev.kv.createRevision } : { type: 'delete', key, modRevision: ev.kv.modRevision });
      }
      if (changes.length) this.emit('batch', { revision: b.revision, changes });
    });
    this.watch.on('error', (err) => this.emit('end', err));
  }

  async close(): Promise<void> {
    await this.watch.close();
  }
}
