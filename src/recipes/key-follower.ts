// A live copy of one key: read, then watched from the read's revision + 1; on any watch failure
// (a compaction, the store away), read again after a short, jittered pause.
import { EventEmitter } from 'node:events';
import type { Store, Watch } from '../store/index.js';

export interface KeyFollowerEvents {
  /** The key's value now (undefined: it does not exist). Emitted on start and on each change. */
  value: [value: string | undefined];
  /** A failure the follower recovers from by itself. */
  failed: [error: Error];
}

/** Follows one key for as long as it is not closed. */
export class KeyFollower extends EventEmitter<KeyFollowerEvents> {
  private watch?: Watch;
  private closed = false;
  private timer?: NodeJS.Timeout;

  constructor(
    private readonly store: Store,
    readonly key: string,
    private readonly random: () => number = Math.random,
  ) {
    super();
  }

  /** Reads the key and follows it; resolves after the first read (or the first failure, retried in the background). */
  async start(): Promise<void> {
    if (this.closed) return;
    try {
      const r = await this.store.range(this.key);
      if (this.closed) return;
      this.emit('value', r.kvs[0]?.value);
      const watch = (this.watch = this.store.watch(this.key, { fromRevision: r.revision + 1 }));
      watch.on('events', (b) => {
        const last = b.events[b.events.length - 1];
        if (last) this.emit('value', last.type === 'put' ? last.kv.value : undefined);
      });
      watch.on('error', (err) => this.retry(err));
    } catch (err) {
      this.retry(err as Error);
    }
  }

  async close(): Promise<void> {
    this.closed = true;
    clearTimeout(this.timer);
    await this.watch?.close();
  }

  private retry(err: Error): void {
    if (this.closed || this.timer) return;
    this.emit('failed', err);
    void this.watch?.close();
    this.watch = undefined;
    this.timer = setTimeout(() => {
      this.timer = undefined;
      void this.start();
    }, 250 + Math.round(this.random() * 750));
  }
}
