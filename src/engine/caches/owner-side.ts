// The owner of a partition: it orders the writes (one at a time per partition), applies each,
// forwards it to every replica of its epoch and acknowledges it only once all of them hold it;
// it also forwards to the workers copying the partition (learners) and, once each of them has
// caught up, switches the placement to the planned holders in one compare-and-put.
import { OverBudgetError } from './partition-data.js';
import { reply, PeerUnreachableError, type PeerReply } from './cache-peers.js';
import type { WriteOp } from './held-copies.js';
import { setTimeout as sleep } from 'node:timers/promises';
import { backoff, type HolderContext } from './holder-context.js';
import { switchToNext } from './placement-step.js';
import type { PlacedPartition } from './cache-directory.js';

/** How long a write waits for its owner to finish taking over before it is sent back to be routed again. */
const TAKEOVER_WAIT_MS = 3000;

/** Learners of one partition at one epoch. */
interface Learners {
  epoch: number;
  /** Receiving forwarded writes. */
  targets: Set<string>;
  /** Caught up (installed their copy and every write since). */
  ready: Set<string>;
  /** Forwards not yet answered. */
  inflight: Set<Promise<unknown>>;
}

export class OwnerSide {
  private readonly queues = new Map<string, Promise<unknown>>();
  private readonly learners = new Map<string, Learners>();
  /** Partitions whose switch is being written (the directory may show it before the write returns). */
  private readonly switching = new Set<string>();
  /** Placements this owner wrote itself (a switch), used until the directory shows them. */
  private readonly wrote = new Map<string, PlacedPartition>();

  constructor(private readonly ctx: HolderContext) {}

  private static key(cache: string, id: string): string {
    return `${cache}\0${id}`;
  }

  /** Runs `fn` after every earlier call for the same partition. */
  private serial<T>(cache: string, id: string, fn: () => Promise<T>): Promise<T> {
    const key = OwnerSide.key(cache, id);
    const run = (this.queues.get(key) ?? Promise.resolve()).then(fn, fn);
    const tail = run.catch(() => undefined);
    this.queues.set(key, tail);
    void tail.then(() => this.queues.get(key) === tail && this.queues.delete(key));
    return run;
  }

  /** The partition's placement: the directory's, or the one this owner wrote if the directory has not shown it yet. */
  placed(cache: string, id: string): PlacedPartition | undefined {
    const key = OwnerSide.key(cache, id);
    const seen = this.ctx.dir.get(cache, id);
    const mine = this.wrote.get(key);
    if (!mine) return seen;
    if (seen && seen.modRevision >= mine.modRevision) return (this.wrote.delete(key), seen);
    return mine;
  }

  /** The epoch at which this worker owns the partition and may serve it now, or a reply saying why not. */
  private owning(cache: string, id: string): number | PeerReply {
    const p = this.placed(cache, id);
    if (!p) return reply(404, { error: 'not_found', message: `id ${id} of cache ${cache} does not exist` });
    const { holders, epoch } = p.placement;
    if (holders[0] !== this.ctx.self) return reply(409, { error: 'moved', epoch });
    const state = this.ctx.copies.state(cache, id);
    // Promised a newer epoch to its next owner (this worker's view lags): deposed, whatever the view says.
    if (state && state.promised > epoch) return reply(409, { error: 'moved', epoch: state.promised });
    if (state?.synced !== epoch) return reply(503, { error: 'taking_over', epoch });
    return epoch;
  }

  /** Waits (briefly) until this worker serves the partition. */
  private async ready(cache: string, id: string): Promise<number | PeerReply> {
    const until = Date.now() + TAKEOVER_WAIT_MS;
    for (;;) {
      const r = this.owning(cache, id);
      if (typeof r === 'number' || r.status !== 503 || Date.now() > until) return r;
      await sleep(10);
    }
  }

  /** A client's read: the owner's copy. */
  async get(cache: string, id: string): Promise<PeerReply> {
    if (typeof (await this.ready(cache, id)) !== 'number') return this.owning(cache, id) as PeerReply;
    return this.serial(cache, id, async () => {
      const epoch = this.owning(cache, id);
      if (typeof epoch !== 'number') return epoch;
      const data = this.ctx.copies.data.get(cache, id) ?? Buffer.alloc(0);
      return reply(200, { length: data.length, epoch }, data);
    });
  }

