// The planner kept between rounds (DESIGN "Data flow": the leader's work per change is O(what
// changed)). The first round, and a change of a worker's capacity, labels or draining, plans from
// scratch with planAssignments. After that an item added, changed or removed is placed or taken
// out on its own — on the eligible worker whose relative load is lowest after taking it, the same
// rule — and single improving moves are made until none is left, items placed or moved in this
// round first; a worker joining or leaving is followed the same way (a leaver's items placed, a
// joiner filled by single moves). A round after one item's change costs O(workers × classes), not
// O(items); the result keeps planAssignments' guarantees: complete, balanced (no single move
// improves it), sticky (an item moves only when balance asks).
import { byExcessDesc, EPS, gain, leastExcess, perCapacity } from './balance.js';
import { selects, type Selector } from './model.js';
import { planAssignments, type Plan, type PlanItem, type PlanWorker } from './planner.js';

interface Cls {
  selector: Selector;
  eligible: number[];
  eligibleSet: Set<number>;
  /** How many items of each weight the class has: mixed weights make every item a candidate to move. */
  weights: Map<number, number>;
}

interface Entry {
  item: PlanItem;
  cls: Cls;
  /** Worker index, or -1. */
  w: number;
}

/** What one update changed: the items whose worker is new, and those left with none. */
export interface PlanDelta {
  /** item → its new worker. */
  assign: Map<string, string>;
  /** Items that had a worker and now have none (removed, or no worker may run them any more). */
  unassign: string[];
  /** Of `assign`: items that ran on a worker before. */
  moved: string[];
  /** Of `assign`: items that had no worker. */
  placed: string[];
}

const selectorKey = (s: Selector) => JSON.stringify(Object.entries(s).sort());
const fleetKey = (workers: PlanWorker[]) =>
  JSON.stringify(workers.map((w) => [w.id, w.capacity, selectorKey(w.labels), w.draining]).sort((a, b) => (a[0] < b[0] ? -1 : a[0] > b[0] ? 1 : 0)));

/** planAssignments, kept between rounds and updated by what changed. */
export class IncrementalPlanner {
  private ws: PlanWorker[] = [];
  private cap: number[] = [];
  /** Load per unit of capacity (see balance.ts), for the update under way. */
  private lambda = 0;
  private load: number[] = [];
  private slots: Array<Map<Cls, Set<string>>> = [];
  private classes = new Map<string, Cls>();
  private readonly items = new Map<string, Entry>();
  private readonly unassignable = new Set<string>();
  private fleet: string | undefined;
  /** The workers the plan is for, as given (draining ones too), by id. */
  private known = new Map<string, PlanWorker>();

  /** Whether the planner holds a plan for exactly these workers (else reset it). */
  planned(workers: PlanWorker[]): boolean {
    return this.fleet === fleetKey(workers);
  }

  /** Plans from scratch, as planAssignments does, and keeps the result. */
  reset(workers: PlanWorker[], items: PlanItem[], current: ReadonlyMap<string, string>): Plan {
    const plan = planAssignments(workers, items, current);
    this.adopt(workers, items, plan.assignments);
    return plan;
  }

