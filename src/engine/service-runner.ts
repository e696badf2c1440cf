// The services of one worker: each item assigned in its inbox is claimed, run with the processor,
// handed newer content, and stopped then released in the safe order (stop first, then delete the
// claim only if it is still ours). All work on one item is serialized; each step re-reads the
// views, so steps are idempotent and a missed event is repaired by the next look.
import type { Session } from '../recipes/session.js';
import type { PrefixView } from '../recipes/prefix-view.js';
import type { Clock, Store } from '../store/index.js';
import { Limiter } from '../store/limiter.js';
import { claimItem, releaseItem } from './claims.js';
import { itemContext } from './item-context.js';
import { ItemRun, type StopDeps } from './item-run.js';
import type { Keys } from './keys.js';
import type { Logger } from './log.js';
import { decodeSpec, type WorkItem } from './model.js';
import type { Processor, StopReason } from './processors/types.js';
import { ReleaseWaiter } from './release-wait.js';
import type { TxnBatcher } from './txn-batcher.js';

export interface ServiceRunnerOptions {
  store: Store;
  keys: Keys;
  workerId: string;
  processor: Processor;
  log: Logger;
  clock: Clock;
  /** The worker's inbox (assign/<worker>/). */
  inbox: PrefixView;
  batcher: TxnBatcher;
  /** The session the worker runs under now. */
  session(): Session | undefined;
  /** Whether the worker is stopping (no new claims, no more looks). */
  stopping(): boolean;
  /** A step failed (the store away a moment): look at everything again soon. */
  failed(): void;
  grabbed(id: string, token: number): void;
  released(id: string, reason: StopReason): void;
}

/** The services (items that run until moved or deleted) one worker runs. */
export class ServiceRunner {
  readonly running = new Map<string, ItemRun>();
  private readonly chains = new Map<string, Promise<void>>();
  /** Claims refused while no one held them, by item: retried a few times. */
  private readonly freeRetries = new Map<string, number>();
  private readonly releases: ReleaseWaiter;
  private readonly limiter = new Limiter(64);
  private readonly stopDeps: StopDeps;
  private readonly keys: Keys;
  private readonly id: string;
  private readonly log: Logger;
  private readonly clock: Clock;
  private readonly inbox: PrefixView;
  private readonly batcher: TxnBatcher;

  constructor(private readonly options: ServiceRunnerOptions) {
    ({ keys: this.keys, workerId: this.id, log: this.log, clock: this.clock, inbox: this.inbox, batcher: this.batcher } = options);
    this.releases = new ReleaseWaiter(options.store, this.keys, (id) => this.reconcile(id), async (key) => (await this.batcher.read(key)).kvs[0]?.modRevision ?? 0);
    this.stopDeps = {
      processor: options.processor,
      log: this.log,
      // Releases of the same moment share a transaction (a handover of hundreds costs a few writes).
      release: (id, token) => this.limiter.run(() => releaseItem(options.store, this.keys, id, token, this.batcher)),
    };
  }

  private get session(): Session | undefined {
    return this.options.session();
  }

  private get stopping(): boolean {
    return this.options.stopping();
  }

  /** The claims held by runs not stopping (for the claim audit). */
  claims(): Array<{ id: string; token: number }> {
    return [...this.running.values()].filter((r) => !r.stopping).map((r) => ({ id: r.item.id, token: r.token }));
  }

  /** The claim of `id` (token `token`) is gone: stop it, without a release. */
  claimLost(id: string, token: number): void {
    const run = this.running.get(id);
    if (!run || run.token !== token || run.stopping) return;
    this.log.warn('our claim is gone: stopping', { work: id, token });
    void this.halt(id, 'claim-lost', false);
  }

  /** Stops every run: for good (`shutdown`, released) or as a crash (`fenced`, not released). */
  stopAll(reason: 'shutdown' | 'fenced'): Promise<void[]> {
    return Promise.all([...this.running.keys()].map((id) => this.halt(id, reason, false)));
  }

  /** `session` is lost: stop what ran under it (stops under way are cut short too: none may outlast it). */
  fence(session: Session): Promise<unknown[]> {
    const mine = [...this.running.values()].filter((r) => r.session === session);
    return Promise.all(mine.map((run) => (run.stopping ? run.escalate(this.stopDeps) : this.halt(run.item.id, 'fenced', false))));
  }

  /** How many runs `session` has (for the log of a lost session). */
  under(session: Session): number {
    return [...this.running.values()].filter((r) => r.session === session).length;
  }

  async close(): Promise<void> {
    await this.releases.close();
  }

