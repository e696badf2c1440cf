// The store contract: the etcd v3 data model that every rota component is written against.
// Two backends implement it (EmbeddedStore, EtcdStore) and both pass test/store/conformance.ts.
import type { EventEmitter } from 'node:events';

/** A lease id as etcd prints it (a decimal int64); NO_LEASE marks a key without a lease. */
export type LeaseId = string;
/** The lease id of a key that is bound to no lease. */
export const NO_LEASE: LeaseId = '0';

/** One key at one revision. Keys and values are UTF-8 text. */
export interface KeyValue {
  key: string;
  value: string;
  /** Revision of the put that created this generation of the key (the fencing token of a claim). */
  createRevision: number;
  /** Revision of the last change. */
  modRevision: number;
  /** Number of puts since creation (1 after the first put). */
  version: number;
  lease: LeaseId;
}

/** How a range selects keys: one key, every key starting with it, or [key, end). */
export interface KeySelector {
  /** Select every key that starts with `key`. */
  prefix?: boolean;
  /** Select keys in [key, end) (byte order). Ignored when `prefix` is set. */
  end?: string;
}

export type SortTarget = 'key' | 'version' | 'create' | 'mod' | 'value';

/** Options of a read. */
export interface RangeOptions extends KeySelector {
  /** At most this many keys (0 = no limit). `more` tells whether some were left off. */
  limit?: number;
  sort?: { target: SortTarget; order: 'asc' | 'desc' };
  /** Return keys and metadata with empty values. */
  keysOnly?: boolean;
  /** Return only the count. */
  countOnly?: boolean;
  /** Read at this past revision (0 or absent = now). CompactedError if compacted away. */
  revision?: number;
}

export interface RangeResult {
  kvs: KeyValue[];
  /** Number of keys the selection matched, whatever the limit. */
  count: number;
  more: boolean;
  /** The store's revision when the read was served. */
  revision: number;
}

export interface PutOptions {
  lease?: LeaseId;
  /** Return the value the put replaced. */
  prevKv?: boolean;
}

export interface PutResult {
  revision: number;
  prev?: KeyValue;
}

export interface DeleteOptions extends KeySelector {
  /** Return the deleted key-values. */
  prevKv?: boolean;
}

export interface DeleteResult {
  revision: number;
  deleted: number;
  prev: KeyValue[];
}

export type CompareOp = '==' | '!=' | '<' | '>';

/**
 * A condition of a transaction. A key that does not exist has version, create and mod revision 0
 * and lease NO_LEASE; a comparison on the value of a missing key is false (as in etcd).
 */
export type Compare =
  | { key: string; target: 'value'; op: CompareOp; value: string }
  | { key: string; target: 'version' | 'create' | 'mod'; op: CompareOp; value: number }
  | { key: string; target: 'lease'; op: CompareOp; value: LeaseId };

/** One operation of a transaction branch. Ranges see the branch's earlier writes. */
export type TxnOp =
  | ({ type: 'put'; key: string; value: string } & PutOptions)
  | ({ type: 'delete'; key: string } & DeleteOptions)
  | ({ type: 'range'; key: string } & Omit<RangeOptions, 'revision'>);

export type TxnOpResult =
  | { type: 'put'; prev?: KeyValue }
  | { type: 'delete'; deleted: number; prev: KeyValue[] }
  | { type: 'range'; kvs: KeyValue[]; count: number; more: boolean };

export interface TxnRequest {
  compare?: Compare[];
  success?: TxnOp[];
  failure?: TxnOp[];
}

export interface TxnResult {
  /** True when every compare held and `success` ran; false when `failure` ran. */
  succeeded: boolean;
  /** The store's revision after the transaction (unchanged if it wrote nothing). */
  revision: number;
  results: TxnOpResult[];
}

export interface LeaseGrant {
  id: LeaseId;
  /** Granted TTL in seconds (a backend may raise a TTL below its minimum). */
  ttl: number;
}

export interface LeaseStatus {
  id: LeaseId;
  /** Seconds left before expiry. */
  ttl: number;
  grantedTtl: number;
  /** Keys bound to the lease, when asked for. */
  keys: string[];
}

export interface WatchOptions extends KeySelector {
  /** First revision to deliver (default: changes after the watch is established). */
  fromRevision?: number;
  /** Attach the previous key-value to each event. */
  prevKv?: boolean;
}

export interface WatchEvent {
  type: 'put' | 'delete';
  /** For a delete: the key, empty value, and the revision of the delete as modRevision. */
  kv: KeyValue;
  prev?: KeyValue;
}

/** All events of one revision for one watch, in the order the transaction wrote them. */
export interface WatchBatch {
  revision: number;
  events: WatchEvent[];
}

export interface WatchEvents {
  /** Changes, strictly in revision order, with no revision skipped. */
  events: [batch: WatchBatch];
  /**
   * The watch ended with an error: CompactedError when its start revision was compacted (list
   * again and watch from there). Unlike Node's convention, an error without a listener is dropped.
   */
  error: [error: Error];
  /** The connection to the store was lost; the watch resumes by itself. */
  disconnected: [error: Error];
  /** The watch is established again after a disconnection, from where it left off. */
  reconnected: [];
}

/** A live subscription to changes of a key or key range. Once closed or failed it emits nothing more. */
export interface Watch extends EventEmitter<WatchEvents> {
  /**
   * Resolves when the store has registered the watch: changes after that are delivered. Rejects
   * only if the watch is closed first. Failures, compaction included, arrive as 'error'.
   */
  readonly ready: Promise<void>;
  /** The revision of the last batch delivered (or fromRevision - 1 before any). */
  readonly lastRevision: number;
  close(): Promise<void>;
}

/** The coordination store: keys with revisions, leases, transactions, watches. */
export interface Store {
  /** Which backend this is, for logs and benchmark tables. */
  readonly kind: 'embedded' | 'etcd';
  /** One key, or null if it does not exist. */
  get(key: string, options?: { revision?: number }): Promise<KeyValue | null>;
  range(key: string, options?: RangeOptions): Promise<RangeResult>;
  put(key: string, value: string, options?: PutOptions): Promise<PutResult>;
  delete(key: string, options?: DeleteOptions): Promise<DeleteResult>;
  txn(request: TxnRequest): Promise<TxnResult>;
  grantLease(ttlSeconds: number): Promise<LeaseGrant>;
  /** Renews a lease to its full TTL; LeaseNotFoundError once it has expired or been revoked. */
  keepAliveOnce(id: LeaseId): Promise<{ ttl: number }>;
  /** Revokes a lease and deletes its keys at once; LeaseNotFoundError if it does not exist. */
  revokeLease(id: LeaseId): Promise<void>;
  /** The lease's remaining TTL, or null when it no longer exists. */
  leaseTimeToLive(id: LeaseId, options?: { keys?: boolean }): Promise<LeaseStatus | null>;
  watch(key: string, options?: WatchOptions): Watch;
  /** Drops history before `revision`; reads and watches below it fail with CompactedError. */
  compact(revision: number): Promise<void>;
  close(): Promise<void>;
}
