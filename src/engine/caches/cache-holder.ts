// One worker's part in the caches: it holds copies of partitions in memory and answers its peers.
// It follows every placement and acts on its own role in each: an owner whose epoch is new takes
// over (view-change.ts) and serves; a worker named in `next` copies the partition from its owner
// (at most MAX_COPIES at once) and tells it once caught up; a worker left out of a placement drops
// its copy. Writes and reads for clients go to the owner side (owner-side.ts).
import { createHash, randomUUID } from 'node:crypto';
import type { Store } from '../../store/index.js';
import type { Keys } from '../keys.js';
import type { Logger } from '../log.js';
import { CacheDirectory, type PlacedPartition } from './cache-directory.js';
import { reply, type CachePeers, type PeerHandler, type PeerReply, type PeerRequest } from './cache-peers.js';
import { HeldCopies, type WriteOp } from './held-copies.js';
import { pullSnapshot, snapshotOf, snapshotReply, type HolderContext } from './holder-context.js';
import { overBudget, OwnerSide } from './owner-side.js';
import { gzipFast, OverBudgetError, PartitionData } from './partition-data.js';
import { keepsCopy } from './placement-step.js';
import { takeOver } from './view-change.js';
import { invalidPeerCall as invalid } from './peer-call-checks.js';
import { TxnBatcher } from '../txn-batcher.js';
import { metrics } from '../metrics.js';

export interface CacheHolderOptions {
  store: Store;
  keys: Keys;
  log: Logger;
  workerId: string;
  peers: CachePeers;
  /** The worker's max memory, if set (cache bytes beyond it are refused). */
  maxBytes?: () => number | undefined;
  /** Told the compressed bytes held by cache, every few seconds (for the worker's record). */
  onBytes?: (bytes: Record<string, number>) => void;
}

/** Partitions one worker copies from their owners at once (a join does not swamp the fleet). */
const MAX_COPIES = 16;
/** The bytes held are reported this often at most. */
const BYTES_EVERY_MS = 5000;
/** Every placement is looked at again this often (retries of what failed). */
const SCAN_MS = 500;

/** A worker's copies of cache partitions. */
export class CacheHolder implements PeerHandler {
  readonly copies: HeldCopies;
  readonly dir: CacheDirectory;
  private readonly owner: OwnerSide;
  private readonly ctx: HolderContext;
  private readonly busy = new Set<string>();
  private copiesRunning = 0;
  private timer?: NodeJS.Timeout;
  private stopped = false;
  private scanQueued = false;
  private bytesAt = 0;

  constructor(private readonly o: CacheHolderOptions) {
    this.copies = new HeldCopies(new PartitionData(gzipFast, o.maxBytes));
    this.dir = new CacheDirectory(o.store, o.keys);
    this.ctx = {
      self: o.workerId,
      store: o.store,
      keys: o.keys,
      log: o.log,
      copies: this.copies,
      dir: this.dir,
      call: (worker, req, timeoutMs) => o.peers.call(worker, this.dir.api(worker), req, timeoutMs),
      batcher: new TxnBatcher(o.store, 120),
      running: () => !this.stopped,
    };
    this.owner = new OwnerSide(this.ctx);
  }

  async start(): Promise<void> {
    this.o.peers.register(this.o.workerId, this);
    this.dir.on('partitions', (changed) => changed.forEach((p) => this.check(p)));
    this.dir.on('deleted', (cache, id) => this.forget(cache, id));
    await this.dir.start();
    this.timer = setInterval(() => this.scan(), SCAN_MS);
    this.timer.unref();
    this.scan();
  }

  /** Stops answering; the copies go with the process (the survivors hold them). */
  async stop(): Promise<void> {
    this.stopped = true;
    clearInterval(this.timer);
    this.o.peers.unregister(this.o.workerId, this);
    await this.dir.close();
  }

  /** Compressed bytes held. */
  get bytes(): number {
    return this.copies.data.usedBytes;
  }

  /** One scan soon, however many ask for it meanwhile (a copy that ends makes room for the next). */
  private scanSoon(): void {
    if (this.scanQueued) return;
    this.scanQueued = true;
    setTimeout(() => ((this.scanQueued = false), this.scan()), 5);
  }

  private scan(): void {
    if (this.stopped || !this.dir.ready) return;
    if (Date.now() - this.bytesAt >= BYTES_EVERY_MS) (this.bytesAt = Date.now()), this.o.onBytes?.(this.copies.data.bytesByCache());
    for (const p of this.dir.all()) this.check(p);
    for (const [cache, id] of this.copies.list()) if (!this.dir.get(cache, id)) this.forget(cache, id);
  }

  private forget(cache: string, id: string): void {
    this.copies.drop(cache, id);
    this.owner.forget(cache, id);
  }

