// Fault injection around a real store: a write that commits and whose answer is lost, so it is sent
// again — what the etcd adapter does when an attempt's deadline passes after etcd committed it.
// Every write (txn, put, delete) through the wrapper runs on the real store, then `between` runs
// (another client's writes may land in the gap, as they can in reality), then the same request is
// sent once more and only that second answer is returned.
import type { DeleteOptions, DeleteResult, PutOptions, PutResult, Store, TxnRequest, TxnResult } from '../../src/store/index.js';

export interface LostAnswers {
  /** The wrapped store: use it where a client would use the real one. */
  store: Store;
  /** Writes that were sent twice so far. */
  repeats: number;
  /** Turns the fault on or off (on at first). */
  armed: boolean;
  /** Runs in the gap between the committed first attempt and the retry, given the request. */
  between?: (request: TxnRequest) => Promise<void>;
}

/** Wraps `inner` so every write is delivered twice and answered once. */
export function loseAnswers(inner: Store): LostAnswers {
  const state: LostAnswers = { store: undefined as unknown as Store, repeats: 0, armed: true };
  const twice = async <T>(request: TxnRequest, send: () => Promise<T>): Promise<T> => {
    if (!state.armed) return send();
    await send(); // committed; the answer never arrives
    state.repeats++;
    await state.between?.(request);
    return send(); // the retry
  };
  state.store = new Proxy(inner, {
    get(target, prop, receiver) {
      if (prop === 'txn') return (r: TxnRequest): Promise<TxnResult> => twice(r, () => target.txn(r));
      if (prop === 'put') {
        return (key: string, value: string, o?: PutOptions): Promise<PutResult> => twice({ success: [{ type: 'put', key, value, ...o }] }, () => target.put(key, value, o));
      }
      if (prop === 'delete') return (key: string, o?: DeleteOptions): Promise<DeleteResult> => twice({ success: [{ type: 'delete', key, ...o }] }, () => target.delete(key, o));
      const v = Reflect.get(target, prop, receiver);
      return typeof v === 'function' ? v.bind(target) : v;
    },
  });
  return state;
}
