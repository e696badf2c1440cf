// A new epoch's owner brings every holder in line before it serves (as a new Raft leader or a
// Viewstamped Replication primary does): it has each holder of this epoch and of the earlier ones
// still pending (`prev`) promise the new epoch — from then on none of them accepts a write of an
// older one — reads where each copy stands, takes the most advanced copy (highest synced epoch,
// then most writes: it holds every acknowledged write), and has every holder that differs copy it.
// Only then does it serve, and clear `prev` (those workers may drop their copies).
import type { PartitionPlacement } from './cache-model.js';
import { PeerUnreachableError } from './cache-peers.js';
import { NO_COPY } from './held-copies.js';
import { backoff, pullSnapshot, type HolderContext } from './holder-context.js';

/** Where a copy stands, as a prepare reports it. */
interface Standing {
  worker: string;
  synced: number;
  seq: number;
}

/** Raised when the epoch was overtaken while the owner was taking over (a newer placement rules). */
class Overtaken extends Error {}

/** Takes over partition `cache/id` at `p.epoch`; false if the epoch was overtaken or the holder stopped. */
export async function takeOver(ctx: HolderContext, cache: string, id: string, p: PartitionPlacement): Promise<boolean> {
  try {
    const members = [...new Set([...p.holders, ...(p.prev ?? [])])];
    const standings = (await Promise.all(members.map((w) => prepare(ctx, w, cache, id, p.epoch)))).filter((s): s is Standing => s !== undefined);
    const best = standings.reduce<Standing | undefined>((a, s) => (!a || s.synced > a.synced || (s.synced === a.synced && s.seq > a.seq) ? s : a), undefined);
    const mine = standings.find((s) => s.worker === ctx.self)!;
    if (!best || best.synced < 0) {
      ctx.copies.createEmpty(cache, id, p.epoch);
      if (p.epoch > 1) ctx.log.warn('a cache partition lost every copy with its holders: it starts empty', { cache, id, epoch: p.epoch });
    } else if (best.synced !== mine.synced || best.seq !== mine.seq) {
      const snap = await until(ctx, cache, id, p.epoch, () => pullSnapshot(ctx, best.worker, cache, id, { epoch: p.epoch }));
      ctx.copies.install(cache, id, snap, snap.synced);
    }
    const now = ctx.copies.state(cache, id)!;
    const same = { synced: now.synced, seq: now.seq };
    await Promise.all(
      p.holders
        .filter((w) => w !== ctx.self)
        .map((w) => {
          const s = standings.find((x) => x.worker === w);
          const meta = s && s.synced === same.synced && s.seq === same.seq ? { epoch: p.epoch, same } : { epoch: p.epoch, from: ctx.self };
          return until(ctx, cache, id, p.epoch, async () => {
            const r = await ctx.call(w, { op: 'sync', cache, id, meta }, 60_000);
            if (r.status === 409 && r.meta.error === 'stale') throw new Overtaken();
            if (r.status === 409 && r.meta.error === 'differs') {
              meta.from = ctx.self;
              delete (meta as { same?: unknown }).same;
            }
            return r.status === 200 ? true : undefined;
          });
        }),
    );
    now.synced = p.epoch;
    return true;
  } catch (err) {
    if (err instanceof Overtaken) return false;
    throw err;
  }
}

/** A holder's standing after it promised `epoch` (undefined: it is gone, so it holds nothing to wait for). */
async function prepare(ctx: HolderContext, worker: string, cache: string, id: string, epoch: number): Promise<Standing | undefined> {
  if (worker === ctx.self) {
    const s = ctx.copies.state(cache, id);
    if (s && s.promised > epoch) throw new Overtaken();
    if (s) s.promised = epoch;
    return s && !s.copying ? { worker, synced: s.synced, seq: s.seq } : { worker, ...NO_COPY };
  }
  return until(ctx, cache, id, epoch, async () => {
    if (!ctx.dir.live(worker)) return null;
    const r = await ctx.call(worker, { op: 'prepare', cache, id, meta: { epoch } });
    if (r.status === 409) throw new Overtaken();
    if (r.status !== 200) return undefined;
    return { worker, synced: Number(r.meta.synced), seq: Number(r.meta.seq) };
  }).then((s) => s ?? undefined);
}

/** Calls `attempt` until it gives an answer (not undefined), while the epoch is current; a worker out of reach is tried again. */
async function until<T>(ctx: HolderContext, cache: string, id: string, epoch: number, attempt: () => Promise<T | undefined>): Promise<T> {
  for (let n = 0; ; n++) {
    if (!ctx.running()) throw new Overtaken();
    try {
      const v = await attempt();
      if (v !== undefined) return v;
    } catch (err) {
      if (!(err instanceof PeerUnreachableError)) throw err;
    }
    await backoff(n);
    // Only the current epoch's take-over goes on: a newer placement starts its own.
    if (ctx.dir.get(cache, id)?.placement.epoch !== epoch) throw new Overtaken();
  }
}
