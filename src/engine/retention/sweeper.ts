// The leader's retention sweeper: every few seconds it plans from the leader's copy of the state
// (no reads of its own) and deletes what the policy no longer keeps — finished standalone tasks
// with their results and attempts, finished jobs whole (through the same steps as `rota job rm`),
// jobs a crashed `rota job rm` left 'deleting', and results whose item is gone. Each round does a
// bounded number of task deletions; when it used them all, the next round follows at once. Every
// write carries the leader's fence and guards on what it saw, so a stale view deletes nothing new.
import type { Clock, Compare, Store, TimerHandle, TxnOp } from '../../store/index.js';
import { deleteRecord, deleteTasks, markDeleting, type JobAt } from '../jobs/job-delete.js';
import type { JobRecord } from '../jobs/jobs.js';
import type { Keys } from '../keys.js';
import { Limiter } from '../../store/limiter.js';
import type { Logger } from '../log.js';
import { decodeJson } from '../tasks/task-model.js';
import { itemDeletes, leftoverDeletes } from '../work.js';
import type { RetentionPolicy } from './policy.js';
import { planRetention, type RetentionSnapshot } from './retention-plan.js';

/** What the sweeper works with: the leader's store, fence and copy of the state. */
export interface SweeperOptions {
  store: Store;
  keys: Keys;
  policy: RetentionPolicy;
  clock: Clock;
  log: Logger;
  /** The leader's fence: the compare on its election key. */
  fence: () => Compare;
  /** The leader's current copy of the state. */
  snapshot: () => Omit<RetentionSnapshot, 'now'>;
  /** Pause between rounds when the last one finished its work (ms). */
  everyMs?: number;
  /** Task deletions per round. */
  budget?: number;
}

/** Tasks per transaction: five deletes and two compares each, under etcd's 128. */
const PER_TXN = 25;

/** Applies a retention policy while its leader leads. */
export class RetentionSweeper {
  private timer?: TimerHandle;
  private running: Promise<unknown> = Promise.resolve();
  private stopped = false;
  /** How far the deletion of each 'deleting' job got, by the record's mod revision. */
  private readonly progress = new Map<string, { mod: number; next: number }>();
  private readonly everyMs: number;
  private readonly budget: number;

  constructor(private readonly o: SweeperOptions) {
    this.everyMs = o.everyMs ?? 5000;
    this.budget = o.budget ?? 2000;
  }

  start(): void {
    this.schedule(this.everyMs);
  }

  /** Stops after the round under way. */
  async stop(): Promise<void> {
    this.stopped = true;
    if (this.timer) this.o.clock.clearTimeout(this.timer);
    await this.running;
  }

  private schedule(ms: number): void {
    if (this.stopped) return;
    this.timer = this.o.clock.setTimeout(() => {
      this.running = this.round()
        .catch((err: Error) => {
          this.o.log.warn('retention round failed; trying again', { error: err.message });
          return false;
        })
        .then((more) => this.schedule(more ? Math.min(200, this.everyMs) : this.everyMs));
    }, ms);
  }

  /** One round; true when it stopped at its budget (more is waiting). */
  async round(): Promise<boolean> {
    const { store, keys, log } = this.o;
    const state = this.o.snapshot();
    const plan = planRetention({ ...state, now: this.o.clock.now() }, keys, this.o.policy, this.budget);
    const fence = [this.o.fence()];
    for (const id of plan.jobs) await markDeleting(store, keys, id, fence); // carried on below from the next round
    let spent = 0;
    let jobsDone = 0;
    for (const id of plan.deleting) {
      if (this.stopped || spent >= this.budget) break;
      const kv = state.jobs.get(keys.job(id));
      const job = decodeJson<JobRecord>(kv?.value);
      if (!kv || !job) continue;
      const at: JobAt = { kv, job };
      const seen = this.progress.get(id);
      const from = seen && seen.mod === kv.modRevision ? seen.next : 0;
      const n = Math.min(this.budget - spent, Math.max(0, job.total - from));
      const next = await deleteTasks(store, keys, at, from, n, fence);
      spent += Math.max(1, n);
      if (next === undefined) this.progress.delete(id);
      else if (next < job.total) this.progress.set(id, { mod: kv.modRevision, next });
      else {
        this.progress.delete(id);
        if (await deleteRecord(store, at, fence)) jobsDone++;
      }
    }
    const tasks = await this.deleteGuarded(
      plan.tasks.map((t) => ({
        compare: [
          { key: t.item.key, target: 'create', op: '==', value: t.item.createRevision },
          { key: t.result.key, target: 'mod', op: '==', value: t.result.modRevision },
        ],
        success: itemDeletes(keys, t.id),
      })),
    );
    const orphans = await this.deleteGuarded(
      plan.orphans.map((o) => ({
        compare: [
          { key: keys.item(o.id), target: 'create', op: '==', value: 0 },
          { key: o.result.key, target: 'mod', op: '==', value: o.result.modRevision },
        ],
        success: leftoverDeletes(keys, o.id),
      })),
    );
    if (plan.tasks.length + plan.orphans.length + plan.jobs.length + plan.deleting.length > 0) {
      // Fewer deleted than planned: the leader's copy was behind; the next round sees again.
      log.info('Retention: deleted finished work', { tasks, of: plan.tasks.length, jobs: jobsDone, jobsMarked: plan.jobs.length, orphanResults: orphans, jobTasks: spent });
    }
    return spent + plan.tasks.length + plan.orphans.length >= this.budget || plan.jobs.length > 0;
  }

  /** Runs guarded deletes in batches; a batch whose guard fails goes one by one. Returns how many went. */
  private async deleteGuarded(requests: Array<{ compare: Compare[]; success: TxnOp[] }>): Promise<number> {
    const fence = this.o.fence();
    const limiter = new Limiter(4);
    const one = async (rs: typeof requests) =>
      (await this.o.store.txn({ compare: [fence, ...rs.flatMap((r) => r.compare)], success: rs.flatMap((r) => r.success) })).succeeded;
    const counts = [];
    for (let i = 0; i < requests.length; i += PER_TXN) {
      const batch = requests.slice(i, i + PER_TXN);
      counts.push(
        limiter.run(async () => {
          if (await one(batch)) return batch.length;
          let n = 0;
          for (const r of batch) if (await one([r])) n++;
          return n;
        }),
      );
    }
    return (await Promise.all(counts)).reduce((a, b) => a + b, 0);
  }
}
