// Values decoded once per version: views replace a key-value object when its key changes, so the
// object identifies the version, and a planning round reads the same records many times.
import type { KeyValue } from '../store/index.js';
import { decodeSpec, type WorkSpec } from './model.js';

/** `decode`, remembered per key-value object. */
export function decodedOnce<T>(decode: (value: string) => T): (kv: KeyValue) => T {
  const cache = new WeakMap<KeyValue, { v: T }>();
  return (kv) => {
    let hit = cache.get(kv);
    if (!hit) cache.set(kv, (hit = { v: decode(kv.value) }));
    return hit.v;
  };
}

const specOfKv = decodedOnce(decodeSpec);

/** An item's spec from its specs/ key (the default spec when it has none), decoded once per version. */
export function specOf(kv: KeyValue | undefined): WorkSpec {
  return kv ? specOfKv(kv) : decodeSpec(undefined);
}