  /** A client's write: applied here, then on every replica, then acknowledged with the new length. */
  async write(cache: string, id: string, op: WriteOp, data: Buffer, writeId: string): Promise<PeerReply> {
    const first = await this.ready(cache, id);
    if (typeof first !== 'number') return first;
    return this.serial(cache, id, async () => {
      const epoch = this.owning(cache, id);
      if (typeof epoch !== 'number') return epoch;
      const copies = this.ctx.copies;
      const seen = copies.seen(cache, id, writeId);
      if (seen !== undefined) return reply(200, { length: seen, epoch });
      const before = copies.capture(cache, id)!;
      let length: number;
      try {
        length = copies.apply(cache, id, op, data, writeId);
      } catch (err) {
        if (err instanceof OverBudgetError) return overBudget(this.ctx.self, err);
        throw err;
      }
      const seq = copies.state(cache, id)!.seq;
      const replicas = this.placed(cache, id)!.placement.holders.slice(1);
      const meta = { epoch, seq, op, writeId };
      this.forwardToLearners(cache, id, epoch, meta, data);
      const results = await Promise.all(replicas.map((r) => this.forward(r, cache, id, meta, data)));
      const full = results.find((r) => r.status === 507);
      if (full) {
        // A replica is full: the write is taken back everywhere it landed, and refused.
        copies.restore(cache, id, before);
        // Each replica that took it copies this worker's copy again (until it has, or the epoch moved on): a write
        // refused must not stay on a replica, whose next write would carry the same number.
        await Promise.all(replicas.map((r, i) => results[i].status === 200 && this.resyncUntil(r, cache, id, epoch)));
        this.dropLearners(cache, id);
        return full;
      }
      const failed = results.find((r) => r.status !== 200);
      // Deposed meanwhile: the write stays in this copy (a retry with its id is answered by whoever has it).
      if (failed) return reply(409, { error: 'moved', epoch });
      return reply(200, { length, epoch });
    });
  }

  /** Sends one write to a replica until it holds it (or the partition moved on). */
  private async forward(replica: string, cache: string, id: string, meta: { epoch: number; seq: number }, data: Buffer): Promise<PeerReply> {
    for (let attempt = 0; this.ctx.running(); attempt++) {
      try {
        const r = await this.ctx.call(replica, { op: 'write', cache, id, meta, body: data });
        if (r.status === 409 && r.meta.error === 'sync') {
          // Behind or never brought in line at this epoch: it takes the whole copy (this write included).
          const copied = await this.resync(replica, cache, id, meta.epoch);
          if (copied.status === 200) return reply(200);
          if (copied.status === 507 || (copied.status === 409 && copied.meta.error === 'stale')) return copied;
        }
        if (r.status !== 404 && r.status < 500) return r;
        if (r.status === 507) return r;
        this.ctx.log.debug('a replica refused a forwarded write, trying again', { cache, id, replica, status: r.status, error: String(r.meta.error ?? '') });
      } catch (err) {
        if (!(err instanceof PeerUnreachableError)) throw err;
        if (attempt % 10 === 0) this.ctx.log.warn('a replica does not answer: the write waits for it (or for the leader to replace it)', { cache, id, replica, error: err.message });
      }
      // Unreachable: tried again until it answers or the leader replaces it (a new epoch).
      if (this.placed(cache, id)?.placement.epoch !== meta.epoch) return reply(409, { error: 'moved' });
      await backoff(attempt);
    }
    return reply(409, { error: 'moved' });
  }

  /** Has `replica` take this worker's whole copy at `epoch`. */
  resync(replica: string, cache: string, id: string, epoch: number): Promise<PeerReply> {
    return this.ctx.call(replica, { op: 'sync', cache, id, meta: { epoch, from: this.ctx.self } }, 60_000).catch((err: Error) => reply(503, { error: 'unreachable', message: err.message }));
  }

  /** Has `replica` take this worker's copy, trying again until it has or the placement moved on. */
  private async resyncUntil(replica: string, cache: string, id: string, epoch: number): Promise<void> {
    for (let n = 0; this.ctx.running() && this.placed(cache, id)?.placement.epoch === epoch; n++) {
      if ((await this.resync(replica, cache, id, epoch)).status === 200) return;
      await backoff(n);
    }
  }

