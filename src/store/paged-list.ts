// Reading a whole prefix at one revision, in pages, so no single response grows without bound.
import type { KeyValue, Store } from './types.js';

/** The first key after every key that starts with `prefix` ('' = to the end of the key space). */
export function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return '';
}

/** Every key under `prefix` as of one revision (now, or `revision`), read `pageSize` keys at a time. */
export async function listPrefix(store: Store, prefix: string, options: { revision?: number; pageSize?: number } = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
  const pageSize = options.pageSize ?? 1000;
  const first = await store.range(prefix, { prefix: true, limit: pageSize, revision: options.revision });
  const at = options.revision ?? first.revision;
  const kvs = [...first.kvs];
  let more = first.more;
  const end = prefixEnd(prefix);
  while (more) {
    const next = await store.range(`${kvs[kvs.length - 1].key}\0`, { end, limit: pageSize, revision: at });
    kvs.push(...next.kvs);
    more = next.more;
  }
  return { kvs, revision: at };
}
