// The copies of cache partitions one worker holds: their bytes (PartitionData) and, per copy, where
// it stands in its partition's history — the writes applied (seq, counted across epochs), the epoch
// at which it was last brought in line with its owner (synced), the highest epoch it has promised
// (a prepare: writes of older epochs are refused from then on), and the ids of its latest writes (a
// client's retry of a write that landed is answered, not applied twice).
//
// A copy synced at epoch E holds its owner's writes of E in order, so two copies with the same
// (synced, seq) are equal, and of two copies the one with the higher (synced, seq) holds the other's
// acknowledged writes (a write is acknowledged only once every holder of its epoch has it).
import { PartitionData } from './partition-data.js';

/** Where a copy stands. */
export interface CopyState {
  seq: number;
  synced: number;
  promised: number;
  /** Latest write ids and the length each left, oldest first. */
  recent: Array<[string, number]>;
  /** A learner receiving its first copy: writes forwarded meanwhile wait here. */
  copying?: Array<{ seq: number; op: WriteOp; data: Buffer; writeId: string }>;
}

/** A write to a partition. */
export type WriteOp = 'set' | 'append';

/** A copy as it travels between workers. */
export interface Snapshot {
  chunks: Buffer[];
  length: number;
  seq: number;
  synced: number;
  recent: Array<[string, number]>;
}

/** Write ids remembered per copy: far more than a client has in flight on one id. */
const RECENT = 64;
/** The state reported for a copy a worker does not hold. */
export const NO_COPY = { seq: -1, synced: -1 } as const;

/** Every partition copy of one worker. */
export class HeldCopies {
  private readonly states = new Map<string, CopyState>();

  constructor(readonly data: PartitionData) {}

  private static key(cache: string, id: string): string {
    return `${cache}\0${id}`;
  }

  /** The copy's state, if this worker holds (or is receiving) one. */
  state(cache: string, id: string): CopyState | undefined {
    return this.states.get(HeldCopies.key(cache, id));
  }

  /** Every copy held: [cache, id]. */
  list(): Array<[string, string]> {
    return [...this.states.keys()].map((k) => k.split('\0') as [string, string]);
  }

  /** Starts receiving a copy (a learner): forwarded writes are kept until install(). */
  beginCopy(cache: string, id: string, epoch: number): CopyState {
    const s: CopyState = { seq: -1, synced: -1, promised: epoch, recent: [], copying: [] };
    this.states.set(HeldCopies.key(cache, id), s);
    return s;
  }

  /** A new, empty copy synced at `epoch` (a partition that never held data). */
  createEmpty(cache: string, id: string, epoch: number): void {
    this.install(cache, id, { chunks: [], length: 0, seq: 0, synced: epoch, recent: [] }, epoch);
  }

  /** The length a write with this id left, if it landed here. */
  seen(cache: string, id: string, writeId: string): number | undefined {
    return this.state(cache, id)?.recent.find(([w]) => w === writeId)?.[1];
  }

  /** Applies write number `seq + 1`; returns the new length. Throws OverBudgetError before changing anything. */
  apply(cache: string, id: string, op: WriteOp, data: Buffer, writeId: string): number {
    const s = this.state(cache, id);
    if (!s) throw new Error(`no copy of ${cache}/${id} here`);
    const length = op === 'set' ? (this.data.set(cache, id, data), data.length) : this.data.append(cache, id, data);
    s.seq++;
    s.recent.push([writeId, length]);
    if (s.recent.length > RECENT) s.recent.shift();
    return length;
  }

  /** The copy as it stands (its chunks are shared, never changed in place). */
  snapshot(cache: string, id: string): Snapshot | undefined {
    const s = this.state(cache, id);
    const raw = this.data.raw(cache, id);
    if (!s || s.copying || !raw) return undefined;
    return { chunks: raw.chunks, length: raw.length, seq: s.seq, synced: s.synced, recent: [...s.recent] };
  }

  /** Replaces the copy with `snap`, synced at `epoch`; writes kept while copying that follow it are applied. False if they left a gap (the copy is behind them). */
  install(cache: string, id: string, snap: Snapshot, epoch: number): boolean {
    const key = HeldCopies.key(cache, id);
    const waiting = this.states.get(key)?.copying ?? [];
    this.data.load(cache, id, snap.chunks, snap.length);
    const s: CopyState = { seq: snap.seq, synced: epoch, promised: Math.max(epoch, this.states.get(key)?.promised ?? 0), recent: [...snap.recent] };
    this.states.set(key, s);
    for (const w of waiting.sort((a, b) => a.seq - b.seq)) {
      if (w.seq <= s.seq) continue;
      // A gap (forwards arrive in any order): writes already answered are missing from this copy.
      if (w.seq !== s.seq + 1) return false;
      this.apply(cache, id, w.op, w.data, w.writeId);
    }
    return true;
  }

  /** The copy as it stands, cheaply, to take a write back with restore() (nothing compressed). */
  capture(cache: string, id: string): { data: unknown; seq: number; recent: Array<[string, number]> } | undefined {
    const s = this.state(cache, id);
    return s && { data: this.data.capture(cache, id), seq: s.seq, recent: [...s.recent] };
  }

  /** Takes back a write that failed elsewhere: the copy becomes what capture() saw. */
  restore(cache: string, id: string, before: NonNullable<ReturnType<HeldCopies['capture']>>): void {
    const s = this.state(cache, id);
    if (!s) return;
    this.data.putBack(cache, id, before.data);
    s.seq = before.seq;
    s.recent = before.recent;
  }

  /** Forgets the copy. */
  drop(cache: string, id: string): void {
    this.states.delete(HeldCopies.key(cache, id));
    this.data.delete(cache, id);
  }
}
