// The embedded store: the store contract in-process, with optional durability in a data directory.
import { systemClock, type Clock, type TimerHandle } from '../clock.js';
import { StoreClosedError } from '../errors.js';
import { NO_LEASE } from '../types.js';
import type {
  DeleteOptions,
  DeleteResult,
  KeyValue,
  LeaseGrant,
  LeaseStatus,
  PutOptions,
  PutResult,
  RangeOptions,
  RangeResult,
  Store,
  TxnRequest,
  TxnResult,
  Watch,
  WatchOptions,
} from '../types.js';
import { EmbeddedWatch } from './embedded-watch.js';
import { LeaseTable } from './leases.js';
import { Mvcc, type Change } from './mvcc.js';
import { DataDir, type WalRecord } from './wal.js';

export interface EmbeddedStoreOptions {
  /** Keep non-leased keys here across restarts; in memory only when absent. */
  dir?: string;
  /** fdatasync before acknowledging a write (default true; only with `dir`). */
  fsync?: boolean;
  clock?: Clock;
  /** Keep this many revisions of history, compacting older ones automatically (0 = never). */
  retainRevisions?: number;
  /** Take a snapshot and restart the log once it grows past this many bytes. */
  snapshotBytes?: number;
  /** Same defaults as etcd: 128 operations per transaction, 1.5 MiB per request. */
  maxTxnOps?: number;
  maxRequestBytes?: number;
  /** How often expired leases are collected, in ms. */
  leaseCheckMs?: number;
}

/** The store contract in this process; see Store. */
export class EmbeddedStore implements Store {
  readonly kind = 'embedded' as const;
  private readonly clock: Clock;
  private readonly leases: LeaseTable;
  private readonly mvcc: Mvcc;
  private readonly watches = new Set<EmbeddedWatch>();
  private readonly retain: number;
  private readonly snapshotBytes: number;
  private readonly leaseCheckMs: number;
  private dataDir?: DataDir;
  private timer?: TimerHandle;
  private closed = false;

  private constructor(options: EmbeddedStoreOptions) {
    this.clock = options.clock ?? systemClock;
    this.leases = new LeaseTable(this.clock.now());
    this.mvcc = new Mvcc(this.leases, {
      maxTxnOps: options.maxTxnOps ?? 128,
      maxRequestBytes: options.maxRequestBytes ?? 1.5 * 1024 * 1024,
    });
    this.retain = options.retainRevisions ?? 10_000;
    this.snapshotBytes = options.snapshotBytes ?? 64 * 1024 * 1024;
    this.leaseCheckMs = options.leaseCheckMs ?? 100;
  }

  /** Opens a store, recovering the data directory if one is given. */
  static async open(options: EmbeddedStoreOptions = {}): Promise<EmbeddedStore> {
    const store = new EmbeddedStore(options);
    if (options.dir) await store.recover(options.dir, options.fsync ?? true);
    store.scheduleLeaseCheck();
    return store;
  }

  async get(key: string, options: { revision?: number } = {}): Promise<KeyValue | null> {
    this.assertOpen();
    return this.mvcc.range(key, options).kvs[0] ?? null;
  }

  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    this.assertOpen();
    return this.mvcc.range(key, options);
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<PutResult> {
    const r = await this.txn({ success: [{ type: 'put', key, value, ...options }] });
    const op = r.results[0] as { prev?: KeyValue };
    return op.prev ? { revision: r.revision, prev: op.prev } : { revision: r.revision };
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    const r = await this.txn({ success: [{ type: 'delete', key, ...options }] });
    const op = r.results[0] as { deleted: number; prev: KeyValue[] };
    return { revision: r.revision, deleted: op.deleted, prev: op.prev };
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    this.assertOpen();
    const { result, change } = this.mvcc.txn(request);
    if (change) await this.commit(change);
    return result;
  }

