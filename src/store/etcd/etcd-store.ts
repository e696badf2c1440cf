// The store contract on a real etcd v3 cluster, through the etcd3 client's gRPC connection pool.
import * as etcd3 from 'etcd3';
import { circuitBreaker, ConsecutiveBreaker, handleWhen, noop } from 'cockatiel';
import { systemClock, type Clock } from '../clock.js';
import { LeaseNotFoundError, StoreClosedError, UnavailableError } from '../errors.js';
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
import { fromRawKv, fromResponseOp, toCompare, toRange, toRangeRequest, toRequestOp, type RawKv } from './convert.js';
import { EtcdWatch, type WatchStream } from './etcd-watch.js';
import { WatchMux } from './watch-mux.js';
import { EtcdCalls, type CallContext, type Reachability } from './etcd-calls.js';

export type { Reachability };

export interface EtcdStoreOptions {
  /** Client URLs, e.g. ['http://127.0.0.1:2379']. */
  endpoints: string[];
  /** TLS: CA, client certificate and key (PEM). */
  tls?: { ca?: Buffer; cert?: Buffer; key?: Buffer };
  auth?: { username: string; password: string };
  /** Deadline of one attempt, in ms. */
  attemptTimeoutMs?: number;
  /** Deadline of a call including its retries, in ms. */
  callTimeoutMs?: number;
  /** Deadline of a call while etcd is known to be away (its last attempt failed), in ms. */
  failFastMs?: number;
  clock?: Clock;
  /**
   * Largest answer accepted from etcd, in bytes (default 32 MiB). It must hold the largest single
   * value with its previous value (a watch event): etcd accepts requests up to --max-request-bytes
   * (1.5 MiB by default). Lists read in pages well below it (see paged-list.ts).
   */
  maxResponseBytes?: number;
}


// grpc-js refuses answers over 4 MiB by default: below what six values of 900 KB take in one list.
const DEFAULT_MAX_RESPONSE_BYTES = 32 * 1024 * 1024;

/** Store on etcd; see Store. */
export class EtcdStore implements Store {
  readonly kind = 'etcd' as const;
  private readonly client: etcd3.Etcd3;
  /** Retries, deadlines and what they say about etcd's reachability. */
  private readonly calls: EtcdCalls;
  private readonly clock: Clock;
  private readonly watches = new Set<EtcdWatch>();
  /** Every watch of this store on one gRPC stream. */
  private readonly watchMux = new WatchMux(() => this.openWatchStream());
  private closed = false;

  constructor(options: EtcdStoreOptions) {
    if (options.endpoints.length === 0) throw new Error('at least one etcd endpoint is needed');
    this.clock = options.clock ?? systemClock;
    this.calls = new EtcdCalls({ ...options, clock: this.clock, where: options.endpoints.join(','), closed: () => this.closed });
    const tls = options.tls;
    this.client = new etcd3.Etcd3({
      hosts: options.endpoints,
      credentials: tls?.ca ? { rootCertificate: tls.ca, privateKey: tls.key, certChain: tls.cert } : undefined,
      auth: options.auth,
      // A dead member is skipped for 0.5 s instead of 5 s; retries are ours (see `call`).
      faultHandling: {
        host: () => circuitBreaker(handleWhen(etcd3.isRecoverableError), { halfOpenAfter: 500, breaker: new ConsecutiveBreaker(3) }),
        global: noop,
      },
      grpcOptions: {
        // Find a silently dead connection; etcd refuses pings more often than every 5 s.
        'grpc.keepalive_time_ms': 10_000,
        'grpc.keepalive_timeout_ms': 5_000,
        'grpc.keepalive_permit_without_calls': 1,
        'grpc.initial_reconnect_backoff_ms': 100,
        'grpc.max_reconnect_backoff_ms': 1000,
        'grpc.max_receive_message_length': options.maxResponseBytes ?? DEFAULT_MAX_RESPONSE_BYTES,
      },
    });
  }

  async get(key: string, options: { revision?: number } = {}): Promise<KeyValue | null> {
    return (await this.range(key, options)).kvs[0] ?? null;
  }

  async range(key: string, options: RangeOptions = {}): Promise<RangeResult> {
    const res = await this.call((o) => this.client.kv.range(toRangeRequest(key, options), o), { revision: options.revision });
    return {
      kvs: (res.kvs as unknown as RawKv[]).map(fromRawKv),
      count: Number(res.count),
      more: Boolean(res.more),
      revision: Number(res.header.revision),
    };
  }

  async put(key: string, value: string, options: PutOptions = {}): Promise<PutResult> {
    const req = { key: Buffer.from(key, 'utf8'), value: Buffer.from(value, 'utf8'), lease: options.lease ?? '0', prev_kv: options.prevKv ?? false };
    const res = await this.call((o) => this.client.kv.put(req, o), { lease: options.lease });
    const prev = res.prev_kv as unknown as RawKv | null;
    return prev ? { revision: Number(res.header.revision), prev: fromRawKv(prev) } : { revision: Number(res.header.revision) };
  }

  async delete(key: string, options: DeleteOptions = {}): Promise<DeleteResult> {
    const req = { ...toRange(key, options), prev_kv: options.prevKv ?? false };
    const res = await this.call((o) => this.client.kv.deleteRange(req, o));
    return {
      revision: Number(res.header.revision),
      deleted: Number(res.deleted),
      prev: ((res.prev_kvs ?? []) as unknown as RawKv[]).map(fromRawKv),
    };
  }

