// Where a cache's partitions live: each partition on `copies` distinct workers (its owner first,
// then its replicas), on distinct hosts where the fleet has enough of them, every worker holding its
// share of the copies and of the ownerships by the cache's placement strategy. Pure, no I/O.
//
// 1. Keep every holder that is still live (an owner stays owner while it lives).
// 2. Give each partition its missing copies, each on the worker furthest below its quota that does
//    not hold it yet (another host first).
// 3. Rebalance copies by single moves (a replica before an owner) while one improves the balance
//    (see balance.ts: the excess over the quota drops), and the same for ownerships, which pass
//    along chains of holders — no data moves for that. A worker given a copy by this plan never
//    becomes its owner (it has no data yet), unless the copy is the only one.
// A plan that is balanced comes back unchanged; a worker that joins takes copies by single moves,
// as few as balance asks. Data moves are the engine's (copy first, switch after).
import { EPS } from '../balance.js';
import { shareOf, type Placement } from '../fleet/placement.js';
import type { PlanWorker } from '../planner.js';

/** A worker as the partition planner sees it: the planner's, with its host. */
export interface PartitionWorker extends PlanWorker {
  host?: string;
}

/** Partition id → its holders, owner first. */
export type Holders = Map<string, string[]>;

/** Copies each worker should hold: shares of `total`, none over `cap` (one copy per partition). */
export function copyQuotas(shares: number[], total: number, cap: number): number[] {
  const q = new Array<number>(shares.length).fill(0);
  let open = shares.map((_, i) => i);
  let left = total;
  // Water-filling: a worker whose share would pass the cap holds every partition; the rest share what is left.
  for (;;) {
    const sum = open.reduce((n, i) => n + shares[i], 0);
    if (sum <= 0 || left <= 0) break;
    const over = open.filter((i) => (left * shares[i]) / sum > cap);
    if (over.length === 0) {
      for (const i of open) q[i] = (left * shares[i]) / sum;
      break;
    }
    for (const i of over) (q[i] = cap), (left -= cap);
    open = open.filter((i) => !over.includes(i));
  }
  return q;
}

