// A real store with faults injected at its boundary, for what a live etcd cannot be made to do on
// cue: answer one grant late, stop answering keepalives, hand out a watch that silently delivers
// nothing. Every call still reaches the real store underneath.
import { UnavailableError, type DeleteOptions, KeyValue, LeaseId, PutOptions, RangeOptions, Store, TxnRequest, Watch, WatchOptions } from '../../src/store/index.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Faults a test can switch on and off. */
export interface Faults {
  /** The next grants' answers are held back this long (the grant itself happens late, as on a frozen etcd). */
  grantDelayMs?: number;
  /** How many grants get the delay (default: every one while set). */
  delayedGrants?: number;
  /** Keepalives hang (never answer) while set. */
  keepAliveHangs?: boolean;
  /** Watches opened while set deliver no event at all (a stuck stream that never says so). */
  deafWatches?: boolean;
  /** The next this many watches fail the moment they are registered (the error comes before `ready` settles). */
  failingWatches?: number;
}

/** `inner` with `faults` applied. */
export function faultyStore(inner: Store, faults: Faults): Store {
  return {
    kind: inner.kind,
    get: (key: string, o?: { revision?: number }): Promise<KeyValue | null> => inner.get(key, o),
    range: (key: string, o?: RangeOptions) => inner.range(key, o),
    put: (key: string, value: string, o?: PutOptions) => inner.put(key, value, o),
    delete: (key: string, o?: DeleteOptions) => inner.delete(key, o),
    txn: (r: TxnRequest) => inner.txn(r),
    grantLease: async (ttl: number) => {
      if (faults.grantDelayMs && (faults.delayedGrants ?? 1) > 0) {
        if (faults.delayedGrants !== undefined) faults.delayedGrants--;
        await sleep(faults.grantDelayMs);
      }
      return inner.grantLease(ttl);
    },
    keepAliveOnce: async (id: LeaseId) => {
      if (faults.keepAliveHangs) await new Promise(() => undefined);
      return inner.keepAliveOnce(id);
    },
    revokeLease: (id: LeaseId) => inner.revokeLease(id),
    leaseTimeToLive: (id: LeaseId, o?: { keys?: boolean }) => inner.leaseTimeToLive(id, o),
    watch: (key: string, o?: WatchOptions): Watch => {
      const w = inner.watch(key, o);
      if (faults.deafWatches) {
        const emit = w.emit.bind(w) as (event: string, ...args: unknown[]) => boolean;
        w.emit = ((event: string, ...args: unknown[]) => (event === 'events' ? false : emit(event, ...args))) as typeof w.emit;
      }
      if ((faults.failingWatches ?? 0) > 0) {
        faults.failingWatches!--;
        const ready = w.ready.then(async () => {
          await w.close();
          w.emit('error', new UnavailableError('injected: the watch failed as it was registered'));
        });
        Object.defineProperty(w, 'ready', { value: ready });
      }
      return w;
    },
    compact: (rev: number) => inner.compact(rev),
    close: async () => undefined,
  };
}
