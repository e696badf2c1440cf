// Leader election, etcd style: each candidate puts a key on its session's lease; the lowest create
// revision leads; each other candidate waits only on the key just before its own (no herd).
// A leader whose session is lost stops leading at once; its writes carry `fence()`, a compare on its
// own key, so a deposed leader's late writes fail.
import { EventEmitter } from 'node:events';
import type { Compare, Store } from '../store/index.js';
import type { Session } from './session.js';

export interface ElectionEvents {
  /** This candidate leads from now on. */
  elected: [];
  /** This candidate no longer leads (its session was lost, or it resigned). */
  deposed: [reason: Error];
}

/** Raised by campaign() when the session ends before the candidate is elected. */
export class CampaignAbortedError extends Error {
  constructor(reason: string) {
    super(`campaign aborted: ${reason}`);
    this.name = 'CampaignAbortedError';
  }
}

/** One candidacy, bound to one session. */
export class Election extends EventEmitter<ElectionEvents> {
  /** This candidate's key. */
  readonly key: string;
  /** Create revision of this candidate's key (0 before campaign()). */
  revision = 0;
  private leading = false;
  private ended?: Error;
  private abort = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly session: Session,
    /** The election's prefix, e.g. /work/leader/. */
    readonly prefix: string,
    /** What the key holds: who this candidate is. */
    readonly candidate: string,
  ) {
    super();
    this.key = `${prefix}${session.lease}`;
    // `done`, not 'lost': a session that ended before this candidacy began still ends it.
    if (session.endedBy) this.ended = session.endedBy;
    void session.done.then((err) => this.end(err));
  }

  get isLeader(): boolean {
    return this.leading && this.session.valid;
  }

  /** The compare that every write of the leader carries: its key is still the one it was elected with. */
  fence(): Compare {
    return { key: this.key, target: 'create', op: '==', value: this.revision };
  }

  /** Runs for leader; resolves once elected. Rejects with CampaignAbortedError if the session ends first. */
  async campaign(): Promise<void> {
    this.assertRunning();
    const put = await this.store.txn({
      compare: [{ key: this.key, target: 'create', op: '==', value: 0 }],
      success: [{ type: 'put', key: this.key, value: this.candidate, lease: this.session.lease }],
      failure: [{ type: 'range', key: this.key }],
    });
    const mine = put.succeeded ? undefined : put.results[0];
    this.revision = mine?.type === 'range' && mine.kvs[0] ? mine.kvs[0].createRevision : put.revision;
    for (;;) {
      this.assertRunning();
      const all = await this.store.range(this.prefix, { prefix: true, sort: { target: 'create', order: 'asc' } });
      if (!all.kvs.some((kv) => kv.key === this.key)) throw new CampaignAbortedError('the candidate key is gone (lease expired)');
      const before = all.kvs.filter((kv) => kv.createRevision < this.revision);
      if (before.length === 0) break;
      await this.waitForDelete(before[before.length - 1].key, all.revision + 1);
    }
    this.assertRunning();
    this.leading = true;
    this.emit('elected');
  }

  /** Gives up the candidacy (and the leadership) by deleting the key. */
  async resign(): Promise<void> {
    await this.store.txn({ compare: [this.fence()], success: [{ type: 'delete', key: this.key }] });
    this.end(new Error('resigned'));
  }

  /** The current leader's candidate value, or undefined when there is none. */
  static async leader(store: Store, prefix: string): Promise<string | undefined> {
    const r = await store.range(prefix, { prefix: true, sort: { target: 'create', order: 'asc' }, limit: 1 });
    return r.kvs[0]?.value;
  }

  private assertRunning(): void {
    if (this.ended) throw new CampaignAbortedError(this.ended.message);
  }

  private end(reason: Error): void {
    if (this.ended) return;
    this.ended = reason;
    this.abort.abort(reason);
    if (this.leading) {
      this.leading = false;
      this.emit('deposed', reason);
    }
  }

  /** Resolves when `key` is deleted at or after `from`, or the campaign ends. */
  private waitForDelete(key: string, from: number): Promise<void> {
    return new Promise((resolve) => {
      const watch = this.store.watch(key, { fromRevision: from });
      const done = () => {
        this.abort.signal.removeEventListener('abort', done);
        void watch.close();
        resolve();
      };
      watch.on('events', (b) => b.events.some((e) => e.type === 'delete') && done());
      watch.on('error', done); // compacted: look again
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }
}