  async txn(request: TxnRequest): Promise<TxnResult> {
    const req = {
      compare: (request.compare ?? []).map(toCompare),
      success: (request.success ?? []).map(toRequestOp),
      failure: (request.failure ?? []).map(toRequestOp),
    };
    const leased = [...(request.success ?? []), ...(request.failure ?? [])].find((op) => op.type === 'put' && op.lease);
    const lease = leased?.type === 'put' ? leased.lease : undefined;
    // eslint-disable-next-line @typescript-eslint/no-explicit-any
    const res = await this.call((o) => this.client.kv.txn(req as any, o), { lease });
    return {
      succeeded: Boolean(res.succeeded),
      revision: Number(res.header.revision),
      results: (res.responses ?? []).map(fromResponseOp),
    };
  }

  async grantLease(ttlSeconds: number): Promise<LeaseGrant> {
    const res = await this.call((o) => this.client.leaseClient.leaseGrant({ TTL: ttlSeconds, ID: 0 }, o));
    if (res.error) throw new UnavailableError(`etcd refused the lease: ${res.error}`);
    return { id: res.ID, ttl: Number(res.TTL) };
  }

  async keepAliveOnce(id: string): Promise<{ ttl: number }> {
    const res = await this.call((o) => this.keepAliveStream(id, o.deadline), { lease: id, urgent: true });
    if (Number(res.TTL) <= 0) throw new LeaseNotFoundError(id);
    return { ttl: Number(res.TTL) };
  }

  async revokeLease(id: string): Promise<void> {
    await this.call((o) => this.client.leaseClient.leaseRevoke({ ID: id }, o), { lease: id, urgent: true });
  }

  async leaseTimeToLive(id: string, options: { keys?: boolean } = {}): Promise<LeaseStatus | null> {
    const res = await this.call((o) => this.client.leaseClient.leaseTimeToLive({ ID: id, keys: options.keys ?? false }, o), { lease: id });
    if (Number(res.TTL) < 0) return null;
    return {
      id,
      ttl: Number(res.TTL),
      grantedTtl: Number(res.grantedTTL),
      keys: ((res.keys ?? []) as unknown as Buffer[]).map((k) => k.toString('utf8')),
    };
  }

  watch(key: string, options: WatchOptions = {}): Watch {
    if (this.closed) throw new StoreClosedError();
    const watch = new EtcdWatch(() => this.watchMux.stream(), toRange(key, options), options.prevKv ?? false, options.fromRevision, this.clock);
    this.watches.add(watch);
    const forget = () => this.watches.delete(watch);
    watch.ready.catch(forget);
    const close = watch.close.bind(watch);
    watch.close = async () => {
      forget();
      await close();
    };
    return watch;
  }

  async compact(revision: number): Promise<void> {
    await this.call((o) => this.client.kv.compact({ revision, physical: false }, o), { revision });
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    await Promise.all([...this.watches].map((w) => w.close()));
    this.watchMux.close();
    this.client.close();
  }

  /** Whether etcd answers: not when, for a second, attempts have failed or waited unanswered (for health checks; costs nothing). */
  reachability(): Reachability {
    return this.calls.reachability();
  }

  /** One RPC with retries (see EtcdCalls.call). */
  private call<T>(attempt: (options: { deadline: Date }) => Promise<T>, context?: CallContext): Promise<T> {
    if (this.closed) return Promise.reject(new StoreClosedError());
    return this.calls.call(attempt, context);
  }

  // The etcd3 connection pool is not public API, but it is the only way to open raw streams
  // with etcd's "require leader" metadata and pick a live member.
  private get pool(): Pool {
    return (this.client as unknown as { pool: Pool }).pool;
  }

  private openWatchStream(): Promise<WatchStream> {
    return this.pool.withConnection('Watch', ({ resource, client, metadata }) => {
      const md = metadata.clone();
      md.set('hasleader', 'true'); // etcd ends the stream if its member loses the leader
      const stream = client.watch(md, {}) as WatchStream;
      // A cancel of our own (code 1) is not a fault of the member.
      stream.on('error', (err: Error & { code?: number }) => err.code !== 1 && this.pool.markFailed(resource, err));
      return stream;
    });
  }

  private keepAliveStream(id: string, deadline: Date): Promise<{ TTL: string }> {
    return this.pool.withConnection('Lease', ({ resource, client, metadata }) => {
      return new Promise((resolve, reject) => {
        const stream = client.leaseKeepAlive(metadata, { deadline });
        stream.on('data', (res: { TTL: string }) => {
          resolve(res);
          stream.end();
        });
        stream.on('error', (err: Error) => {
          this.pool.markFailed(resource, err);
          reject(etcd3.castGrpcError(err as never));
        });
        stream.write({ ID: id });
      });
    });
  }
}

/** The slice of etcd3's ConnectionPool used for raw streams. */
interface Pool {
  // eslint-disable-next-line @typescript-eslint/no-explicit-any
  withConnection<T>(service: string, fn: (c: { resource: unknown; client: any; metadata: any }) => T | Promise<T>): Promise<T>;
  markFailed(resource: unknown, err: Error): void;
}
