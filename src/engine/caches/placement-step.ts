// What the leader writes for one partition, given its placement and the planner's wish. Pure.
//
// - A partition never placed takes the plan at once (it has no data to copy).
// - A holder that died is dropped at once (a new epoch: the survivors hold it, the planned owner
//   first if it survived); what the plan adds is left for them to copy (`next`).
// - A plan that only drops or reorders live holders is switched to at once.
// - A plan that adds workers becomes `next`: they copy the partition from its owner, and the owner
//   switches once they have caught up (copy first, switch after: no acknowledged write is lost).
// - A plan with no worker at all (every worker draining) changes nothing: data is never dropped
//   for want of a place to put it.
// - Every holder gone but a live one of `prev` (a switch whose new holders died before the take-over
//   finished): the `prev` ones hold the id again; the data is theirs.
// Every change of the holders is a new epoch; the holders it replaces join `prev` until the new
// owner has brought the new holders in line.
import type { PartitionPlacement } from './cache-model.js';

const same = (a: readonly string[] | undefined, b: readonly string[] | undefined) => (a ?? []).join('\0') === (b ?? []).join('\0');
const union = (...lists: Array<readonly string[] | undefined>) => [...new Set(lists.flatMap((l) => l ?? []))];

/** The placement to write for a partition at `current` the planner would give `plan`, or undefined for none. */
export function placementStep(current: PartitionPlacement, plan: readonly string[], live: (worker: string) => boolean): PartitionPlacement | undefined {
  const H = current.holders;
  const survivors = H.filter(live);
  const switchTo = (holders: string[], next?: readonly string[]): PartitionPlacement => {
    const p: PartitionPlacement = { holders, epoch: current.epoch + 1 };
    const prev = H.length && survivors.length ? union(current.prev, H) : [];
    if (prev.length) p.prev = prev;
    if (next && !same(next, holders)) p.next = [...next];
    return p;
  };
  if (plan.length === 0) return undefined;
  if (survivors.length === 0) {
    // Every holder gone, but an earlier holder not yet released (prev) lives: it holds the data; it holds the id again.
    const keepers = (current.prev ?? []).filter(live);
    if (keepers.length) {
      const owner = keepers.includes(plan[0]) ? plan[0] : keepers[0];
      const p: PartitionPlacement = { holders: [owner, ...keepers.filter((w) => w !== owner)], epoch: current.epoch + 1, prev: union(current.prev, H) };
      if (!same(plan, p.holders)) p.next = [...plan];
      return p;
    }
    // Never placed, or every copy lost with its holders: the plan at once, empty.
    return same(H, plan) ? undefined : switchTo([...plan]);
  }
  if (survivors.length < H.length) {
    if (plan.every((w) => survivors.includes(w))) return switchTo([...plan]);
    const owner = survivors.includes(plan[0]) ? plan[0] : survivors[0];
    return switchTo([owner, ...survivors.filter((w) => w !== owner)], plan);
  }
  if (same(plan, H)) return current.next ? withoutNext(current) : undefined;
  if (plan.every((w) => H.includes(w))) return switchTo([...plan]);
  return same(current.next, plan) ? undefined : { ...current, next: [...plan] };
}

function withoutNext(p: PartitionPlacement): PartitionPlacement {
  const { next: _next, ...rest } = p;
  return rest;
}

/** The placement the owner writes once every worker of `next` holds a caught-up copy. */
export function switchToNext(current: PartitionPlacement): PartitionPlacement {
  const p: PartitionPlacement = { holders: [...current.next!], epoch: current.epoch + 1, prev: union(current.prev, current.holders) };
  return p;
}

/** Whether `worker` should keep its copy under `p`: a holder, a next holder or a holder not yet brought in line. */
export function keepsCopy(p: PartitionPlacement, worker: string): boolean {
  return p.holders.includes(worker) || Boolean(p.next?.includes(worker)) || Boolean(p.prev?.includes(worker));
}
