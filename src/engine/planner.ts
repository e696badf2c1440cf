// The planner: which worker runs which item. Pure, no I/O; the leader calls it on every change.
//
// 1. Keep every current assignment that is still valid (worker live, not draining, selector ok).
// 2. Place the rest, most constrained classes first, each on the eligible worker furthest below
//    its quota (its share of the load, by capacity: see balance.ts).
// 3. Rebalance: while some item can move to an eligible worker and stay below the excess of the
//    worker it leaves, move it, from the workers most over their quota first; items placed or moved
//    in this plan go before items that are running, so no running item moves without need.
// The result is balanced (no single move improves it: every worker within one item of its quota)
// and sticky (a balanced input is returned unchanged); without selectors its moves are the
// minimum, Σ max(0, load - quota) + new items.
import { byExcessDesc, EPS, gain, leastExcess, perCapacity } from './balance.js';
import type { Placement } from './fleet/placement.js';
import { selects, type Selector } from './model.js';

export interface PlanWorker {
  id: string;
  /** Relative share of the load (>= 1). */
  capacity: number;
  labels: Record<string, string>;
  draining: boolean;
  /** Resources, for placements by CPU or memory (see fleet/placement.ts). */
  cpus?: number;
  memoryAvailable?: number;
  maxMemory?: number;
}

export interface PlanItem {
  id: string;
  /** Relative load (>= 1). */
  weight: number;
  selector: Selector;
  /** How its group shares the fleet (default: the leader's). */
  placement?: Placement;
}

export interface Plan {
  /** item id → worker id, for every item that has an eligible worker. */
  assignments: Map<string, string>;
  /** Items that were on a valid worker and now go to another. */
  moved: string[];
  /** Items that had no valid worker and now have one. */
  placed: string[];
  /** Items no live, non-draining worker may run. */
  unassignable: string[];
}

interface Placed {
  item: PlanItem;
  /** Index of the worker that ran it before this plan (-1: none). */
  origin: number;
}

interface ItemClass {
  eligible: number[];
  eligibleSet: Set<number>;
  mixedWeights: boolean;
}

/** Lists of one class's items on one worker: those it ran before (kept) and those this plan gave it. */
interface Slot {
  kept: Placed[];
  given: Placed[];
}

const byId = <T extends { id: string }>(a: T, b: T) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0);

/** Plans assignments of `items` to `workers`, starting from `current` (item id → worker id). */
export function planAssignments(workers: PlanWorker[], items: PlanItem[], current: ReadonlyMap<string, string>): Plan {
  const ws = workers.filter((w) => !w.draining && w.capacity > 0).sort(byId);
  const index = new Map(ws.map((w, i) => [w.id, i]));
  const cap = ws.map((w) => w.capacity);
  const load = new Array<number>(ws.length).fill(0);
  const slots: Array<Map<ItemClass, Slot>> = ws.map(() => new Map());
  const classes = new Map<string, ItemClass>();
  const pending = new Map<ItemClass, Placed[]>();
  const unassignable: string[] = [];

  const classOf = (selector: Selector): ItemClass => {
    const key = JSON.stringify(Object.entries(selector).sort());
    let c = classes.get(key);
    if (!c) {
      const eligible = ws.flatMap((w, i) => (selects(selector, w.labels) ? [i] : []));
      c = { eligible, eligibleSet: new Set(eligible), mixedWeights: false };
      classes.set(key, c);
    }
    return c;
  };
  const slot = (w: number, c: ItemClass): Slot => {
    let s = slots[w].get(c);
    if (!s) slots[w].set(c, (s = { kept: [], given: [] }));
    return s;
  };

  // 1. Keep what is still valid.
  const weightOf = new Map<ItemClass, number>();
  for (const item of [...items].sort(byId)) {
    const c = classOf(item.selector);
    if (weightOf.has(c) && weightOf.get(c) !== item.weight) c.mixedWeights = true;
    weightOf.set(c, item.weight);
    if (c.eligible.length === 0) {
      unassignable.push(item.id);
      continue;
    }
    const w = index.get(current.get(item.id) ?? '');
    const placed: Placed = { item, origin: w ?? -1 };
    if (w !== undefined && c.eligibleSet.has(w)) {
      slot(w, c).kept.push(placed);
      load[w] += item.weight;
    } else {
      if (!pending.has(c)) pending.set(c, []);
      pending.get(c)!.push(placed);
    }
  }

  // λ: the load per unit of capacity once every placeable item is placed (quotas are shares of it).
  let total = load.reduce((a, b) => a + b, 0);
  for (const list of pending.values()) for (const p of list) total += p.item.weight;
  const lambda = perCapacity(total, cap.reduce((a, b) => a + b, 0));

  // 2. Place the rest, most constrained classes first, heaviest items first.
  const order = [...pending.keys()].sort((a, b) => a.eligible.length - b.eligible.length);
  for (const c of order) {
    const heap = new LevelHeap(c.eligible, load, cap, lambda);
    const batch = pending.get(c)!.sort((a, b) => b.item.weight - a.item.weight || byId(a.item, b.item));
    for (const p of batch) {
      const w = heap.popMin();
      slot(w, c).given.push(p);
      load[w] += p.item.weight;
      heap.push(w);
    }
  }

  // 3. Rebalance with single improving moves, the worker most over its quota first.
  const ranked = ws.map((_, i) => i).sort(byExcessDesc(load, cap, lambda));
  for (;;) {
    const move = findMove(ranked, slots, load, cap, lambda);
    if (!move) break;
    const { from, to, cls, list, at } = move;
    const [p] = list.splice(at, 1);
    load[from] -= p.item.weight;
    load[to] += p.item.weight;
    const dest = slot(to, cls);
    (p.origin === to ? dest.kept : dest.given).push(p);
    rerank(ranked, [from, to], load, cap, lambda);
  }

  const assignments = new Map<string, string>();
  slots.forEach((byClass, w) => {
    for (const s of byClass.values()) for (const p of [...s.kept, ...s.given]) assignments.set(p.item.id, ws[w].id);
  });
  // Moved: it ran on a live worker (draining included) and now goes elsewhere. Placed: it had none.
  const live = new Set(workers.map((w) => w.id));
  const moved: string[] = [];
  const placed: string[] = [];
  for (const [id, to] of assignments) {
    const before = current.get(id);
    if (before === to) continue;
    (before !== undefined && live.has(before) ? moved : placed).push(id);
  }
  return { assignments, moved: moved.sort(), placed: placed.sort(), unassignable };
}