/** Plans the holders of `partitions`, `copies` each, starting from `current`. */
export function planPartitions(workers: PartitionWorker[], partitions: string[], copies: number, current: ReadonlyMap<string, readonly string[]>, placement: Placement): Holders {
  const ws = workers.filter((w) => !w.draining && shareOf(placement, w) > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const index = new Map(ws.map((w, i) => [w.id, i]));
  const n = Math.min(copies, ws.length);
  const shares = ws.map((w) => shareOf(placement, w));
  const P = partitions.length;
  const quota = copyQuotas(shares, n * P, P);
  const ownerQuota = copyQuotas(shares, P, P);
  const host = ws.map((w) => w.host ?? w.id);
  const hosts = new Set(host).size;
  const load = new Array<number>(ws.length).fill(0);
  const owned = new Array<number>(ws.length).fill(0);
  const held: Array<Set<string>> = ws.map(() => new Set());
  const plan = new Map<string, number[]>();
  /** Copies this plan gives to partitions that had holders (partition → workers): they have no data yet, so none may own it. */
  const fresh = new Map<string, Set<number>>();
  /** Partitions that kept a holder from before (their data lives there). */
  const kept = new Set<string>();
  const given = (p: string, w: number) => kept.has(p) && (fresh.get(p) ?? fresh.set(p, new Set()).get(p)!).add(w);

  // 1. Keep the live holders, in their order.
  for (const p of [...partitions].sort()) {
    const keep: number[] = [];
    for (const id of current.get(p) ?? []) {
      const w = index.get(id);
      if (w !== undefined && !keep.includes(w) && keep.length < n) keep.push(w);
    }
    plan.set(p, keep);
    if (keep.length) kept.add(p);
    keep.forEach((w, rank) => (load[w]++, held[w].add(p), rank === 0 && owned[w]++));
  }
  const excess = (w: number) => load[w] - quota[w];
  const leastOwning = (): number => {
    let best = -1;
    for (let w = 0; w < ws.length; w++) if (best < 0 || owned[w] - ownerQuota[w] < owned[best] - ownerQuota[best] - EPS) best = w;
    return best;
  };
  /** The worker that should take a copy of `p`: not holding it, on a new host if any is left, furthest below its quota. */
  const taker = (p: string, except = -1): number => {
    const holders = plan.get(p)!;
    const used = new Set(holders.filter((w) => w !== except).map((w) => host[w]));
    let best = -1;
    let bestNewHost = false;
    for (let w = 0; w < ws.length; w++) {
      if (held[w].has(p)) continue;
      const newHost = !used.has(host[w]) || used.size >= hosts;
      if (best < 0 || (newHost && !bestNewHost) || (newHost === bestNewHost && excess(w) < excess(best) - EPS)) (best = w), (bestNewHost = newHost);
    }
    return best;
  };

  // 2. Missing copies, partition by partition; a partition with none gets its owner first, the worker furthest below its share of ownerships.
  for (const [p, holders] of plan) {
    while (holders.length < n) {
      const w = holders.length === 0 ? leastOwning() : taker(p);
      if (w < 0) break;
      if (holders.length === 0) owned[w]++;
      else given(p, w);
      holders.push(w);
      load[w]++;
      held[w].add(p);
    }
  }

  // 3a. Copies: move one from the worker most over its quota while it improves the balance.
  for (let guard = 0; guard < n * P + ws.length; guard++) {
    const order = ws.map((_, i) => i).sort((a, b) => excess(b) - excess(a));
    let moved = false;
    for (const from of order) {
      if (excess(from) <= excess(order[order.length - 1]) + 1 + EPS) break;
      // The move to the worker furthest under its quota (so no copy hops twice), a replica before an
      // owner's copy (whose ownership then passes to a holder that has the data).
      let best: { p: string; to: number; owner: boolean } | undefined;
      const span = (hs: number[]) => new Set(hs.map((w) => host[w])).size;
      for (const p of held[from]) {
        const to = taker(p, from);
        if (to < 0 || excess(to) + 1 >= excess(from) - EPS) continue;
        // A move never makes a partition span fewer hosts.
        const holders = plan.get(p)!;
        if (span(holders.map((w) => (w === from ? to : w))) < span(holders)) continue;
        const owner = holders[0] === from;
        if (!best || excess(to) < excess(best.to) - EPS || (Math.abs(excess(to) - excess(best.to)) <= EPS && best.owner && !owner)) best = { p, to, owner };
      }
      if (best) {
        const holders = plan.get(best.p)!;
        const rank = holders.indexOf(from);
        given(best.p, best.to);
        (load[from]--, load[best.to]++, held[from].delete(best.p), held[best.to].add(best.p));
        if (rank > 0) holders[rank] = best.to;
        else if (holders.length > 1) {
          // The owner's copy moves: a holder that has the data becomes owner, the new copy a replica.
          holders.splice(0, 1);
          const heir = holders.findIndex((w) => !fresh.get(best!.p)?.has(w));
          if (heir > 0) [holders[0], holders[heir]] = [holders[heir], holders[0]];
          holders.push(best.to);
          (owned[from]--, owned[holders[0]]++);
        } else (holders[0] = best.to), owned[from]--, owned[best.to]++;
        moved = true;
      }
      if (moved) break;
    }
    if (!moved) break;
  }

  // 3b. Ownerships: passed along a chain of holders (u hands one of its partitions to another of its
  // holders v, v one of its own to w…) from a worker over its quota to one under it, while that
  // improves the balance. Only roles change: no data moves.
  const ownerExcess = (w: number) => owned[w] - ownerQuota[w];
  for (let guard = 0; guard < 2 * P + ws.length; guard++) {
    // Edges: u → v, through a partition u owns and v holds.
    const via: Array<Map<number, string>> = ws.map(() => new Map());
    for (const [p, holders] of plan) {
      for (let r = 1; r < holders.length; r++) if (!fresh.get(p)?.has(holders[r]) && !via[holders[0]].has(holders[r])) via[holders[0]].set(holders[r], p);
    }
    const path = ownerPath(ws.length, via, ownerExcess);
    if (!path) break;
    for (let i = 0; i + 1 < path.length; i++) {
      const holders = plan.get(via[path[i]].get(path[i + 1])!)!;
      const r = holders.indexOf(path[i + 1]);
      [holders[0], holders[r]] = [holders[r], holders[0]];
    }
    (owned[path[0]]--, owned[path[path.length - 1]]++);
  }

  return new Map([...plan].map(([p, holders]) => [p, holders.map((w) => ws[w].id)]));
}

/** A chain of ownership hand-overs from a worker over its quota to the reachable one furthest under it, if that improves the balance (BFS: shortest chain). */
function ownerPath(count: number, via: Array<Map<number, string>>, excess: (w: number) => number): number[] | undefined {
  const sources = Array.from({ length: count }, (_, i) => i).sort((a, b) => excess(b) - excess(a));
  for (const s of sources) {
    const from = new Map<number, number>([[s, -1]]);
    const queue = [s];
    let target = -1;
    for (let head = 0; head < queue.length; head++) {
      const u = queue[head];
      for (const v of via[u].keys()) {
        if (from.has(v)) continue;
        from.set(v, u);
        queue.push(v);
        if (excess(v) + 1 < excess(s) - EPS && (target < 0 || excess(v) < excess(target) - EPS)) target = v;
      }
    }
    if (target < 0) continue;
    const path: number[] = [];
    for (let x = target; x !== -1; x = from.get(x)!) path.unshift(x);
    return path;
  }
  return undefined;
}
