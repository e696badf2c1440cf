// A watch on the embedded store: replays history from its start revision, then follows live
// changes, delivering batches asynchronously and strictly in revision order.
import { EventEmitter } from 'node:events';
import type { KeySelector, Watch, WatchBatch, WatchEvent, WatchEvents } from '../types.js';
import type { Change } from './mvcc.js';
import { inSelection } from './sorted-keys.js';

/** Watch over an in-process key space. */
export class EmbeddedWatch extends EventEmitter<WatchEvents> implements Watch {
  readonly ready: Promise<void>;
  lastRevision: number;
  private queue: WatchBatch[] = [];
  private scheduled = false;
  private closed = false;

  constructor(
    private readonly key: string,
    private readonly selector: KeySelector,
    private readonly prevKv: boolean,
    startRevision: number,
    backlog: Change[] | Error,
    private readonly onClose: (w: EmbeddedWatch) => void,
  ) {
    super();
    this.lastRevision = startRevision - 1;
    this.ready = Promise.resolve();
    if (backlog instanceof Error) {
      // Registered, then failed: the same order as etcd, which accepts and then cancels.
      this.closed = true;
      setImmediate(() => {
        if (this.listenerCount('error') > 0) this.emit('error', backlog);
      });
      return;
    }
    for (const change of backlog) this.offer(change);
  }

  /** Queues the part of `change` this watch selects. */
  offer(change: Change): void {
    if (this.closed || change.revision <= this.lastRevision) return;
    const events: WatchEvent[] = [];
    for (const ev of change.events) {
      if (!inSelection(ev.kv.key, this.key, this.selector)) continue;
      events.push(this.prevKv || !ev.prev ? ev : { type: ev.type, kv: ev.kv });
    }
    if (events.length === 0) return;
    this.queue.push({ revision: change.revision, events });
    if (!this.scheduled) {
      this.scheduled = true;
      setImmediate(() => this.deliver());
    }
  }

  async close(): Promise<void> {
    if (this.closed) return;
    this.closed = true;
    this.queue = [];
    this.onClose(this);
  }

  private deliver(): void {
    this.scheduled = false;
    const batches = this.queue;
    this.queue = [];
    for (const batch of batches) {
      if (this.closed) return;
      this.lastRevision = batch.revision;
      this.emit('events', batch);
    }
  }

}
