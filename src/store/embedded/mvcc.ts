// In-memory multi-version key space with one global revision: the embedded store's core.
// Synchronous and I/O-free; EmbeddedStore adds leases, watches and the write-ahead log around it.
import { CompactedError, FutureRevisionError, InvalidRequestError, LeaseNotFoundError } from '../errors.js';
import { NO_LEASE } from '../types.js';
import type {
  Compare,
  KeySelector,
  KeyValue,
  RangeOptions,
  RangeResult,
  TxnOp,
  TxnOpResult,
  TxnRequest,
  TxnResult,
  WatchEvent,
} from '../types.js';
import { compareKeys, inSelection, SortedKeys } from './sorted-keys.js';

/** One revision of one key; kv null marks a delete (tombstone). */
interface Version {
  rev: number;
  kv: KeyValue | null;
}

/** Every event of one revision, as watches replay them. */
export interface Change {
  revision: number;
  events: WatchEvent[];
}

/** What the key space needs to know about leases. */
export interface LeaseIndex {
  has(id: string): boolean;
  attach(id: string, key: string): void;
  detach(id: string, key: string): void;
}

/** Limits shared with etcd so code tested on the embedded store also runs on etcd. */
export interface Limits {
  maxTxnOps: number;
  maxRequestBytes: number;
}

/** Multi-version key space. */
export class Mvcc {
  revision = 0;
  compactRevision = 0;
  /** Changes with revision > compactRevision, in order, for watches from a past revision. */
  readonly changes: Change[] = [];
  private readonly versions = new Map<string, Version[]>();
  private readonly sorted = new SortedKeys();

  constructor(
    private readonly leases: LeaseIndex,
    private readonly limits: Limits,
  ) {}

  /** Current value of `key`, or undefined. */
  current(key: string): KeyValue | undefined {
    const history = this.versions.get(key);
    return history?.[history.length - 1].kv ?? undefined;
  }

  range(key: string, options: RangeOptions = {}): RangeResult {
    const at = options.revision && options.revision > 0 ? options.revision : this.revision;
    if (at > this.revision) throw new FutureRevisionError(at, this.revision);
    if (at < this.compactRevision) throw new CompactedError(this.compactRevision, at);
    return { ...this.read(key, options, at), revision: this.revision };
  }

  /** Reads at revision `at`, which a transaction sets one past the current one to see its own writes. */
  private read(key: string, options: RangeOptions, at: number): Omit<RangeResult, 'revision'> {
    const limit = options.limit ?? 0;
    // Unsorted pages keep only their first `limit` keys and count the rest: a paged list then
    // allocates per page, not per key left in the range.
    const keep = options.countOnly ? 0 : options.sort || limit <= 0 ? Infinity : limit;
    const selected = this.select(key, options, at, keep);
    const count = selected.count;
    let kvs = selected.kvs;
    if (options.countOnly) return { kvs: [], count, more: false };
    if (options.sort) kvs = sortKvs(kvs, options.sort.target, options.sort.order);
    const more = limit > 0 && count > limit;
    if (kvs.length > limit && limit > 0) kvs = kvs.slice(0, limit);
    if (options.keysOnly) kvs = kvs.map((kv) => ({ ...kv, value: '' }));
    return { kvs, count, more };
  }

