// Membership: each member keeps a record under a prefix on its own lease (gone when the lease
// is), and everyone can follow the live set. Records are JSON; updates are compare-and-swap so
// two writers (the member and an operator) never lose each other's fields.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type KeyValue, type LeaseId, type Store, type TimerHandle } from '../store/index.js';
import { PrefixView } from './prefix-view.js';

export interface Member<T> {
  id: string;
  record: T;
  lease: LeaseId;
  /** When the member joined (create revision of its key). */
  joinedAt: number;
}

export interface MembershipEvents {
  /** The set of members or a record changed: the ids whose record did (all of them after a reload: undefined). */
  change: [ids: string[] | undefined];
}

/** The live set of members under `prefix`. */
export class Membership<T> extends EventEmitter<MembershipEvents> {
  readonly view: PrefixView;
  /** Records parsed once per version (a view replaces a key-value object when its key changes). */
  private readonly parsed = new WeakMap<KeyValue, { record: T | null }>();

  constructor(
    store: Store,
    readonly prefix: string,
    private readonly parse: (value: string) => T | null,
    private readonly clock: Clock = systemClock,
  ) {
    super();
    this.view = new PrefixView(store, prefix, clock);
    this.view.on('reset', () => this.emit('change', undefined));
    this.view.on('change', (batch) => this.emit('change', batch.events.map((e) => e.kv.key.slice(prefix.length))));
  }

  start(): Promise<void> {
    return this.view.start();
  }

  close(): Promise<void> {
    return this.view.close();
  }

  /** Every member with a readable record, by id. */
  members(): Member<T>[] {
    const out: Member<T>[] = [];
    for (const kv of this.view.kvs.values()) {
      const m = this.memberOf(kv);
      if (m) out.push(m);
    }
    return out;
  }

  /** One member, if it is live and its record readable. */
  get(id: string): Member<T> | undefined {
    const kv = this.view.kvs.get(this.prefix + id);
    return kv ? this.memberOf(kv) : undefined;
  }

  private memberOf(kv: KeyValue): Member<T> | undefined {
    let hit = this.parsed.get(kv);
    if (!hit) this.parsed.set(kv, (hit = { record: this.parse(kv.value) }));
    return hit.record ? { id: kv.key.slice(this.prefix.length), record: hit.record, lease: kv.lease, joinedAt: kv.createRevision } : undefined;
  }

  /** Resolves once the set has not changed for `quietMs` (after `maxMs` at most), e.g. while members re-register together after an outage. */
  settled(quietMs: number, maxMs: number): Promise<void> {
    const until = this.clock.monotonic() + maxMs;
    return new Promise((resolve) => {
      let timer: TimerHandle | undefined;
      const done = () => {
        this.off('change', wait);
        resolve();
      };
      const wait = () => {
        if (timer) this.clock.clearTimeout(timer);
        timer = this.clock.setTimeout(done, Math.max(0, Math.min(quietMs, until - this.clock.monotonic())));
      };
      this.on('change', wait);
      wait();
    });
  }
}

/** Outcome of updateRecord: the record written, or why none was. */
export type UpdateOutcome<T> = { updated: true; record: T } | { updated: false; reason: 'absent' };

/**
 * Rewrites the JSON record at `key` with `change(current)`, keeping its lease, with a compare on its
 * mod revision (retried on conflict). With `create`, an absent record is created on that lease.
 */
export async function updateRecord<T>(
  store: Store,
  key: string,
  change: (current: T | undefined) => T,
  create?: { lease: LeaseId },
): Promise<UpdateOutcome<T>> {
  for (;;) {
    const kv = await store.get(key);
    if (!kv && !create) return { updated: false, reason: 'absent' };
    const current = kv ? (JSON.parse(kv.value) as T) : undefined;
    const record = change(current);
    const r = await store.txn({
      compare: [kv ? { key, target: 'mod', op: '==', value: kv.modRevision } : { key, target: 'create', op: '==', value: 0 }],
      success: [{ type: 'put', key, value: JSON.stringify(record), lease: kv ? kv.lease : create!.lease }],
    });
    if (r.succeeded) return { updated: true, record };
  }
}
