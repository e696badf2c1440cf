// The claim protocol (DESIGN "Handover"): a worker claims an item with create-if-absent on its
// lease, only while the leader's assignment still names it; it releases only the claim it holds.
import type { KeyValue, Store } from '../store/index.js';
import type { Keys } from './keys.js';
import { Limiter } from './limit.js';

export type ClaimOutcome =
  | { claimed: true; token: number; content: string; spec?: string }
  | { claimed: false; holder?: KeyValue };

/** Claims `id` for `workerId` on `lease`, reading the item's content and spec at the same revision. */
export async function claimItem(store: Store, keys: Keys, id: string, workerId: string, lease: string): Promise<ClaimOutcome> {
  const claimKey = keys.claim(id);
  const r = await store.txn({
    compare: [
      { key: claimKey, target: 'create', op: '==', value: 0 },
      { key: keys.assignment(id), target: 'value', op: '==', value: workerId },
      { key: keys.item(id), target: 'create', op: '>', value: 0 },
      { key: keys.result(id), target: 'create', op: '==', value: 0 },
    ],
    success: [
      { type: 'put', key: claimKey, value: workerId, lease },
      { type: 'range', key: keys.item(id) },
      { type: 'range', key: keys.spec(id) },
    ],
    failure: [{ type: 'range', key: claimKey }],
  });
  if (r.succeeded) {
    const [, item, spec] = r.results;
    return {
      claimed: true,
      token: r.revision,
      content: item.type === 'range' ? (item.kvs[0]?.value ?? '') : '',
      spec: spec.type === 'range' ? spec.kvs[0]?.value : undefined,
    };
  }
  const holder = r.results[0].type === 'range' ? r.results[0].kvs[0] : undefined;
  // A retried request may have claimed it already: a claim on our own lease is ours.
  if (holder && holder.lease === lease && holder.value === workerId) {
    const [item, spec] = await Promise.all([store.get(keys.item(id)), store.get(keys.spec(id))]);
    if (item) return { claimed: true, token: holder.createRevision, content: item.value, spec: spec?.value };
  }
  return { claimed: false, holder };
}

/** Deletes the claim on `id` if it is still the one created at `token`; false if it was not. */
export async function releaseItem(store: Store, keys: Keys, id: string, token: number): Promise<boolean> {
  const r = await store.txn({
    compare: [{ key: keys.claim(id), target: 'create', op: '==', value: token }],
    success: [{ type: 'delete', key: keys.claim(id) }],
  });
  return r.succeeded;
}

/** Claims that fit in one transaction: 4 compares and 3 operations each, under etcd's 128. */
const PER_TXN = 32;

/**
 * Gathers the claims one worker makes in the same moment into one transaction (a burst of
 * assignments after a failover becomes a few transactions instead of hundreds). If any claim of a
 * batch cannot be made, each is retried on its own, so one busy item never blocks the others.
 */
export class ClaimBatcher {
  private queue: Array<{ id: string; lease: string; resolve: (o: ClaimOutcome) => void; reject: (e: unknown) => void }> = [];
  private scheduled = false;
  private readonly inFlight = new Limiter(8);

  constructor(
    private readonly store: Store,
    private readonly keys: Keys,
    private readonly workerId: string,
  ) {}

  claim(id: string, lease: string): Promise<ClaimOutcome> {
    return new Promise((resolve, reject) => {
      this.queue.push({ id, lease, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    const all = this.queue;
    this.queue = [];
    for (let i = 0; i < all.length; i += PER_TXN) {
      const batch = all.slice(i, i + PER_TXN);
      void this.inFlight.run(() => this.run(batch));
    }
  }

  private async run(batch: typeof this.queue): Promise<void> {
    const one = async (b: (typeof batch)[number]) => {
      try {
        b.resolve(await claimItem(this.store, this.keys, b.id, this.workerId, b.lease));
      } catch (err) {
        b.reject(err);
      }
    };
    if (batch.length === 1 || new Set(batch.map((b) => b.lease)).size > 1) return void (await Promise.all(batch.map(one)));
    try {
      const r = await this.store.txn({
        compare: batch.flatMap((b) => [
          { key: this.keys.claim(b.id), target: 'create' as const, op: '==' as const, value: 0 },
          { key: this.keys.assignment(b.id), target: 'value' as const, op: '==' as const, value: this.workerId },
          { key: this.keys.item(b.id), target: 'create' as const, op: '>' as const, value: 0 },
          { key: this.keys.result(b.id), target: 'create' as const, op: '==' as const, value: 0 },
        ]),
        success: batch.flatMap((b) => [
          { type: 'put' as const, key: this.keys.claim(b.id), value: this.workerId, lease: b.lease },
          { type: 'range' as const, key: this.keys.item(b.id) },
          { type: 'range' as const, key: this.keys.spec(b.id) },
        ]),
      });
      if (!r.succeeded) return void (await Promise.all(batch.map(one)));
      batch.forEach((b, i) => {
        const item = r.results[3 * i + 1];
        const spec = r.results[3 * i + 2];
        b.resolve({
          claimed: true,
          token: r.revision,
          content: item.type === 'range' ? (item.kvs[0]?.value ?? '') : '',
          spec: spec.type === 'range' ? spec.kvs[0]?.value : undefined,
        });
      });
    } catch {
      await Promise.all(batch.map(one));
    }
  }
}
