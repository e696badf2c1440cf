// Services grouped by placement strategy: each group is planned on its own, with each worker's
// capacity read as its share under that strategy (fleet/placement.ts) — by the planner from
// scratch (planGrouped) or kept between rounds (GroupedPlanner), with the same guarantees per group.
import { shareOf, type Placement } from './fleet/placement.js';
import { IncrementalPlanner, type PlanDelta } from './incremental-planner.js';
import { planAssignments, type Plan, type PlanItem, type PlanWorker } from './planner.js';

/** The fleet as one strategy sees it: capacity is each worker's share. */
export const fleetFor = (placement: Placement, workers: PlanWorker[]): PlanWorker[] =>
  placement === 'capacity' ? workers : workers.map((w) => ({ ...w, capacity: shareOf(placement, w) }));

/** `items` by their strategy (`fallback` for those that name none). */
function byPlacement(items: PlanItem[], fallback: Placement): Map<Placement, PlanItem[]> {
  const groups = new Map<Placement, PlanItem[]>();
  for (const item of items) {
    const p = item.placement ?? fallback;
    const list = groups.get(p);
    if (list) list.push(item);
    else groups.set(p, [item]);
  }
  return groups;
}

/** planAssignments for each group of `items`, by its strategy. */
export function planGrouped(workers: PlanWorker[], items: PlanItem[], current: ReadonlyMap<string, string>, fallback: Placement = 'capacity'): Plan {
  const out: Plan = { assignments: new Map(), moved: [], placed: [], unassignable: [] };
  for (const [p, group] of byPlacement(items, fallback)) {
    const plan = planAssignments(fleetFor(p, workers), group, current);
    for (const [id, w] of plan.assignments) out.assignments.set(id, w);
    out.moved.push(...plan.moved);
    out.placed.push(...plan.placed);
    out.unassignable.push(...plan.unassignable);
  }
  return out;
}

const merge = (into: PlanDelta, d: PlanDelta) => {
  for (const [id, w] of d.assign) into.assign.set(id, w);
  into.unassign.push(...d.unassign);
  into.moved.push(...d.moved);
  into.placed.push(...d.placed);
};
const emptyDelta = (): PlanDelta => ({ assign: new Map(), unassign: [], moved: [], placed: [] });

/** An IncrementalPlanner per strategy, behind one face. */
export class GroupedPlanner {
  private readonly groups = new Map<Placement, IncrementalPlanner>();
  private readonly groupOf = new Map<string, Placement>();
  private workers: PlanWorker[] = [];

  constructor(private readonly fallback: Placement = 'capacity') {}

  /** Whether every group holds a plan for exactly these workers. */
  planned(workers: PlanWorker[]): boolean {
    // With no group yet, the workers are only remembered (updateWorkers does it) for the first group to start from.
    return this.groups.size > 0 && [...this.groups].every(([p, g]) => g.planned(fleetFor(p, workers)));
  }

  /** Keeps a plan made by planGrouped. */
  adopt(workers: PlanWorker[], items: PlanItem[], assignments: ReadonlyMap<string, string>): void {
    this.workers = workers;
    this.groups.clear();
    this.groupOf.clear();
    for (const [p, group] of byPlacement(items, this.fallback)) {
      this.group(p).adopt(fleetFor(p, workers), group, assignments);
      for (const item of group) this.groupOf.set(item.id, p);
    }
  }

  /** Workers joined or left (see IncrementalPlanner.updateWorkers); undefined: plan from scratch. */
  updateWorkers(workers: PlanWorker[]): PlanDelta | undefined {
    const delta = emptyDelta();
    for (const [p, g] of this.groups) {
      const fleet = fleetFor(p, workers);
      if (g.planned(fleet)) continue;
      const d = g.updateWorkers(fleet);
      if (!d) return undefined;
      merge(delta, d);
    }
    this.workers = workers;
    return delta;
  }

  /** Adds or changes `upserts` (an item may change strategy), takes out `removals`. */
  update(upserts: PlanItem[], removals: string[]): PlanDelta {
    const removed = new Map<Placement, string[]>();
    const added = new Map<Placement, PlanItem[]>();
    const push = <T>(m: Map<Placement, T[]>, p: Placement, v: T) => (m.get(p) ?? m.set(p, []).get(p)!).push(v);
    const moved = new Set<string>();
    for (const id of removals) {
      const p = this.groupOf.get(id);
      if (p) push(removed, p, id);
      this.groupOf.delete(id);
    }
    for (const item of upserts) {
      const p = item.placement ?? this.fallback;
      const was = this.groupOf.get(item.id);
      if (was && was !== p) (push(removed, was, item.id), moved.add(item.id));
      push(added, p, item);
      this.groupOf.set(item.id, p);
    }
    const delta = emptyDelta();
    for (const p of new Set([...removed.keys(), ...added.keys()])) merge(delta, this.group(p).update(added.get(p) ?? [], removed.get(p) ?? []));
    // An item that changed strategy was taken out of one group and put in another: it is assigned, not unassigned.
    delta.unassign = delta.unassign.filter((id) => !(moved.has(id) && delta.assign.has(id)));
    return delta;
  }

  get size(): number {
    let n = 0;
    for (const g of this.groups.values()) n += g.size;
    return n;
  }

  assignment(id: string): string | undefined {
    const p = this.groupOf.get(id);
    return p ? this.groups.get(p)?.assignment(id) : undefined;
  }

  unassignableIds(): string[] {
    return [...this.groups.values()].flatMap((g) => g.unassignableIds());
  }

  private group(p: Placement): IncrementalPlanner {
    let g = this.groups.get(p);
    if (!g) {
      g = new IncrementalPlanner();
      g.adopt(fleetFor(p, this.workers), [], new Map());
      this.groups.set(p, g);
    }
    return g;
  }
}
