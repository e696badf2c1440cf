// Translation between the store contract and etcd's gRPC messages (as the etcd3 client decodes them).
import * as etcd3 from 'etcd3';
import {
  CompactedError,
  FutureRevisionError,
  InvalidRequestError,
  LeaseNotFoundError,
  PermissionDeniedError,
  ResponseTooLargeError,
  StoreClosedError,
  StoreError,
  UnavailableError,
} from '../errors.js';
import type { Compare, KeySelector, KeyValue, RangeOptions, SortTarget, TxnOp, TxnOpResult } from '../types.js';

/** A key-value as etcd3 decodes it (int64 fields as decimal strings). */
export interface RawKv {
  key: Buffer;
  value: Buffer;
  create_revision: string;
  mod_revision: string;
  version: string;
  lease: string;
}

const ZERO = Buffer.from([0]);

/** The contract's key-value from etcd's. */
export function fromRawKv(raw: RawKv): KeyValue {
  return {
    key: raw.key.toString('utf8'),
    value: raw.value.toString('utf8'),
    createRevision: Number(raw.create_revision),
    modRevision: Number(raw.mod_revision),
    version: Number(raw.version),
    lease: raw.lease,
  };
}

/** etcd's [key, range_end) for a contract selector. */
export function toRange(key: string, selector: KeySelector): { key: Buffer; range_end?: Buffer } {
  const start = Buffer.from(key, 'utf8');
  if (selector.prefix) {
    if (start.length === 0) return { key: ZERO, range_end: ZERO };
    return { key: start, range_end: prefixEnd(start) };
  }
  if (selector.end !== undefined) {
    return { key: start.length === 0 ? ZERO : start, range_end: selector.end === '' ? ZERO : Buffer.from(selector.end, 'utf8') };
  }
  return { key: start };
}

/** The first key after every key that starts with `prefix` ("\0" = to the end). */
function prefixEnd(prefix: Buffer): Buffer {
  const end = Buffer.from(prefix);
  for (let i = end.length - 1; i >= 0; i--) {
    if (end[i] < 0xff) {
      end[i]++;
      return end.subarray(0, i + 1);
    }
  }
  return ZERO;
}

const SORT_TARGET: Record<SortTarget, number> = { key: 0, version: 1, create: 2, mod: 3, value: 4 };
const COMPARE_RESULT = { '==': 0, '>': 1, '<': 2, '!=': 3 } as const;
const COMPARE_TARGET = { version: 0, create: 1, mod: 2, value: 3, lease: 4 } as const;

/** etcd's RangeRequest for a contract range. */
export function toRangeRequest(key: string, options: RangeOptions) {
  return {
    ...toRange(key, options),
    limit: options.limit ?? 0,
    revision: options.revision ?? 0,
    sort_order: options.sort ? (options.sort.order === 'asc' ? 1 : 2) : 0,
    sort_target: options.sort ? SORT_TARGET[options.sort.target] : 0,
    keys_only: options.keysOnly ?? false,
    count_only: options.countOnly ?? false,
  };
}

/** etcd's Compare for a contract compare. */
export function toCompare(c: Compare) {
  const base = { key: Buffer.from(c.key, 'utf8'), result: COMPARE_RESULT[c.op], target: COMPARE_TARGET[c.target] };
  switch (c.target) {
    case 'value':
      return { ...base, value: Buffer.from(c.value, 'utf8') };
    case 'version':
      return { ...base, version: c.value };
    case 'create':
      return { ...base, create_revision: c.value };
    case 'mod':
      return { ...base, mod_revision: c.value };
    case 'lease':
      return { ...base, lease: c.value };
  }
}

/** etcd's RequestOp for a contract transaction operation. */
export function toRequestOp(op: TxnOp) {
  if (op.type === 'put') {
    return {
      request_put: { key: Buffer.from(op.key, 'utf8'), value: Buffer.from(op.value, 'utf8'), lease: op.lease ?? '0', prev_kv: op.prevKv ?? false },
    };
  }
  if (op.type === 'delete') return { request_delete_range: { ...toRange(op.key, op), prev_kv: op.prevKv ?? false } };
  return { request_range: toRangeRequest(op.key, op) };
}

/** A contract result from etcd's ResponseOp. */
// eslint-disable-next-line @typescript-eslint/no-explicit-any
export function fromResponseOp(res: any): TxnOpResult {
  if (res.response === 'response_put' || (res.response === undefined && res.response_put)) {
    const prev = res.response_put.prev_kv;
    return prev ? { type: 'put', prev: fromRawKv(prev) } : { type: 'put' };
  }
  if (res.response === 'response_delete_range' || (res.response === undefined && res.response_delete_range)) {
    const d = res.response_delete_range;
    return { type: 'delete', deleted: Number(d.deleted), prev: (d.prev_kvs ?? []).map(fromRawKv) };
  }
  const r = res.response_range;
  return { type: 'range', kvs: (r.kvs ?? []).map(fromRawKv), count: Number(r.count), more: Boolean(r.more) };
}

/** The contract error for whatever the etcd client threw. */
export function toStoreError(err: unknown, context?: { revision?: number; lease?: string }): StoreError {
  if (err instanceof StoreError) return err;
  const message = err instanceof Error ? err.message : String(err);
  if (message.includes('required revision has been compacted')) return new CompactedError(undefined, context?.revision);
  if (message.includes('required revision is a future revision')) return new FutureRevisionError(context?.revision ?? -1);
  if (err instanceof etcd3.EtcdLeaseInvalidError || message.includes('requested lease not found')) {
    return new LeaseNotFoundError(context?.lease ?? '?');
  }
  if (err instanceof etcd3.ClientClosedError) return new StoreClosedError();
  if (
    err instanceof etcd3.EtcdPermissionDeniedError ||
    err instanceof etcd3.EtcdAuthenticationFailedError ||
    err instanceof etcd3.GRPCUnauthenticatedError ||
    /user name is empty|authentication failed|permission denied|invalid auth token/.test(message)
  ) {
    return new PermissionDeniedError(`etcd refused the request: ${message}`);
  }
  // grpc-js refusing an answer over its receive limit: the request was fine, its answer too big.
  if (message.includes('Received message larger than max')) return new ResponseTooLargeError(`etcd's answer is too large for this client: ${message}`);
  if (err instanceof etcd3.GRPCResourceExhastedError || message.includes('request is too large') || message.includes('larger than max')) {
    return new InvalidRequestError(`request is too large: ${message}`);
  }
  if (err instanceof etcd3.GRPCInvalidArgumentError || message.includes('too many operations') || message.includes('duplicate key')) {
    return new InvalidRequestError(message.replace(/^.*etcdserver: /, ''));
  }
  return new UnavailableError(`etcd unavailable: ${message}`, { cause: err });
}