  /** Runs a transaction atomically; returns its result and the change it made (if any). */
  txn(request: TxnRequest, internal = false): { result: TxnResult; change?: Change } {
    const success = request.success ?? [];
    const failure = request.failure ?? [];
    if (!internal) this.validate(request.compare ?? [], success, failure);
    const succeeded = (request.compare ?? []).every((c) => this.holds(c));
    const ops = succeeded ? success : failure;
    for (const op of ops) {
      if (op.type === 'put' && op.lease && op.lease !== NO_LEASE && !this.leases.has(op.lease)) {
        throw new LeaseNotFoundError(op.lease);
      }
    }
    // Writes are staged at the next revision; it only becomes current if something changed (as in etcd).
    const rev = this.revision + 1;
    const events: WatchEvent[] = [];
    const results: TxnOpResult[] = [];
    for (const op of ops) {
      if (op.type === 'range') {
        results.push({ type: 'range', ...this.read(op.key, op, rev) });
      } else if (op.type === 'put') {
        const prev = this.current(op.key);
        const kv: KeyValue = {
          key: op.key,
          value: op.value,
          createRevision: prev ? prev.createRevision : rev,
          modRevision: rev,
          version: prev ? prev.version + 1 : 1,
          lease: op.lease ?? NO_LEASE,
        };
        this.record(op.key, rev, kv, prev);
        events.push({ type: 'put', kv, prev });
        results.push(op.prevKv && prev ? { type: 'put', prev } : { type: 'put' });
      } else {
        const gone = this.select(op.key, op, rev).kvs;
        for (const prev of gone) {
          this.record(prev.key, rev, null, prev);
          events.push({ type: 'delete', kv: tombstone(prev.key, rev), prev });
        }
        results.push({ type: 'delete', deleted: gone.length, prev: op.prevKv ? gone : [] });
      }
    }
    if (events.length === 0) return { result: { succeeded, revision: this.revision, results } };
    this.revision = rev;
    const change = { revision: rev, events };
    this.changes.push(change);
    return { result: { succeeded, revision: rev, results }, change };
  }

  /** Drops history older than `revision`. */
  compact(revision: number): void {
    if (revision > this.revision) throw new FutureRevisionError(revision, this.revision);
    if (revision <= this.compactRevision) throw new CompactedError(this.compactRevision, revision);
    for (const [key, history] of this.versions) {
      let keep = history.length - 1;
      while (keep > 0 && history[keep].rev > revision) keep--;
      if (history[keep].rev > revision) continue;
      const drop = history[keep].kv === null ? keep + 1 : keep;
      if (drop > 0) history.splice(0, drop);
      if (history.length === 0) {
        this.versions.delete(key);
        this.sorted.delete(key);
      }
    }
    let n = 0;
    while (n < this.changes.length && this.changes[n].revision <= revision) n++;
    this.changes.splice(0, n);
    this.compactRevision = revision;
  }