interface Move {
  from: number;
  to: number;
  cls: ItemClass;
  list: Placed[];
  at: number;
}

/** The first improving single move, scanning workers from the one most over its quota. */
function findMove(ranked: number[], slots: Array<Map<ItemClass, Slot>>, load: number[], cap: number[], lambda: number): Move | undefined {
  for (const from of ranked) {
    if (load[from] === 0) continue;
    let best: (Move & { gain: number }) | undefined;
    for (const [cls, s] of slots[from]) {
      if (s.kept.length + s.given.length === 0) continue;
      // Prefer items this plan already touched: moving them again costs nothing more.
      for (const list of [s.given, s.kept]) {
        for (const at of candidates(list, cls)) {
          const w = list[at].item.weight;
          const to = leastExcess(cls.eligible, from, load, cap, lambda);
          if (to < 0) continue;
          const g = gain(from, to, w, load, cap, lambda);
          if (g <= EPS) continue;
          if (!best || g > best.gain + EPS) best = { from, to, cls, list, at, gain: g };
          break;
        }
        if (best) break;
      }
    }
    if (best) return best;
  }
  return undefined;
}

/** Positions in `list` worth trying: the last one, and with mixed weights every one (lightest first). */
function candidates(list: Placed[], cls: ItemClass): number[] {
  if (list.length === 0) return [];
  if (!cls.mixedWeights) return [list.length - 1];
  return list.map((_, i) => i).sort((a, b) => list[a].item.weight - list[b].item.weight || b - a);
}

/** Puts `changed` workers back in their places in `ranked` (most over quota first) after their loads changed. */
function rerank(ranked: number[], changed: number[], load: number[], cap: number[], lambda: number): void {
  for (const w of changed) ranked.splice(ranked.indexOf(w), 1);
  const order = byExcessDesc(load, cap, lambda);
  const before = (a: number, b: number) => order(a, b) < 0;
  for (const w of changed) {
    let lo = 0;
    let hi = ranked.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (before(ranked[mid], w)) lo = mid + 1;
      else hi = mid;
    }
    ranked.splice(lo, 0, w);
  }
}

/** Min-heap of worker indices by excess over their quota, ties by index. */
class LevelHeap {
  private readonly heap: number[] = [];

  constructor(
    members: number[],
    private readonly load: number[],
    private readonly cap: number[],
    private readonly lambda: number,
  ) {
    for (const m of members) this.push(m);
  }

  push(w: number): void {
    const h = this.heap;
    h.push(w);
    let i = h.length - 1;
    while (i > 0) {
      const parent = (i - 1) >> 1;
      if (!this.less(h[i], h[parent])) break;
      [h[i], h[parent]] = [h[parent], h[i]];
      i = parent;
    }
  }

  popMin(): number {
    const h = this.heap;
    const top = h[0];
    const last = h.pop()!;
    if (h.length > 0) {
      h[0] = last;
      let i = 0;
      for (;;) {
        const l = 2 * i + 1;
        const r = l + 1;
        let m = i;
        if (l < h.length && this.less(h[l], h[m])) m = l;
        if (r < h.length && this.less(h[r], h[m])) m = r;
        if (m === i) break;
        [h[i], h[m]] = [h[m], h[i]];
        i = m;
      }
    }
    return top;
  }

  private less(a: number, b: number): boolean {
    const d = this.load[a] - this.lambda * this.cap[a] - (this.load[b] - this.lambda * this.cap[b]);
    return Math.abs(d) <= EPS ? a < b : d < 0;
  }
}