  /** Serializes all work on one item; each step re-reads the views, so steps are idempotent. */
  reconcile(id: string): void {
    const next = (this.chains.get(id) ?? Promise.resolve())
      .then(() => this.step(id))
      .catch((err: Error) => {
        this.log.error('could not reconcile item', { work: id, error: err.message });
        this.options.failed();
      });
    this.chains.set(id, next);
    void next.then(() => {
      if (this.chains.get(id) === next) this.chains.delete(id);
    });
  }

  private async step(id: string): Promise<void> {
    const session = this.session;
    const assignment = this.inbox.kvs.get(this.keys.assignment(this.id, id));
    const run = this.running.get(id);
    if (!assignment) (this.releases.cancel(id), this.freeRetries.delete(id));
    if (run?.stopping) return; // once it has stopped, the item is looked at again
    if (run) {
      if (run.session !== session || !run.session.valid) return this.halt(id, 'fenced', false);
      if (!assignment) return this.halt(id, (await this.exists(id)) ? 'moved' : 'deleted', true);
      // The leader forwards a content update by writing its revision into the assignment.
      if (forwardedRevision(assignment.value) > run.contentRevision) return this.refresh(run);
      return;
    }
    if (!session?.valid || !assignment || this.stopping) return;
    const outcome = await claimItem(this.options.store, this.keys, id, this.id, session.lease, this.batcher);
    if (!outcome.claimed) {
      if (!this.inbox.kvs.has(this.keys.assignment(this.id, id))) return;
      // Held by another worker (or by our own old lease): its deletion brings us back here.
      if (outcome.holder) return this.releases.wait(id, outcome.revision);
      // Free when read: released between our attempt and the read (a handover's usual race), or
      // refused for a reason the inbox has not shown yet (item deleted): a few more tries, then
      // the periodic reconcile.
      const tries = (this.freeRetries.get(id) ?? 0) + 1;
      this.freeRetries.set(id, tries);
      if (tries <= FREE_RETRIES) this.clock.setTimeout(() => this.reconcile(id), 5 * tries);
      return;
    }
    this.freeRetries.delete(id);
    if (this.session !== session || !session.valid || this.stopping) return; // its lease takes the claim away
    await this.begin(id, outcome.token, outcome.content, outcome.spec, session);
  }

  private async begin(id: string, token: number, content: string, spec: string | undefined, session: Session): Promise<void> {
    const abort = new AbortController();
    const item: WorkItem = { id, content, spec: decodeSpec(spec) };
    const ctx = itemContext({ store: this.options.store, keys: this.keys, id, workerId: this.id, token, session, signal: abort.signal, log: this.log });
    const run = new ItemRun(item, token, session, ctx, abort);
    this.running.set(id, run);
    this.log.info(`Successfully grabbed work=${id}`, { token });
    if (item.spec.kind === 'task') {
      // Tasks come in batches; an older leader's assignment of one on its own is let go of.
      this.log.warn(`work=${id} is a task assigned on its own (by an older leader): letting it go`);
      return void this.halt(id, 'moved', true);
    }
    try {
      await this.options.processor.start(item, ctx);
    } catch (err) {
      this.log.error('processor failed to start', { work: id, error: (err as Error).message });
    }
    this.options.grabbed(id, token);
  }

  /** Whether item `id` still exists (reads of the same moment share a transaction: a handover of hundreds is a few reads). */
  private async exists(id: string): Promise<boolean> {
    return (await this.batcher.read(this.keys.item(id), { countOnly: true })).count > 0;
  }

  /** Reads the content of a running item again and hands it to the processor if it is newer. */
  private async refresh(run: ItemRun): Promise<void> {
    const kv = await this.options.store.get(this.keys.item(run.item.id));
    if (kv && kv.modRevision > run.contentRevision && this.running.get(run.item.id) === run && !run.stopping) await this.update(run, kv.value, kv.modRevision);
  }

  private async update(run: ItemRun, content: string, revision: number): Promise<void> {
    run.item = { ...run.item, content };
    run.contentRevision = revision;
    this.log.info(`Updated our work=${run.item.id}`);
    await this.options.processor.update(run.item, run.ctx);
  }

  /** Stops a run (see ItemRun.stop); once stopped it leaves `running` and the item is looked at again. */
  private halt(id: string, reason: StopReason, release: boolean): Promise<void> {
    const run = this.running.get(id);
    if (!run) return Promise.resolve();
    if (run.stopping) return run.stopped ?? Promise.resolve();
    return run.stop(reason, release, this.stopDeps).finally(() => {
      if (this.running.get(id) === run) this.running.delete(id);
      this.options.released(id, reason);
        if (!this.stopping) this.reconcile(id);
    });
  }

}

/** Claims refused with no holder are tried again this many times before the periodic reconcile. */
const FREE_RETRIES = 3;

/** The content revision an assignment forwards (0 when it names none). */
function forwardedRevision(value: string): number {
  const n = Number(value);
  return Number.isSafeInteger(n) && n > 0 ? n : 0;
}