  /** Changes with revision >= from (from must be > compactRevision). */
  changesSince(from: number): Change[] {
    if (from <= this.compactRevision) throw new CompactedError(this.compactRevision, from);
    let lo = 0;
    let hi = this.changes.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.changes[mid].revision < from) lo = mid + 1;
      else hi = mid;
    }
    return this.changes.slice(lo);
  }

  /** Sets a key as a snapshot or log replay recorded it (kv null: absent), at open time. */
  restore(key: string, kv: KeyValue | null, rev: number): void {
    this.revision = Math.max(this.revision, rev);
    if (kv === null) {
      if (this.versions.delete(key)) this.sorted.delete(key);
      return;
    }
    this.sorted.add(key);
    this.versions.set(key, [{ rev, kv }]);
  }

  /** Every live key-value (for snapshots). */
  *live(): Generator<KeyValue> {
    for (const key of this.sorted.from('')) {
      const kv = this.current(key);
      if (kv) yield kv;
    }
  }

  private record(key: string, rev: number, kv: KeyValue | null, prev: KeyValue | undefined): void {
    if (prev && prev.lease !== NO_LEASE) this.leases.detach(prev.lease, key);
    if (kv && kv.lease !== NO_LEASE) this.leases.attach(kv.lease, key);
    let history = this.versions.get(key);
    if (!history) {
      history = [];
      this.versions.set(key, history);
      this.sorted.add(key);
    }
    history.push({ rev, kv });
  }

  /** The first `keep` live key-values matching the selector at revision `at`, in key order, and how many match. */
  private select(key: string, sel: KeySelector, at: number, keep = Infinity): { kvs: KeyValue[]; count: number } {
    const out: KeyValue[] = [];
    if (!sel.prefix && sel.end === undefined) {
      const kv = this.at(key, at);
      if (kv && keep > 0) out.push(kv);
      return { kvs: out, count: kv ? 1 : 0 };
    }
    // An empty end ('\0' in etcd terms) means "to the end of the key space".
    const stop = sel.prefix
      ? (k: string) => !k.startsWith(key)
      : (k: string) => sel.end !== '' && compareKeys(k, sel.end!) >= 0;
    let count = 0;
    for (const k of this.sorted.from(key)) {
      if (stop(k)) break;
      const kv = this.at(k, at);
      if (!kv) continue;
      if (count++ < keep) out.push(kv);
    }
    return { kvs: out, count };
  }

  private at(key: string, rev: number): KeyValue | null {
    const history = this.versions.get(key);
    if (!history) return null;
    for (let i = history.length - 1; i >= 0; i--) if (history[i].rev <= rev) return history[i].kv;
    return null;
  }

  private holds(c: Compare): boolean {
    const kv = this.current(c.key);
    if (c.target === 'value') return kv !== undefined && compare(kv.value, c.value, c.op);
    if (c.target === 'lease') return compare(BigInt(kv?.lease ?? NO_LEASE), BigInt(c.value), c.op);
    const actual = !kv ? 0 : c.target === 'version' ? kv.version : c.target === 'create' ? kv.createRevision : kv.modRevision;
    return compare(actual, c.value, c.op);
  }

  private validate(compares: Compare[], success: TxnOp[], failure: TxnOp[]): void {
    const ops = Math.max(success.length, failure.length);
    if (ops > this.limits.maxTxnOps || compares.length > this.limits.maxTxnOps) {
      throw new InvalidRequestError(`too many operations in txn request (limit ${this.limits.maxTxnOps})`);
    }
    let bytes = 0;
    for (const c of compares) bytes += c.key.length + (c.target === 'value' ? c.value.length : 8);
    for (const branch of [success, failure]) {
      const puts = new Set<string>();
      for (const op of branch) {
        bytes += Buffer.byteLength(op.key) + (op.type === 'put' ? Buffer.byteLength(op.value) : 0);
        if (op.type !== 'put') continue;
        if (puts.has(op.key)) throw new InvalidRequestError(`duplicate key given in txn request: ${op.key}`);
        puts.add(op.key);
      }
      for (const op of branch) {
        if (op.type !== 'delete') continue;
        for (const k of puts) {
          if (inSelection(k, op.key, op)) throw new InvalidRequestError(`duplicate key given in txn request: ${k}`);
        }
      }
    }
    if (bytes > this.limits.maxRequestBytes) {
      throw new InvalidRequestError(`request is too large (${bytes} bytes, limit ${this.limits.maxRequestBytes})`);
    }
  }
}

function compare<T extends string | number | bigint>(a: T, b: T, op: Compare['op']): boolean {
  if (typeof a === 'string' && typeof b === 'string') {
    const c = compareKeys(a, b);
    return op === '==' ? c === 0 : op === '!=' ? c !== 0 : op === '<' ? c < 0 : c > 0;
  }
  return op === '==' ? a === b : op === '!=' ? a !== b : op === '<' ? a < b : a > b;
}

function tombstone(key: string, rev: number): KeyValue {
  return { key, value: '', createRevision: 0, modRevision: rev, version: 0, lease: NO_LEASE };
}

function sortKvs(kvs: KeyValue[], target: string, order: 'asc' | 'desc'): KeyValue[] {
  const pick = (kv: KeyValue): string | number =>
    target === 'key' ? kv.key : target === 'value' ? kv.value : target === 'version' ? kv.version
      : target === 'create' ? kv.createRevision : kv.modRevision;
  const sign = order === 'desc' ? -1 : 1;
  return [...kvs].sort((a, b) => {
    const x = pick(a);
    const y = pick(b);
    const c = typeof x === 'string' ? compareKeys(x, y as string) : x - (y as number);
    return sign * (c !== 0 ? c : compareKeys(a.key, b.key));
  });
}
