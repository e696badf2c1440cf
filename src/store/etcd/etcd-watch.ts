// A watch on etcd that survives connection loss. It owns its gRPC stream and resumes from the
// revision after the last batch it delivered. etcd3's own Watcher is not used: it resumes from the
// header revision of the create response, which can skip events a catching-up watch had not yet sent.
// It asks etcd to fragment large answers: a watch catching up sends up to 1000 revisions in one
// message, far beyond any receive limit when values are large; fragments are at most etcd's request
// limit each (one event larger than that comes alone) and are joined here before delivery.
import { EventEmitter } from 'node:events';
import type { Clock, TimerHandle } from '../clock.js';
import { CompactedError, ResponseTooLargeError, StoreClosedError, UnavailableError } from '../errors.js';
import type { Watch, WatchBatch, WatchEvent, WatchEvents } from '../types.js';
import { fromRawKv, toStoreError, type RawKv } from './convert.js';

/** The part of a gRPC duplex stream a watch uses. */
export interface WatchStream {
  write(message: unknown): boolean;
  on(event: 'data', fn: (res: RawWatchResponse) => void): this;
  on(event: 'error', fn: (err: Error) => void): this;
  on(event: 'end', fn: () => void): this;
  cancel(): void;
}

/** A WatchResponse as etcd3's proto loader decodes it. */
export interface RawWatchResponse {
  header: { revision: string };
  created: boolean;
  canceled: boolean;
  compact_revision: string;
  cancel_reason: string;
  /** More of the same answer follows (etcd split it, as asked with `fragment`). */
  fragment: boolean;
  events: Array<{ type: string; kv: RawKv; prev_kv: RawKv | null }>;
}

const MAX_BACKOFF_MS = 1000;

/** Watch on etcd; see Watch. */
export class EtcdWatch extends EventEmitter<WatchEvents> implements Watch {
  readonly ready: Promise<void>;
  lastRevision: number;
  private next: number;
  private stream?: WatchStream;
  private established = false;
  private closed = false;
  private backoffMs = 50;
  private retryTimer?: TimerHandle;
  private settleReady!: (err?: Error) => void;
  /** Events of an answer whose last fragment has not arrived yet. */
  private fragments: RawWatchResponse['events'] = [];

  constructor(
    private readonly openStream: () => Promise<WatchStream>,
    private readonly range: { key: Buffer; range_end?: Buffer },
    private readonly prevKv: boolean,
    fromRevision: number | undefined,
    private readonly clock: Clock,
  ) {
    super();
    this.next = fromRevision && fromRevision > 0 ? fromRevision : 0;
    this.lastRevision = this.next - 1;
    this.ready = new Promise<void>((resolve, reject) => {
      this.settleReady = (err) => (err ? reject(err) : resolve());
    });
    this.ready.catch(() => undefined); // handled: the caller may only listen for 'error'
    this.connect();
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    if (this.retryTimer) this.clock.clearTimeout(this.retryTimer);
    this.stream?.cancel();
    this.stream = undefined;
    this.settleReady(new StoreClosedError());
  }

  private connect(): void {
    this.openStream().then(
      (stream) => {
        if (this.closed) return stream.cancel();
        this.stream = stream;
        let failed = false;
        const onFailure = (err: Error) => {
          if (failed || this.stream !== stream) return;
          failed = true;
          // Resuming would be refused the same answer again, forever: fail, and let the caller list.
          const cause = toStoreError(err);
          if (cause instanceof ResponseTooLargeError) return this.fail(cause);
          this.reconnect(err);
        };
        stream.on('data', (res) => {
          if (this.stream === stream) this.onResponse(res);
        });
        stream.on('error', onFailure);
        stream.on('end', () => onFailure(new UnavailableError('etcd closed the watch stream')));
        stream.write({
          create_request: { ...this.range, start_revision: this.next, prev_kv: this.prevKv, progress_notify: false, fragment: true },
        });
      },
      (err: Error) => this.reconnect(err),
    );
  }

  private reconnect(err: Error): void {
    if (this.closed) return;
    this.stream?.cancel();
    this.stream = undefined;
    this.fragments = [];
    if (this.established) this.emit('disconnected', err);
    this.retryTimer = this.clock.setTimeout(() => this.connect(), this.backoffMs);
    this.backoffMs = Math.min(this.backoffMs * 2, MAX_BACKOFF_MS);
  }

  private onResponse(res: RawWatchResponse): void {
    if (this.closed) return;
    if (res.canceled) return this.onCancel(res);
    if (res.created) {
      // From "now" on the first connection: the watch starts after the revision etcd was at.
      if (this.next === 0) {
        this.next = Number(res.header.revision) + 1;
        this.lastRevision = this.next - 1;
      }
      this.backoffMs = 50;
      if (this.established) return void this.emit('reconnected');
      this.established = true;
      return this.settleReady();
    }
    if (res.fragment) {
      for (const ev of res.events) this.fragments.push(ev);
      return;
    }
    if (this.fragments.length > 0) {
      res = { ...res, events: [...this.fragments, ...res.events] };
      this.fragments = [];
    }
    for (const batch of this.batches(res)) {
      if (this.closed) return;
      this.next = batch.revision + 1;
      this.lastRevision = batch.revision;
      try {
        this.emit('events', batch);
      } catch (err) {
        setImmediate(() => {
          throw err; // a listener's bug must not be mistaken for a stream failure
        });
      }
    }
  }

  private onCancel(res: RawWatchResponse): void {
    const compactRevision = Number(res.compact_revision);
    if (compactRevision > 0) return this.fail(new CompactedError(compactRevision, this.next));
    if (/no leader|leader changed/.test(res.cancel_reason)) return this.reconnect(new UnavailableError(res.cancel_reason));
    this.fail(new UnavailableError(`etcd cancelled the watch: ${res.cancel_reason || 'no reason given'}`));
  }

  private fail(err: Error): void {
    this.closed = true;
    this.stream?.cancel();
    this.stream = undefined;
    this.settleReady(); // registered, then failed: the failure is the 'error' event
    if (this.listenerCount('error') > 0) this.emit('error', err);
  }

  /** The response's events grouped by revision, skipping any already delivered. */
  private *batches(res: RawWatchResponse): Generator<WatchBatch> {
    let current: WatchBatch | undefined;
    for (const ev of res.events) {
      const rev = Number(ev.kv.mod_revision);
      if (rev < this.next) continue;
      const event: WatchEvent = { type: ev.type.toLowerCase() === 'put' ? 'put' : 'delete', kv: fromRawKv(ev.kv) };
      if (ev.prev_kv) event.prev = fromRawKv(ev.prev_kv);
      if (current && current.revision !== rev) {
        yield current;
        current = undefined;
      }
      if (!current) current = { revision: rev, events: [] };
      current.events.push(event);
    }
    if (current) yield current;
  }
}
