// Reading a prefix at one revision in pages bounded by count and by size. etcd answers a range
// with every key up to its limit whatever their size, and its gRPC client refuses an answer over
// its receive limit: six values of 900 KB were enough to make an unpaged list fail for good. So
// the count of each read adapts to the sizes seen, aiming at `pageBytes` per read, and to the time
// reads take (a busy etcd serves large pages slowly, past a call's deadline); a read refused as
// too large, or out of time, is retried with a quarter of the count.
import { ResponseTooLargeError, UnavailableError } from './errors.js';
import type { KeyValue, Store } from './types.js';

/** Most keys in one read unless the caller says otherwise. */
export const DEFAULT_PAGE_KEYS = 1000;
/** The size one read aims at (keys and values, in bytes). */
export const DEFAULT_PAGE_BYTES = 1024 * 1024;
/** Keys in the first read, before any size is known: 4 values at etcd's 1.5 MiB limit make 6 MiB. */
const FIRST_READ_KEYS = 4;
/** A read slower than this makes the next one smaller in proportion. */
const SLOW_READ_MS = 300;

/** The first key after every key that starts with `prefix` ('' = to the end of the key space). */
export function prefixEnd(prefix: string): string {
  for (let i = prefix.length - 1; i >= 0; i--) {
    const c = prefix.charCodeAt(i);
    if (c < 0xffff) return prefix.slice(0, i) + String.fromCharCode(c + 1);
  }
  return '';
}

/** Whether a read ran out of time (rather than finding the store gone). */
function isDeadline(err: unknown): boolean {
  return err instanceof UnavailableError && /DEADLINE_EXCEEDED|deadline/i.test(err.message);
}

/** Bytes a key-value takes in an answer (key and value; metadata is small and fixed). */
export function sizeOf(kv: KeyValue): number {
  return Buffer.byteLength(kv.key) + Buffer.byteLength(kv.value);
}

export interface ScanOptions {
  /** Read as of this revision (default: the revision of the first read). */
  revision?: number;
  /** Start after this key (exclusive); it must lie under the prefix. Default: the prefix's start. */
  after?: string;
  /** Or start at this key (inclusive), under the prefix. */
  from?: string;
  /** Stop before this key (exclusive), under the prefix. Default: the prefix's end. */
  end?: string;
  /** Stop after this many keys in all (default: no limit). */
  limit?: number;
  /** Most keys in one read (default 1000). */
  pageSize?: number;
  /** The size one read aims at, in bytes (default 2 MiB); one key larger than this is read alone. */
  pageBytes?: number;
  /** Keys and metadata only, empty values. */
  keysOnly?: boolean;
}

/** One read of a scan. */
export interface ScanPage {
  kvs: KeyValue[];
  /** The revision every page of the scan is read at. */
  revision: number;
  /** Whether keys are left under the prefix after this page (even if `limit` ends the scan here). */
  more: boolean;
}

/**
 * Pages of the keys under `prefix`, in key order, all at one revision. A page holds at most
 * `pageSize` keys and at most `pageBytes` (or a single key larger than that), so memory per page
 * stays bounded whatever the values weigh. Stop iterating to stop reading.
 */
export async function* scanPrefix(store: Store, prefix: string, options: ScanOptions = {}): AsyncGenerator<ScanPage> {
  const maxKeys = Math.max(1, options.pageSize ?? DEFAULT_PAGE_KEYS);
  const target = Math.max(1, options.pageBytes ?? DEFAULT_PAGE_BYTES);
  const end = options.end ?? prefixEnd(prefix);
  let left = options.limit ?? Infinity;
  let from = options.after !== undefined ? `${options.after}\0` : (options.from ?? prefix);
  if (from < prefix) from = prefix;
  let revision = options.revision;
  // Without values, or in process (nothing to overflow; pages are still cut by size), read full pages at once.
  let count = options.keysOnly || store.kind === 'embedded' ? maxKeys : Math.min(maxKeys, FIRST_READ_KEYS);
  while (left > 0) {
    const limit = Math.min(count, left);
    let r;
    const started = performance.now();
    try {
      r = await store.range(from, { end, limit, revision, keysOnly: options.keysOnly });
    } catch (err) {
      if (!(err instanceof ResponseTooLargeError || isDeadline(err)) || limit === 1) throw err;
      count = Math.max(1, Math.floor(limit / 4));
      continue;
    }
    const tookMs = performance.now() - started;
    revision ??= r.revision;
    // A read that overshot (larger values than the last page's) is cut at `target`; the rest is read again.
    let bytes = 0;
    let n = 0;
    while (n < r.kvs.length && (n === 0 || bytes + sizeOf(r.kvs[n]) <= target)) bytes += sizeOf(r.kvs[n++]);
    const kvs = n < r.kvs.length ? r.kvs.slice(0, n) : r.kvs;
    left -= kvs.length;
    const more = r.more || kvs.length < r.kvs.length;
    yield { kvs, revision, more };
    if (!more || left <= 0 || kvs.length === 0) return;
    from = `${kvs[kvs.length - 1].key}\0`;
    // Aim the next read at `target` bytes from the mean size seen in this one, fewer if it was slow.
    const slow = tookMs > SLOW_READ_MS && n > 1 ? SLOW_READ_MS / tookMs : 1;
    count = Math.max(1, Math.min(maxKeys, Math.floor((target * n * slow) / Math.max(1, bytes))));
  }
}

/** Every key under `prefix` as of one revision (now, or `revision`), read in pages bounded by count and size. */
export async function listPrefix(store: Store, prefix: string, options: Omit<ScanOptions, 'after' | 'from' | 'end' | 'limit'> = {}): Promise<{ kvs: KeyValue[]; revision: number }> {
  const kvs: KeyValue[] = [];
  let revision = 0;
  for await (const page of scanPrefix(store, prefix, options)) {
    revision = page.revision; // the first read always yields a page, an empty one included
    for (const kv of page.kvs) kvs.push(kv);
  }
  return { kvs, revision };
}

/** At most `limit` keys after `after`, stopping once they weigh `maxBytes` (at least one key). */
export async function readPage(store: Store, prefix: string, options: ScanOptions & { maxBytes: number }): Promise<ScanPage> {
  const kvs: KeyValue[] = [];
  let bytes = 0;
  let revision = options.revision ?? 0;
  const pageBytes = Math.min(options.pageBytes ?? DEFAULT_PAGE_BYTES, options.maxBytes);
  for await (const page of scanPrefix(store, prefix, { ...options, pageBytes })) {
    revision = page.revision;
    for (let i = 0; i < page.kvs.length; i++) {
      const kv = page.kvs[i];
      if (kvs.length > 0 && bytes + sizeOf(kv) > options.maxBytes) return { kvs, revision, more: true };
      kvs.push(kv);
      bytes += sizeOf(kv);
    }
    if (!page.more || kvs.length === options.limit) return { kvs, revision, more: page.more };
  }
  return { kvs, revision, more: false };
}