  /** A learner asks for its first copy: it receives every write from now on. */
  addLearner(cache: string, id: string, epoch: number, learner: string): boolean {
    if (this.owning(cache, id) !== epoch) return false;
    const key = OwnerSide.key(cache, id);
    let l = this.learners.get(key);
    if (!l || l.epoch !== epoch) this.learners.set(key, (l = { epoch, targets: new Set(), ready: new Set(), inflight: new Set() }));
    l.targets.add(learner);
    l.ready.delete(learner);
    return true;
  }

  /** A learner has caught up; once all of `next` have, the owner switches. */
  learnerReady(cache: string, id: string, epoch: number, learner: string): boolean {
    const l = this.learners.get(OwnerSide.key(cache, id));
    if (!l || l.epoch !== epoch || !l.targets.has(learner)) return false;
    l.ready.add(learner);
    void this.maybeSwitch(cache, id);
    return true;
  }

  private forwardToLearners(cache: string, id: string, epoch: number, meta: Record<string, unknown>, data: Buffer): void {
    const l = this.learners.get(OwnerSide.key(cache, id));
    if (!l || l.epoch !== epoch) return;
    for (const learner of l.targets) {
      // A learner that misses a write copies again: it is never waited for (but a switch waits for what is in flight).
      const sent: Promise<unknown> = this.ctx
        .call(learner, { op: 'write', cache, id, meta, body: data })
        .then((r) => r.status === 200 || (l.targets.delete(learner), l.ready.delete(learner)))
        .catch(() => (l.targets.delete(learner), l.ready.delete(learner)))
        .finally(() => l.inflight.delete(sent));
      l.inflight.add(sent);
    }
  }

  private dropLearners(cache: string, id: string): void {
    this.learners.delete(OwnerSide.key(cache, id));
  }

  /** Switches to `next` once every new holder in it has caught up. */
  async maybeSwitch(cache: string, id: string): Promise<void> {
    const key = OwnerSide.key(cache, id);
    const ready = () => {
      const p = this.placed(cache, id);
      const l = this.learners.get(key);
      if (!p?.placement.next || typeof this.owning(cache, id) !== 'number' || !l || l.epoch !== p.placement.epoch) return undefined;
      const fresh = p.placement.next.filter((w) => !p.placement.holders.includes(w));
      return fresh.every((w) => l.ready.has(w)) ? p : undefined;
    };
    if (!ready()) return;
    const queued = Date.now();
    await this.serial(cache, id, async () => {
      const p = ready();
      if (!p) return;
      // Every write so far has reached the learners (a learner whose forward failed is no longer ready).
      await Promise.all(this.learners.get(key)?.inflight ?? []);
      if (!ready()) return;
      // The old holders stay in prev until the new epoch's owner has brought every new holder in line (a copy that
      // answered every forward may still differ: a lost answer, a gap while it copied), even when this owner stays.
      const to = switchToNext(p.placement);
      const casAt = Date.now();
      this.switching.add(key);
      const r = await this.ctx.batcher
        .run({
          compare: [{ key: this.ctx.keys.partition(cache, id), target: 'mod', op: '==', value: p.modRevision }],
          success: [{ type: 'put', key: this.ctx.keys.partition(cache, id), value: JSON.stringify(to) }],
        })
        .finally(() => this.switching.delete(key));
      if (!r.succeeded) return;
      this.wrote.set(key, { cache, id, placement: to, modRevision: r.revision });
      this.dropLearners(cache, id);
      this.ctx.log.debug('cache partition switched to its new holders', { cache, id, holders: to.holders.join(','), epoch: to.epoch, queuedMs: casAt - queued, casMs: Date.now() - casAt });
    });
  }

  /** Whether a switch of the partition is being written by this owner. */
  isSwitching(cache: string, id: string): boolean {
    return this.switching.has(OwnerSide.key(cache, id));
  }

  /** Forgets a partition's learners and switch marks (its placement is gone or this worker no longer owns it). */
  forget(cache: string, id: string): void {
    const key = OwnerSide.key(cache, id);
    this.learners.delete(key);
    this.wrote.delete(key);
  }
}

/** The answer to a write this worker has no room for: 507, with the numbers. */
export function overBudget(worker: string, err: OverBudgetError): PeerReply {
  return reply(507, { error: 'insufficient_storage', message: `worker ${worker}: ${err.message}`, neededBytes: err.neededBytes, usedBytes: err.usedBytes, maxBytes: err.maxBytes });
}
