// Worker operations on a store: the fleet as listed, and each worker's live configuration.
import { parseConfigPatch, patchWorkerConfig, readWorkerConfig, type WorkerConfigPatch } from '../engine/fleet/worker-config.js';
import type { Keys } from '../engine/keys.js';
import { drainAway } from '../engine/fleet/returning.js';
import { checkId, decodeWorker, selects, type WorkerRecord } from '../engine/model.js';
import { Election } from '../recipes/election.js';
import { readPage, type Store } from '../store/index.js';
import { NotFoundError } from './errors.js';
import { checkPage, fitPage, RESPONSE_BYTES, type Page } from './paging.js';
import type { WorkerConfigView, WorkerListOptions, WorkerView } from './types.js';

/** The worker half of StoreClient. */
export class StoreWorkers {
  constructor(
    private readonly store: Store,
    private readonly keys: Keys,
  ) {}

  async listWorkerPage(options: WorkerListOptions = {}): Promise<Page<WorkerView>> {
    checkPage(options, 'worker');
    const [page, leader] = await Promise.all([
      readPage(this.store, this.keys.workers, { after: options.after && this.keys.worker(options.after), limit: options.limit ?? 1000, maxBytes: RESPONSE_BYTES }),
      Election.leader(this.store, this.keys.leader),
    ]);
    const out: WorkerView[] = [];
    const leases: Array<Promise<void>> = [];
    for (const kv of page.kvs) {
      const record = decodeWorker(kv.value);
      if (!record || (options.labels && !selects(options.labels, record.labels))) continue;
      const view = workerView(kv.key.slice(this.keys.workers.length), record, leader);
      out.push(view);
      if (options.lease && kv.lease) leases.push(this.store.leaseTimeToLive(kv.lease).then((l) => void (l && (view.lease = { ttl: l.grantedTtl, remaining: Math.max(0, l.ttl) }))).catch(() => undefined));
    }
    await Promise.all(leases);
    // A damaged record is skipped, but the cursor still moves past it.
    const last = page.kvs.at(-1)?.key.slice(this.keys.workers.length);
    return { ...fitPage(out, (w) => w.id, page.more, last), total: (await this.store.range(this.keys.workers, { prefix: true, countOnly: true })).count };
  }

  async setDraining(workerId: string, draining: boolean): Promise<WorkerView> {
    checkId(workerId, 'worker id');
    if (!(await this.store.get(this.keys.worker(workerId)))) {
      // Away for a restart: draining it ends the wait, its items move now, and it comes back drained.
      const record = draining ? await drainAway(this.store, this.keys, workerId) : undefined;
      if (!record) throw new NotFoundError('worker', workerId);
      return workerView(workerId, record, undefined);
    }
    const view = await this.configureWorker(workerId, { draining: draining || null });
    // The worker puts it in its record within moments; say what is now in force.
    return { ...view.worker!, draining };
  }

  async configureWorker(workerId: string, patch: WorkerConfigPatch): Promise<WorkerConfigView> {
    checkId(workerId, 'worker id');
    const checked = parseConfigPatch(patch);
    const config = await patchWorkerConfig(this.store, this.keys, workerId, checked);
    // A running worker puts the change in force within moments: answer with its record once it has
    // (or after a second, as it is then), so what is shown is what runs.
    const deadline = Date.now() + 1000;
    for (;;) {
      const view = await this.workerConfig(workerId);
      if (!view.worker || inForceNow(view.worker, checked) || Date.now() > deadline) return { ...view, config };
      await new Promise((r) => setTimeout(r, 20));
    }
  }

  async workerConfig(workerId: string): Promise<WorkerConfigView> {
    checkId(workerId, 'worker id');
    const [config, kv, leader] = await Promise.all([readWorkerConfig(this.store, this.keys, workerId), this.store.get(this.keys.worker(workerId)), Election.leader(this.store, this.keys.leader)]);
    const record = kv && decodeWorker(kv.value);
    return { id: workerId, config, worker: record ? workerView(workerId, record, leader) : undefined };
  }
}

/** Whether `w` runs with what `patch` set (fields it resets are not checked: their start-up values are the worker's). */
function inForceNow(w: WorkerView, patch: WorkerConfigPatch): boolean {
  if (patch.capacity != null && w.capacity !== patch.capacity) return false;
  if (patch.draining != null && w.draining !== patch.draining) return false;
  if (patch.priority != null && (w.priority ?? 0) !== patch.priority) return false;
  if (patch.maxMemory != null && w.maxMemory !== patch.maxMemory) return false;
  for (const [k, v] of Object.entries(patch.labels ?? {})) if ((v === null ? undefined : v) !== w.labels[k]) return false;
  return true;
}

function workerView(id: string, r: WorkerRecord, leader: string | undefined): WorkerView {
  const { host, pid, capacity, labels, load, draining, startedAt, api, cpus, memory, memoryAvailable, maxMemory, priority } = r;
  return { id, host, pid, capacity, labels, load, leader: id === leader, draining, startedAt, api, cpus, memory, memoryAvailable, maxMemory, priority };
}

