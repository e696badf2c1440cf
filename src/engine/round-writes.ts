// A planning round's writes: its puts and deletes in transactions within etcd's limits (128
// operations, 1.5 MiB a request), each carrying the leader's fence, a few in flight at once (they
// touch disjoint keys); writes with compares of their own (lost attempts) one by one.
import type { Compare, Store, TxnOp } from '../store/index.js';
import { Limiter } from '../store/limiter.js';
import type { Round } from './plan-round.js';

/** Etcd allows 128 operations per transaction; one compare is the leader's fence. */
const BATCH = 127;
/** Bytes of keys and values per write (etcd takes requests up to 1.5 MiB). */
const BATCH_BYTES = 1024 * 1024;

/** `ops` cut into transactions by count and by size (a task batch may carry its specs). */
export function batchOps(ops: TxnOp[]): TxnOp[][] {
  const batches: TxnOp[][] = [];
  let bytes = 0;
  for (const op of ops) {
    const size = op.key.length + (op.type === 'put' ? op.value.length : 0);
    if (!batches.length || batches[batches.length - 1].length >= BATCH || bytes + size > BATCH_BYTES) (batches.push([]), (bytes = 0));
    batches[batches.length - 1].push(op);
    bytes += size;
  }
  return batches;
}

/** What writing a round came to: the highest revision written, a write refused by the fence, or a failure (unknown outcome). */
export interface RoundWritten {
  revision: number;
  /** Task attempts recorded as lost by the guarded writes that went through. */
  lost: number;
  refused: boolean;
  failed?: Error;
}

/** Writes `round` under `fence`. */
export async function writeRound(store: Store, fence: Compare, round: Pick<Round, 'ops' | 'guarded'>): Promise<RoundWritten> {
  const batches = batchOps(round.ops);
  const limiter = new Limiter(8);
  const writes = [
    ...batches.map((success) => limiter.run(() => store.txn({ compare: [fence], success }))),
    ...round.guarded.map((t) => limiter.run(() => store.txn({ compare: [fence, ...(t.compare ?? [])], success: t.success }))),
  ];
  const settled = await Promise.allSettled(writes);
  const results = settled.flatMap((r) => (r.status === 'fulfilled' ? [r.value] : []));
  const failed = settled.find((r): r is PromiseRejectedResult => r.status === 'rejected');
  const guarded = settled.slice(batches.length);
  return {
    lost: round.guarded.reduce((n, t, i) => n + (guarded[i].status === 'fulfilled' && (guarded[i] as PromiseFulfilledResult<{ succeeded: boolean }>).value.succeeded ? (t.lost ?? 0) : 0), 0),
    revision: Math.max(0, ...results.map((r) => r.revision)),
    refused: settled.slice(0, batches.length).some((r) => r.status === 'fulfilled' && !r.value.succeeded),
    failed: failed ? (failed.reason as Error) : undefined,
  };
}
