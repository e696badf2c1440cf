// Many items at once (BullMQ's addBulk): all or nothing. Nothing is written unless every id is free
// (one read of the ids the caller chose; new random ids cannot be taken); the items then go in as
// few transactions as etcd allows (128 operations and about 1.5 MiB a request), each creating the
// ids the caller chose only if they still do not exist. Should another client create one of the ids in between,
// what this request already wrote is deleted again and the caller learns which ids were taken.
import type { Store, TxnOp } from '../store/index.js';
import type { Keys } from './keys.js';
import { Limiter } from '../store/limiter.js';
import type { WorkSpec } from './model.js';
import { createOps } from './work.js';
import type { WriteOnce } from './write-once.js';

/** One item of a bulk. */
export interface NewItem {
  id: string;
  content: string;
  spec: WorkSpec;
  /** A new random id: it cannot exist, nor have left anything behind. */
  fresh?: boolean;
}

/** Writes per transaction, leaving room for WriteOnce's marker. */
const OPS_PER_TXN = 120;
/** Bytes of content per transaction, well under etcd's 1.5 MiB request limit. */
const BYTES_PER_TXN = 1024 * 1024;

/** Creates every one of `items` (distinct ids), or none: then `taken` lists the ids that exist. */
export async function createItems(store: Store, w: WriteOnce, keys: Keys, items: NewItem[]): Promise<{ created: true } | { created: false; taken: string[] }> {
  const before = await existing(store, keys, items.filter((i) => !i.fresh).map((i) => i.id));
  if (before.taken.length) return { created: false, taken: before.taken };
  // Only ids that left something behind need their leftovers deleted: the rest go in with their puts alone.
  const ops = (i: NewItem) => createOps(keys, i.id, i.content, i.spec, before.leftovers.has(i.id));
  const limiter = new Limiter(4);
  const outcomes = await Promise.all(
    groups(items, ops).map((group) =>
      limiter.run(async () => {
        const r = await w.txn({
          // Fresh random ids need no compare (each costs etcd a read): only the ids the caller chose.
          compare: group.filter((i) => !i.fresh).map((i) => ({ key: keys.item(i.id), target: 'create' as const, op: '==' as const, value: 0 })),
          success: group.flatMap(ops),
        });
        return { group, ok: r.succeeded };
      }),
    ),
  );
  if (outcomes.every((o) => o.ok)) return { created: true };
  // Taken meanwhile: undo what this request created (only items created after the first read).
  const written = outcomes.filter((o) => o.ok).flatMap((o) => o.group);
  for (let i = 0; i < written.length; i += 60) {
    await Promise.all(
      written.slice(i, i + 60).map((item) =>
        store.txn({
          compare: [{ key: keys.item(item.id), target: 'create', op: '>', value: before.revision }],
          success: [
            { type: 'delete', key: keys.item(item.id) },
            { type: 'delete', key: keys.spec(item.id) },
          ],
        }),
      ),
    );
  }
  const failed = outcomes.filter((o) => !o.ok).flatMap((o) => o.group.map((i) => i.id));
  return { created: false, taken: (await existing(store, keys, failed)).taken };
}

/** Which of `ids` exist, which left a spec, result or attempts behind, and the revision of the first read. */
async function existing(store: Store, keys: Keys, ids: string[]): Promise<{ taken: string[]; leftovers: Set<string>; revision: number }> {
  const taken: string[] = [];
  const leftovers = new Set<string>();
  const revision = (await store.range(keys.registry, { countOnly: true })).revision;
  const count = (key: string, prefix = false) => ({ type: 'range' as const, key, prefix, countOnly: true });
  // A few reads at once: a bulk of 1,000 chosen ids is 34 of them, one after another 34 round trips.
  const limiter = new Limiter(8);
  const parts: string[][] = [];
  for (let i = 0; i < ids.length; i += 30) parts.push(ids.slice(i, i + 30));
  const reads = await Promise.all(parts.map((part) => limiter.run(() => store.txn({ success: part.flatMap((id) => [count(keys.item(id)), count(keys.spec(id)), count(keys.result(id)), count(keys.attempt(id), true)]) }))));
  parts.forEach((part, p) => {
    const r = reads[p];
    const n = (k: number) => (r.results[k]?.type === 'range' ? (r.results[k] as { count: number }).count : 0);
    part.forEach((id, j) => {
      if (n(4 * j) > 0) taken.push(id);
      else if (n(4 * j + 1) + n(4 * j + 2) + n(4 * j + 3) > 0) leftovers.add(id);
    });
  });
  return { taken, leftovers, revision };
}

/** Items cut into transactions of bounded operations and bytes. */
function groups(items: NewItem[], opsOf: (i: NewItem) => TxnOp[]): NewItem[][] {
  const out: NewItem[][] = [];
  let current: NewItem[] = [];
  let ops = 0;
  let bytes = 0;
  for (const item of items) {
    const n = opsOf(item).length;
    const size = Buffer.byteLength(item.content) + 512;
    if (current.length && (ops + n > OPS_PER_TXN || bytes + size > BYTES_PER_TXN)) {
      out.push(current);
      [current, ops, bytes] = [[], 0, 0];
    }
    current.push(item);
    ops += n;
    bytes += size;
  }
  if (current.length) out.push(current);
  return out;
}
