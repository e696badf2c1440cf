// Many watches on one gRPC stream, as etcd means watches to be used (and as etcd3's WatchManager
// does): a stream per watch costs a stream setup per watch and per handover wait, and a process
// with a hundred workers held a hundred streams. Each EtcdWatch still sees a stream of its own (a
// WatchStream): this mux sends its create request on the shared stream, hands it the answers
// carrying its watch id, and cancels only its watcher when it is done. etcd answers create
// requests in the order sent and holds back a watcher's events until its "created" answer, so the
// n-th "created" answer belongs to the n-th create request. When the shared stream fails, every
// watch on it sees the failure and resumes on a new one from its own next revision, as before.
// (The order of "created" answers is etcd's own; a gRPC proxy in between need not keep it.)
import type { RawWatchResponse, WatchStream } from './etcd-watch.js';

/** A watch's view of the shared stream. */
class Member implements WatchStream {
  /** Set by the "created" answer. */
  id?: string;
  /** Cancelled by its watch (an id that arrives later is cancelled at once). */
  cancelled = false;
  private readonly handlers = { data: [] as Array<(r: RawWatchResponse) => void>, error: [] as Array<(e: Error) => void>, end: [] as Array<() => void> };

  constructor(
    private readonly shared: SharedStream,
    private readonly mux: WatchMux,
  ) {}

  write(message: unknown): boolean {
    this.mux.create(this.shared, this, message);
    return true;
  }

  on(event: 'data' | 'error' | 'end', fn: never): this {
    (this.handlers[event] as unknown[]).push(fn);
    return this;
  }

  cancel(): void {
    if (this.cancelled) return;
    this.cancelled = true;
    this.mux.cancel(this.shared, this);
  }

  deliver(res: RawWatchResponse): void {
    for (const fn of this.handlers.data) fn(res);
  }

  fail(err: Error): void {
    for (const fn of this.handlers.error) fn(err);
  }
}

interface SharedStream {
  stream: WatchStream;
  /** Members whose create request awaits its "created" answer, in the order sent. */
  creating: Member[];
  byId: Map<string, Member>;
  dead: boolean;
}

type RawResponse = RawWatchResponse & { watch_id?: string | number };

/** Hands out watch streams that share one gRPC stream (a new one once it fails). */
export class WatchMux {
  private current?: Promise<SharedStream>;
  /** The stream `current` resolved to. */
  private live?: SharedStream;

  constructor(private readonly open: () => Promise<WatchStream>) {}

  /** A stream for one watch. */
  async stream(): Promise<WatchStream> {
    const current = (this.current ??= this.start());
    let shared: SharedStream;
    try {
      shared = await current;
    } catch (err) {
      if (this.current === current) this.current = undefined; // not opened: the next call tries again
      throw err;
    }
    if (!shared.dead) return new Member(shared, this);
    // Failed: the next call opens another (the watch calls again after its backoff).
    if (this.current === current) this.current = undefined;
    throw new Error('the shared watch stream failed');
  }

  /** Fails every watch on the shared stream (they resume on a new one). */
  close(): void {
    void this.current?.then((s) => this.kill(s, new Error('the watch streams were closed')), () => undefined);
    this.current = undefined;
  }

  create(s: SharedStream, m: Member, message: unknown): void {
    if (s.dead) return void setImmediate(() => m.fail(new Error('the shared watch stream failed')));
    s.creating.push(m);
    s.stream.write(message);
  }

  cancel(s: SharedStream, m: Member): void {
    if (s.dead || m.id === undefined) return; // not created yet: cancelled when its answer comes
    s.byId.delete(m.id);
    s.stream.write({ cancel_request: { watch_id: m.id } });
  }

  private start(): Promise<SharedStream> {
    const promise = this.open().then((stream) => {
      const s: SharedStream = { stream, creating: [], byId: new Map(), dead: false };
      if (this.current === promise) this.live = s;
      stream.on('data', (res) => this.route(s, res as RawResponse));
      stream.on('error', (err) => this.kill(s, err));
      stream.on('end', () => this.kill(s, new Error('etcd closed the watch stream')));
      return s;
    });
    promise.catch(() => undefined); // the watches waiting on it are told (see stream)
    return promise;
  }

  private route(s: SharedStream, res: RawResponse): void {
    const id = res.watch_id === undefined ? undefined : String(res.watch_id);
    if (res.created) {
      const m = s.creating.shift();
      if (!m) return;
      if (res.canceled) {
        // Refused at creation (permission denied: the stream's auth token may have gone stale):
        // the next watches go on a new stream, opened with the pool's current token.
        this.retire(s);
        return m.deliver(res);
      }
      m.id = id;
      if (m.cancelled) return void s.stream.write({ cancel_request: { watch_id: id } });
      s.byId.set(id!, m);
      return m.deliver(res);
    }
    const m = id === undefined ? undefined : s.byId.get(id);
    if (!m) return; // cancelled meanwhile
    if (res.canceled) s.byId.delete(id!);
    m.deliver(res);
  }

  /** New watches no longer go on `s` (those on it stay). */
  private retire(s: SharedStream): void {
    if (this.live !== s) return;
    this.live = undefined;
    this.current = undefined;
  }

  // Every watch on it gets the stream's error: one answer too large for the receive limit fails
  // them all (each lists again, in pages), as no one can tell whose answer it was.
  private kill(s: SharedStream, err: Error): void {
    if (s.dead) return;
    this.retire(s);
    s.dead = true;
    s.stream.cancel();
    const members = [...s.creating, ...s.byId.values()];
    s.creating = [];
    s.byId.clear();
    for (const m of members) if (!m.cancelled) m.fail(err);
  }
}