  /** Keeps `assignments`, a plan planAssignments made for `workers` and `items`, to update from. */
  adopt(workers: PlanWorker[], items: PlanItem[], assignments: ReadonlyMap<string, string>): void {
    this.ws = workers.filter((w) => !w.draining && w.capacity > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const index = new Map(this.ws.map((w, i) => [w.id, i]));
    this.cap = this.ws.map((w) => w.capacity);
    this.load = this.ws.map(() => 0);
    this.slots = this.ws.map(() => new Map());
    this.classes.clear();
    this.items.clear();
    this.unassignable.clear();
    for (const item of items) {
      const entry: Entry = { item, cls: this.classOf(item), w: -1 };
      this.items.set(item.id, entry);
      const to = index.get(assignments.get(item.id) ?? '');
      if (to === undefined) this.unassignable.add(item.id);
      else this.attach(entry, to);
    }
    this.fleet = fleetKey(workers);
    this.known = new Map(workers.map((w) => [w.id, w]));
  }

  /**
   * Follows workers joining and leaving (the others unchanged): a leaver's items are placed like new
   * ones and a joiner takes items by single improving moves, as few as balance asks. Costs
   * O(items) of bookkeeping, not a plan from scratch. Any other change of the workers (capacity,
   * labels, draining) returns undefined: plan from scratch.
   */
  updateWorkers(workers: PlanWorker[]): PlanDelta | undefined {
    const same = (a: PlanWorker, b: PlanWorker) => a.capacity === b.capacity && a.draining === b.draining && selectorKey(a.labels) === selectorKey(b.labels);
    for (const w of workers) {
      const old = this.known.get(w.id);
      if (old && !same(old, w)) return undefined;
    }
    const before = new Map<string, string | undefined>();
    const note = (id: string) => before.has(id) || before.set(id, this.assignment(id));
    const ws = workers.filter((w) => !w.draining && w.capacity > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
    const index = new Map(ws.map((w, i) => [w.id, i]));
    // Each item's worker, by id, before the indices change.
    const owner = new Map<Entry, string | undefined>();
    for (const e of this.items.values()) owner.set(e, e.w >= 0 ? this.ws[e.w].id : undefined);
    this.ws = ws;
    this.cap = ws.map((w) => w.capacity);
    this.load = ws.map(() => 0);
    this.slots = ws.map(() => new Map());
    for (const c of this.classes.values()) {
      c.eligible = ws.flatMap((w, i) => (selects(c.selector, w.labels) ? [i] : []));
      c.eligibleSet = new Set(c.eligible);
    }
    const homeless: Entry[] = [];
    for (const [e, id] of owner) {
      const to = id === undefined ? undefined : index.get(id);
      e.w = -1;
      if (to !== undefined) this.attach(e, to);
      else if (id !== undefined || e.cls.eligible.length > 0) homeless.push(e); // its worker left, or a joiner may run it
    }
    const given = new Set<string>();
    let total = 0;
    for (const e of this.items.values()) if (e.cls.eligible.length > 0) total += e.item.weight;
    this.setLambda(total);
    for (const e of homeless) {
      before.set(e.item.id, owner.get(e));
      if (e.cls.eligible.length === 0) {
        this.unassignable.add(e.item.id);
        continue;
      }
      this.unassignable.delete(e.item.id);
      this.attach(e, this.lowestAfter(e.cls.eligible, -1));
      given.add(e.item.id);
    }
    this.rebalance(given, note);
    this.fleet = fleetKey(workers);
    this.known = new Map(workers.map((w) => [w.id, w]));
    const delta: PlanDelta = { assign: new Map(), unassign: [], moved: [], placed: [] };
    for (const [id, from] of before) {
      const to = this.assignment(id);
      if (to === from) continue;
      if (to === undefined) delta.unassign.push(id);
      else {
        delta.assign.set(id, to);
        (from !== undefined ? delta.moved : delta.placed).push(id);
      }
    }
    return delta;
  }

  /** How many items the planner holds. */
  get size(): number {
    return this.items.size;
  }

  /** The worker item `id` is planned on. */
  assignment(id: string): string | undefined {
    const w = this.items.get(id)?.w ?? -1;
    return w >= 0 ? this.ws[w].id : undefined;
  }

  /** Items no worker may run now. */
  unassignableIds(): string[] {
    return [...this.unassignable];
  }

  /** Adds or changes `upserts`, takes out `removals`, and rebalances; returns what changed. */
  update(upserts: PlanItem[], removals: string[]): PlanDelta {
    const before = new Map<string, number>();
    const note = (id: string) => before.has(id) || before.set(id, this.items.get(id)?.w ?? -1);
    const given = new Set<string>();
    for (const id of removals) {
      const e = this.items.get(id);
      if (!e) continue;
      note(id);
      this.detach(e);
      this.forget(e);
      this.items.delete(id);
      this.unassignable.delete(id);
    }
    // The load once these are in: the quotas new items are placed by are shares of it.
    let total = this.load.reduce((a, b) => a + b, 0);
    for (const item of upserts) {
      const old = this.items.get(item.id);
      if (old && old.w >= 0) total -= old.item.weight;
      if (this.canRun(item.selector)) total += item.weight;
    }
    this.setLambda(total);
    for (const item of upserts) {
      const old = this.items.get(item.id);
      if (old && old.item.weight === item.weight && selectorKey(old.item.selector) === selectorKey(item.selector)) continue;
      note(item.id);
      const keep = old?.w ?? -1;
      if (old) (this.detach(old), this.forget(old));
      const entry: Entry = { item, cls: this.classOf(item), w: -1 };
      this.items.set(item.id, entry);
      if (entry.cls.eligible.length === 0) {
        this.unassignable.add(item.id);
        continue;
      }
      this.unassignable.delete(item.id);
      if (keep >= 0 && entry.cls.eligibleSet.has(keep)) this.attach(entry, keep);
      else {
        this.attach(entry, this.lowestAfter(entry.cls.eligible, -1));
        given.add(item.id);
      }
    }
    this.rebalance(given, note);
    const delta: PlanDelta = { assign: new Map(), unassign: [], moved: [], placed: [] };
    for (const [id, w0] of before) {
      const w1 = this.items.get(id)?.w ?? -1;
      if (w1 === w0) continue;
      if (w1 < 0) delta.unassign.push(id);
      else {
        delta.assign.set(id, this.ws[w1].id);
        (w0 >= 0 ? delta.moved : delta.placed).push(id);
      }
    }
    return delta;
  }

  private classOf(item: PlanItem): Cls {
    const key = selectorKey(item.selector);
    let c = this.classes.get(key);
    if (!c) {
      const eligible = this.ws.flatMap((w, i) => (selects(item.selector, w.labels) ? [i] : []));
      c = { selector: item.selector, eligible, eligibleSet: new Set(eligible), weights: new Map() };
      this.classes.set(key, c);
    }
    c.weights.set(item.weight, (c.weights.get(item.weight) ?? 0) + 1);
    return c;
  }

  /** Whether some worker may run items of `selector`. */
  private canRun(selector: Selector): boolean {
    const c = this.classes.get(selectorKey(selector));
    return c ? c.eligible.length > 0 : this.ws.some((w) => selects(selector, w.labels));
  }

  /** Takes an entry's weight out of its class's weight counts. */
  private forget(e: Entry): void {
    const n = (e.cls.weights.get(e.item.weight) ?? 1) - 1;
    if (n > 0) e.cls.weights.set(e.item.weight, n);
    else e.cls.weights.delete(e.item.weight);
  }

  private attach(e: Entry, w: number): void {
    e.w = w;
    this.load[w] += e.item.weight;
    let s = this.slots[w].get(e.cls);
    if (!s) this.slots[w].set(e.cls, (s = new Set()));
    s.add(e.item.id);
  }

  private detach(e: Entry): void {
    if (e.w < 0) return;
    this.load[e.w] -= e.item.weight;
    this.slots[e.w].get(e.cls)?.delete(e.item.id);
    e.w = -1;
  }

  /** The eligible worker (other than `from`) furthest below its quota, ties by index. */
  private lowestAfter(eligible: number[], from: number): number {
    return leastExcess(eligible, from, this.load, this.cap, this.lambda);
  }

  /** Sets λ (load per unit of capacity) for `total` load: what the quotas of this update are shares of. */
  private setLambda(total: number): void {
    this.lambda = perCapacity(total, this.cap.reduce((a, b) => a + b, 0));
  }

  /** Single improving moves until none is left: from the most loaded worker, items of this round first, lightest first. */
  private rebalance(given: Set<string>, note: (id: string) => void): void {
    const { load, cap } = this;
    this.setLambda(load.reduce((a, b) => a + b, 0));
    const excess = (w: number) => load[w] - this.lambda * cap[w];
    for (;;) {
      const ranked = this.ws.map((_, i) => i).sort(byExcessDesc(load, cap, this.lambda));
      const least = ranked[ranked.length - 1];
      let moved = false;
      for (const from of ranked) {
        // Nothing can land below the excess of the worker furthest under its quota: no move from here on improves.
        if (least === undefined || excess(from) <= excess(least) + EPS) break;
        const move = this.moveFrom(from, given);
        if (!move) continue;
        const e = this.items.get(move.id)!;
        note(move.id);
        this.detach(e);
        this.attach(e, move.to);
        given.add(move.id);
        moved = true;
        break;
      }
      if (!moved) return;
    }
  }

  /**
   * Items of one class on one worker worth trying to move: items of this round first (moving them
   * again costs nothing); with one weight in the class any one will do, with mixed weights every one,
   * lightest first. Costs O(this round's items) unless weights are mixed.
   */
  private candidates(ids: Set<string>, cls: Cls, given: Set<string>): string[] {
    const fresh: string[] = [];
    for (const id of given) if (ids.has(id)) fresh.push(id);
    if (cls.weights.size <= 1) return fresh.length ? [fresh[0]] : [ids.values().next().value as string];
    const weight = (id: string) => this.items.get(id)!.item.weight;
    const rest = [...ids].filter((id) => !given.has(id));
    return [...fresh.sort((a, b) => weight(a) - weight(b)), ...rest.sort((a, b) => weight(a) - weight(b))];
  }

  /** The best improving move of one item off worker `from`, if any. */
  private moveFrom(from: number, given: Set<string>): { id: string; to: number } | undefined {
    let best: { id: string; to: number; gain: number } | undefined;
    for (const [cls, ids] of this.slots[from]) {
      if (ids.size === 0) continue;
      for (const id of this.candidates(ids, cls, given)) {
        const weight = this.items.get(id)!.item.weight;
        const to = this.lowestAfter(cls.eligible, from);
        if (to < 0) continue;
        const g = gain(from, to, weight, this.load, this.cap, this.lambda);
        if (g <= EPS) continue;
        if (!best || g > best.gain + EPS) best = { id, to, gain: g };
        break;
      }
    }
    return best;
  }
}