  async grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    this.assertOpen();
    const id = this.leases.grant(ttlSeconds, this.clock.now());
    return { id, ttl: ttlSeconds };
  }

  async keepAliveOnce(id: string): Promise<{ ttl: number }> {
    this.assertOpen();
    return { ttl: this.leases.keepAlive(id, this.clock.now()) };
  }

  async revokeLease(id: string): Promise<void> {
    this.assertOpen();
    await this.dropLease(id);
  }

  async leaseTimeToLive(id: string, options: { keys?: boolean } = {}): Promise<LeaseStatus | null> {
    this.assertOpen();
    const status = this.leases.timeToLive(id, this.clock.now());
    if (!status) return null;
    return { id, ttl: status.ttl, grantedTtl: status.grantedTtl, keys: options.keys ? status.keys : [] };
  }

  watch(key: string, options: WatchOptions = {}): Watch {
    this.assertOpen();
    const start = options.fromRevision && options.fromRevision > 0 ? options.fromRevision : this.mvcc.revision + 1;
    let backlog: Change[] | Error;
    try {
      backlog = start <= this.mvcc.revision ? this.mvcc.changesSince(start) : [];
    } catch (err) {
      backlog = err as Error;
    }
    const watch = new EmbeddedWatch(key, options, options.prevKv ?? false, start, backlog, (w) => this.watches.delete(w));
    if (!(backlog instanceof Error)) this.watches.add(watch);
    return watch;
  }

  async compact(revision: number): Promise<void> {
    this.assertOpen();
    this.mvcc.compact(revision);
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.timer) this.clock.clearTimeout(this.timer);
    for (const w of [...this.watches]) await w.close();
    await this.dataDir?.close();
  }

  /** Hands a committed change to watches and the log; resolves when it is durable. */
  private async commit(change: Change): Promise<void> {
    for (const w of this.watches) w.offer(change);
    if (this.retain > 0 && change.revision - this.mvcc.compactRevision > 2 * this.retain) {
      this.mvcc.compact(change.revision - this.retain);
    }
    if (!this.dataDir) return;
    const durable = this.dataDir.append(toRecord(change));
    if (this.dataDir.logBytes > this.snapshotBytes) this.dataDir.snapshot(this.mvcc.revision, this.durableKvs());
    await durable;
  }

  private async dropLease(id: string): Promise<void> {
    const keys = this.leases.remove(id);
    if (keys.length === 0) return;
    // Internal: a lease may hold more keys than one client transaction may touch.
    const { change } = this.mvcc.txn({ success: keys.map((key) => ({ type: 'delete' as const, key })) }, true);
    if (change) await this.commit(change);
  }

  private scheduleLeaseCheck(): void {
    this.timer = this.clock.setTimeout(() => {
      if (this.closed) return;
      for (const id of this.leases.expired(this.clock.now())) {
        this.dropLease(id).catch(() => undefined); // only fails if the log does; the next write reports that
      }
      this.scheduleLeaseCheck();
    }, this.leaseCheckMs);
  }

  private async recover(dir: string, fsync: boolean): Promise<void> {
    const { dataDir, recovered } = await DataDir.open(dir, fsync);
    this.dataDir = dataDir;
    for (const [key, value, createRevision, modRevision, version] of recovered.snapshot) {
      this.mvcc.restore(key, { key, value, createRevision, modRevision, version, lease: NO_LEASE }, modRevision);
    }
    let revision = recovered.revision;
    let droppedLeased = false;
    for (const record of recovered.records) {
      for (const [key, value, createRevision, version, lease] of record.p ?? []) {
        // A leased key dies with the process that held its lease.
        if (lease !== NO_LEASE) droppedLeased = true;
        const kv = { key, value, createRevision, modRevision: record.r, version, lease: NO_LEASE };
        this.mvcc.restore(key, lease === NO_LEASE ? kv : null, record.r);
      }
      for (const key of record.d ?? []) this.mvcc.restore(key, null, record.r);
      revision = record.r;
    }
    // The leased keys' disappearance is a change: give it a revision so no revision names two states.
    if (droppedLeased) {
      revision++;
      void dataDir.append({ r: revision });
    }
    this.mvcc.revision = Math.max(this.mvcc.revision, revision);
    this.mvcc.compactRevision = this.mvcc.revision; // history does not survive a restart
  }

  private *durableKvs(): Generator<[string, string, number, number, number]> {
    for (const kv of this.mvcc.live()) {
      if (kv.lease === NO_LEASE) yield [kv.key, kv.value, kv.createRevision, kv.modRevision, kv.version];
    }
  }

  private assertOpen(): void {
    if (this.closed) throw new StoreClosedError();
  }
}

function toRecord(change: Change): WalRecord {
  const record: WalRecord = { r: change.revision };
  for (const ev of change.events) {
    if (ev.type === 'put') (record.p ??= []).push([ev.kv.key, ev.kv.value, ev.kv.createRevision, ev.kv.version, ev.kv.lease]);
    else (record.d ??= []).push(ev.kv.key);
  }
  return record;
}
