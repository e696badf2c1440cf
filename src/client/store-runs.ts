// Run operations on a store, with engine errors turned into the client's.
import type { Keys } from '../engine/keys.js';
import { checkId } from '../engine/model.js';
import * as runs from '../engine/runs/runs.js';
import type { WriteOnce } from '../engine/write-once.js';
import { ConflictError, NotFoundError } from './errors.js';
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

  async createRun(input: CreateRun): Promise<RunView> {
    return translate(() => runs.createRun(this.once, this.keys, runs.parseCreateRun(input), Date.now()));
  }
  async listRuns(): Promise<RunRecord[]> {
    return runs.listRuns(this.store, this.keys);
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
