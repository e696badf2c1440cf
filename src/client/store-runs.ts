// Run operations on a store, with engine errors turned into the client's.
import type { Keys } from '../engine/keys.js';
import { checkId } from '../engine/model.js';
import * as runs from '../engine/runs/runs.js';
import type { WriteOnce } from '../engine/write-once.js';
import { decodeJson } from '../engine/tasks/task-model.js';
import { prefixEnd, scanPrefix } from '../store/index.js';
import { ConflictError, NotFoundError } from './errors.js';
import { checkPage, fitPage, type Page, type PageRequest } from './paging.js';
import type { Completion, CreateRun, RunRecord, RunReport, RunView } from './types.js';

/** Maps RunNotFoundError to NotFoundError (404) and RunRefusedError to ConflictError (409). */
async function translate<T>(op: () => Promise<T>): Promise<T> {
  try {
    return await op();
  } catch (err) {
    if (err instanceof runs.RunNotFoundError) throw new NotFoundError('run', err.message.split(' ')[1]);
    if (err instanceof runs.RunRefusedError) throw new ConflictError(err.message);
    throw err;
  }
}

/** The run half of StoreClient. */
export class StoreRuns {
  private readonly store;

  constructor(
    private readonly once: WriteOnce,
    private readonly keys: Keys,
  ) {
    this.store = once.store;
  }
  /** One page of runs in id order: their record keys found by a keys-only scan, then read. */
  async listRunPage(options: PageRequest = {}): Promise<Page<RunRecord>> {
    checkPage(options, 'run');
    const limit = options.limit ?? 100;
    const base = this.keys.runs;
    // After run X come the keys past every runs/X/… key.
    const from = options.after === undefined ? base : prefixEnd(`${base}${options.after}/`);
    const found: string[] = [];
    let more = false;
    let revision = 0;
    scan: for await (const page of scanPrefix(this.store, base, { from, keysOnly: true })) {
      revision = page.revision;
      for (const kv of page.kvs) {
        const rest = kv.key.slice(base.length);
        if (rest.indexOf('/') !== rest.length - 4 || !rest.endsWith('/run')) continue; // pending and params keys
        if (found.length === limit) {
          more = true;
          break scan;
        }
        found.push(kv.key);
      }
    }
    const records: RunRecord[] = [];
    for (let i = 0; i < found.length; i += 50) {
      const kvs = await Promise.all(found.slice(i, i + 50).map((key) => this.store.get(key, { revision })));
      for (const kv of kvs) {
        const r = decodeJson<RunRecord>(kv?.value);
        if (r) records.push(r);
      }
    }
    const last = found.at(-1)?.slice(base.length, -'/run'.length);
    return fitPage(records, (r) => r.id, more, last);
  }

  async createRun(input: CreateRun): Promise<RunView> {
    return translate(() => runs.createRun(this.once, this.keys, runs.parseCreateRun(input), Date.now()));
  }
  async getRun(id: string): Promise<RunView> {
    checkId(id, 'run id');
    return translate(() => runs.getRun(this.once, this.keys, id));
  }
  async completeRun(id: string, report: RunReport): Promise<Completion> {
    checkId(id, 'run id');
    const r = runs.parseReport(report);
    return translate(() => runs.completeRun(this.once, this.keys, id, r));
  }
  async setRunParam(id: string, node: string, index: number, name: string, value: string): Promise<void> {
    checkId(id, 'run id');
    return translate(() => runs.setParam(this.store, this.keys, id, node, index, name, value));
  }
  async getRunParam(id: string, node: string, index: number, name: string): Promise<string> {
    checkId(id, 'run id');
    const value = await translate(() => runs.getParam(this.store, this.keys, id, node, index, name));
    if (value === undefined) throw new NotFoundError('parameter', `${node}/${index}/${name} of run ${id}`);
    return value;
  }
  async deleteRun(id: string): Promise<void> {
    checkId(id, 'run id');
    return translate(() => runs.deleteRun(this.once, this.keys, id));
  }
}