  /** Acts on this worker's role in one placement. */
  private check({ cache, id, placement: p }: PlacedPartition): void {
    if (this.stopped) return;
    const self = this.o.workerId;
    const s = this.copies.state(cache, id);
    if (!keepsCopy(p, self)) {
      if (s) this.forget(cache, id);
      return;
    }
    // A switch this worker is writing may show here before its write returns: it is the switch's to finish.
    if (p.holders[0] === self && !this.owner.isSwitching(cache, id)) {
      if (s?.synced !== p.epoch) this.once(`take:${cache}\0${id}`, () => this.takeOver(cache, id));
      else if (p.prev?.length) this.once(`prev:${cache}\0${id}`, () => this.clearPrev(cache, id, p.epoch));
      else if (p.next) void this.owner.maybeSwitch(cache, id);
    }
    // A learner the owner counts as ready may be dropped later (a forward failed): it says so again at every look.
    if (p.next?.includes(self) && !p.holders.includes(self) && s && !s.copying && s.synced === p.epoch) {
      this.once(`ready:${cache}\0${id}`, async () => this.readyAnswered(cache, id, (await this.ctx.call(p.holders[0], { op: 'ready', cache, id, meta: { epoch: p.epoch, learner: self } }).catch(() => reply(503))).status));
    }
    const copy = `copy:${cache}\0${id}`;
    if (p.next?.includes(self) && !p.holders.includes(self) && (!s || (s.synced < p.epoch && !s.copying)) && this.copiesRunning < MAX_COPIES && !this.busy.has(copy)) {
      this.copiesRunning++;
      this.once(copy, () => this.learn(cache, id, p.epoch, p.holders[0]).finally(() => (this.copiesRunning--, this.scanSoon())));
    }
  }

  /** Runs `fn` unless a run with the same key is under way. */
  private once(key: string, fn: () => Promise<unknown>): void {
    if (this.busy.has(key)) return;
    this.busy.add(key);
    void fn()
      .catch((err: Error) => this.o.log.warn('cache partition step failed, trying again', { step: key.split(':')[0], error: err.message }))
      .finally(() => this.busy.delete(key));
  }

  private async takeOver(cache: string, id: string): Promise<void> {
    const p = this.dir.get(cache, id);
    if (!p || p.placement.holders[0] !== this.o.workerId) return;
    const t = Date.now();
    if (await takeOver(this.ctx, cache, id, p.placement)) {
      this.o.log.debug('took over a cache partition', { cache, id, epoch: p.placement.epoch, ms: Date.now() - t });
      await this.clearPrev(cache, id, p.placement.epoch);
    }
  }

  /** The take-over is done: the earlier holders may drop their copies. */
  private async clearPrev(cache: string, id: string, epoch: number): Promise<void> {
    const p = this.dir.get(cache, id);
    if (!p || p.placement.epoch !== epoch || !p.placement.prev) return;
    const { prev: _prev, ...rest } = p.placement;
    const key = this.o.keys.partition(cache, id);
    await this.ctx.batcher.run({ compare: [{ key, target: 'mod', op: '==', value: p.modRevision }], success: [{ type: 'put', key, value: JSON.stringify(rest) }] });
  }

  /** Copies a partition from its owner as a learner, then reports caught up. */
  private async learn(cache: string, id: string, epoch: number, owner: string): Promise<void> {
    const mine = this.copies.beginCopy(cache, id, epoch);
    const snap = snapshotOf(await this.ctx.call(owner, { op: 'snapshot', cache, id, meta: { epoch, learner: this.o.workerId } }, 60_000).catch(() => reply(503)));
    if (this.copies.state(cache, id) !== mine) return;
    if (!snap) return this.copies.drop(cache, id);
    try {
      // Writes forwarded while it copied that do not follow the copy without a gap: copy again, never report ready.
      if (!this.copies.install(cache, id, snap, epoch)) return this.copies.drop(cache, id);
    } catch (err) {
      this.copies.drop(cache, id);
      throw err;
    }
    metrics.cacheCopies.inc();
    const r = await this.ctx.call(owner, { op: 'ready', cache, id, meta: { epoch, learner: this.o.workerId } }).catch(() => reply(503));
    this.readyAnswered(cache, id, r.status);
  }

  /** The owner's answer to a learner's "ready": refused (a forward failed since, another owner), it copies again — unless it is a holder by now. */
  private readyAnswered(cache: string, id: string, status: number): void {
    const s = this.copies.state(cache, id);
    if (status === 200 || status === 503 || !s || this.dir.get(cache, id)?.placement.holders.includes(this.o.workerId)) return;
    s.synced = -1;
  }

