// A real store that writes down what one component asks of it: every key it reads (and how), every
// watch it opens, and every event those watches deliver. For tests of who follows what; every call
// still goes to the real store underneath.
import type { DeleteOptions, KeyValue, LeaseId, PutOptions, RangeOptions, Store, TxnRequest, Watch, WatchOptions } from '../../src/store/index.js';

export interface Trace {
  /** Reads: key and whether it was a prefix or a range. */
  reads: Array<{ key: string; prefix: boolean; end?: string }>;
  /** Watches opened: key and whether on a prefix. */
  watches: Array<{ key: string; prefix: boolean }>;
  /** Keys of the events delivered to this component's watches. */
  events: string[];
  /** Keys that reads returned. */
  returned: string[];
}

/** `inner`, traced into the returned trace. */
export function tracedStore(inner: Store): { store: Store; trace: Trace } {
  const trace: Trace = { reads: [], watches: [], events: [], returned: [] };
  const got = (kvs: KeyValue[]) => kvs.forEach((kv) => trace.returned.push(kv.key));
  const read = (key: string, o?: { prefix?: boolean; end?: string }) => trace.reads.push({ key, prefix: o?.prefix ?? false, end: o?.end });
  const store: Store = {
    kind: inner.kind,
    get: (key: string, o?: { revision?: number }): Promise<KeyValue | null> => (read(key), inner.get(key, o)),
    range: async (key: string, o?: RangeOptions) => {
      read(key, o);
      const r = await inner.range(key, o);
      got(r.kvs);
      return r;
    },
    put: (key: string, value: string, o?: PutOptions) => inner.put(key, value, o),
    delete: (key: string, o?: DeleteOptions) => inner.delete(key, o),
    txn: (r: TxnRequest) => {
      for (const op of [...(r.success ?? []), ...(r.failure ?? [])]) if (op.type === 'range') read(op.key, op);
      return inner.txn(r);
    },
    grantLease: (ttl: number) => inner.grantLease(ttl),
    keepAliveOnce: (id: LeaseId) => inner.keepAliveOnce(id),
    revokeLease: (id: LeaseId) => inner.revokeLease(id),
    leaseTimeToLive: (id: LeaseId, o?: { keys?: boolean }) => inner.leaseTimeToLive(id, o),
    watch: (key: string, o?: WatchOptions): Watch => {
      trace.watches.push({ key, prefix: o?.prefix ?? false });
      const w = inner.watch(key, o);
      w.on('events', (b) => b.events.forEach((e) => trace.events.push(e.kv.key)));
      return w;
    },
    compact: (rev: number) => inner.compact(rev),
    close: async () => undefined,
  };
  return { store, trace };
}
