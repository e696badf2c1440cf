// The balance both planners keep (planner.ts, incremental-planner.ts). A worker's quota of a group's
// load is its share of it: λ × its capacity, where λ is the group's load per unit of capacity; its
// excess is its load minus that quota. A move of an item of weight w from a to b improves the plan
// when b's excess after taking it stays below a's before: excess(b) + w < excess(a). A plan no such
// move improves has every worker within one item (of the heaviest weight) of its quota, whatever
// the capacities — unlike comparing load ÷ capacity, which lets a worker of large share run several
// items over it (D'Hondt's flaw), and which CPU and memory placements, of very unequal shares, hit.

/** Below this, two excesses are equal (float noise): a move must improve by more. */
export const EPS = 1e-9;

/** λ: the load per unit of capacity. */
export const perCapacity = (totalLoad: number, totalCapacity: number): number => (totalCapacity > 0 ? totalLoad / totalCapacity : 0);

/** Orders workers by excess, most over its quota first, ties by index. */
export function byExcessDesc(load: number[], cap: number[], lambda: number): (a: number, b: number) => number {
  return (a, b) => {
    const d = load[b] - lambda * cap[b] - (load[a] - lambda * cap[a]);
    return Math.abs(d) <= EPS ? a - b : d;
  };
}

/** The eligible worker (other than `from`) with the least excess, ties by index. */
export function leastExcess(eligible: number[], from: number, load: number[], cap: number[], lambda: number): number {
  let best = -1;
  let bestExcess = Infinity;
  for (const i of eligible) {
    if (i === from) continue;
    const e = load[i] - lambda * cap[i];
    if (e < bestExcess - EPS || (Math.abs(e - bestExcess) <= EPS && i < best)) (best = i), (bestExcess = e);
  }
  return best;
}

/** How much moving weight `w` from `from` to `to` improves (> EPS: it does). */
export const gain = (from: number, to: number, w: number, load: number[], cap: number[], lambda: number): number => load[from] - lambda * cap[from] - (load[to] + w - lambda * cap[to]);
