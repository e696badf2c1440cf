// What the parts of a cache holder share: who it is, its copies, the directory, and calls to peers.
import { setTimeout as sleep } from 'node:timers/promises';
import type { Keys } from '../keys.js';
import type { Logger } from '../log.js';
import type { Store } from '../../store/index.js';
import type { TxnBatcher } from '../txn-batcher.js';
import type { CacheDirectory } from './cache-directory.js';
import type { PeerReply, PeerRequest } from './cache-peers.js';
import type { HeldCopies, Snapshot } from './held-copies.js';

export interface HolderContext {
  self: string;
  store: Store;
  keys: Keys;
  log: Logger;
  copies: HeldCopies;
  dir: CacheDirectory;
  /** Calls a worker's copies (here or over HTTP). */
  call(worker: string, req: PeerRequest, timeoutMs?: number): Promise<PeerReply>;
  /** Its conditional writes to the store (switches, prev cleared), batched: a join switches hundreds of partitions at once. */
  batcher: TxnBatcher;
  /** Whether the holder is still running (loops end when it stops). */
  running(): boolean;
}

/** Waits before try `n` + 1 of a call to a peer: 20 ms, doubling, at most 500 ms. */
export const backoff = (n: number) => sleep(Math.min(500, 20 * 2 ** Math.min(n, 5)));

/** A snapshot as an answer: its chunks as one body (gzip members concatenate), the rest as metadata. */
export function snapshotReply(snap: Snapshot): { meta: Record<string, unknown>; body: Buffer } {
  return { meta: { length: snap.length, seq: snap.seq, synced: snap.synced, recent: snap.recent }, body: Buffer.concat(snap.chunks) };
}

/** A snapshot from an answer (undefined if the answer is not one). */
export function snapshotOf(reply: PeerReply): Snapshot | undefined {
  const m = reply.meta;
  const int = (v: unknown, min: number) => Number.isSafeInteger(v) && (v as number) >= min;
  const recent = (v: unknown) => Array.isArray(v) && v.length <= 64 && v.every((e) => Array.isArray(e) && e.length === 2 && typeof e[0] === 'string' && int(e[1], 0));
  // It comes over the network: every field checked (a NaN epoch installed would wedge the take-over, a bad id list every write).
  if (reply.status !== 200 || !int(m.seq, 0) || !int(m.length, 0) || !int(m.synced, -1) || !recent(m.recent)) return undefined;
  return { chunks: reply.body.length ? [reply.body] : [], length: m.length as number, seq: m.seq as number, synced: m.synced as number, recent: m.recent as Array<[string, number]> };
}

/** Pulls worker `from`'s copy of a partition (as it stood when it answered). */
export async function pullSnapshot(ctx: HolderContext, from: string, cache: string, id: string, meta: Record<string, unknown>): Promise<Snapshot | undefined> {
  const r = await ctx.call(from, { op: 'snapshot', cache, id, meta }, 60_000);
  return snapshotOf(r);
}