  /** Answers a peer (or a client routed here). */
  async handle(req: PeerRequest): Promise<PeerReply> {
    if (this.stopped) return reply(503, { error: 'stopping' });
    const { cache, id, meta: m } = req;
    const body = req.body ?? Buffer.alloc(0);
    const bad = invalid(req);
    if (bad) return reply(400, { error: 'invalid', message: bad });
    // An epoch this worker has not seen placed is waited for a moment (its watch may lag), never taken on trust: a
    // made-up epoch would fence the partition's real owner.
    if (typeof m.epoch === 'number' && !(await this.epochKnown(cache, id, m.epoch))) return reply(503, { error: 'unknown_epoch', message: `epoch ${m.epoch} of ${cache}/${id} is not (yet) placed` });
    switch (req.op) {
      case 'set':
      case 'append':
        return this.owner.write(cache, id, req.op, body, typeof m.writeId === 'string' && m.writeId ? m.writeId : randomUUID());
      case 'get':
        return this.owner.get(cache, id);
      case 'write':
        return this.replicaWrite(cache, id, Number(m.epoch), Number(m.seq), m.op === 'set' ? 'set' : 'append', body, String(m.writeId));
      case 'prepare':
        return this.prepare(cache, id, Number(m.epoch));
      case 'sync':
        return this.sync(cache, id, Number(m.epoch), m.from === undefined ? undefined : String(m.from), m.same as { synced: number; seq: number } | undefined);
      case 'snapshot': {
        if (m.learner !== undefined && !this.owner.addLearner(cache, id, Number(m.epoch), String(m.learner))) return reply(503, { error: 'not_serving' });
        const snap = this.copies.snapshot(cache, id);
        if (!snap) return reply(404, { error: 'no_copy' });
        const r = snapshotReply(snap);
        return reply(200, r.meta, r.body);
      }
      case 'digest': {
        // What this worker's copy holds, for checks: its place in the history and a checksum.
        const s = this.copies.state(cache, id);
        const value = s && !s.copying ? this.copies.data.get(cache, id) : undefined;
        if (!s || !value) return reply(404, { error: 'no_copy' });
        return reply(200, { seq: s.seq, synced: s.synced, length: value.length, sha256: createHash('sha256').update(value).digest('hex') });
      }
      case 'ready':
        return this.owner.learnerReady(cache, id, Number(m.epoch), String(m.learner)) ? reply(200) : reply(409, { error: 'recopy' });
    }
  }

  /** Whether `epoch` has been placed for the partition (waiting up to a second for this worker's view to show it). */
  private async epochKnown(cache: string, id: string, epoch: number): Promise<boolean> {
    const seen = () => this.dir.get(cache, id)?.placement.epoch ?? -1;
    if (seen() >= epoch) return true;
    // Not in the view yet: the store itself (quicker than the watch on a busy node), then the watch for a second.
    if (((await this.dir.fetch(cache, id))?.placement.epoch ?? -1) >= epoch) return true;
    const until = Date.now() + 1000;
    while (Date.now() < until && seen() < epoch) await this.dir.changed(cache, id, seen(), until - Date.now());
    return seen() >= epoch;
  }

  /** A write forwarded by the owner of `epoch`. */
  private replicaWrite(cache: string, id: string, epoch: number, seq: number, op: WriteOp, data: Buffer, writeId: string): PeerReply {
    const s = this.copies.state(cache, id);
    if (!s) return reply(409, { error: 'sync' });
    if (epoch < s.promised) return reply(409, { error: 'stale' });
    if (s.copying) return (s.copying.push({ seq, op, data, writeId }), reply(200));
    if (s.synced !== epoch || seq > s.seq + 1) return reply(409, { error: 'sync' });
    // A write sent again is answered; a different write under a number this copy used (a write taken back) is not.
    if (seq <= s.seq) return this.copies.seen(cache, id, writeId) !== undefined ? reply(200) : reply(409, { error: 'sync' });
    try {
      this.copies.apply(cache, id, op, data, writeId);
      return reply(200);
    } catch (err) {
      if (err instanceof OverBudgetError) return overBudget(this.o.workerId, err);
      throw err;
    }
  }

  /** Promises `epoch` and says where this copy stands. */
  private prepare(cache: string, id: string, epoch: number): PeerReply {
    const s = this.copies.state(cache, id);
    if (!s || s.copying) return reply(200, { synced: -1, seq: -1 });
    if (s.promised > epoch) return reply(409, { error: 'stale' });
    s.promised = epoch;
    return reply(200, { synced: s.synced, seq: s.seq });
  }

  /** Brought in line at `epoch` by its owner: confirmed as it stands (`same`), or by taking the copy of `from`. */
  private async sync(cache: string, id: string, epoch: number, from: string | undefined, same: { synced: number; seq: number } | undefined): Promise<PeerReply> {
    const s = this.copies.state(cache, id);
    if (s && s.promised > epoch) return reply(409, { error: 'stale' });
    if (same) {
      if (!s || s.copying || s.synced !== same.synced || s.seq !== same.seq) return reply(409, { error: 'differs' });
      s.synced = s.promised = epoch;
      return reply(200);
    }
    if (!from) return reply(400, { error: 'invalid', message: 'sync needs from or same' });
    const snap = await pullSnapshot(this.ctx, from, cache, id, { epoch });
    if (!snap) return reply(503, { error: 'unreachable' });
    if ((this.copies.state(cache, id)?.promised ?? -1) > epoch) return reply(409, { error: 'stale' });
    try {
      this.copies.install(cache, id, snap, epoch);
    } catch (err) {
      if (err instanceof OverBudgetError) return overBudget(this.o.workerId, err);
      throw err;
    }
    return reply(200);
  }
}

