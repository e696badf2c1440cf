// What the leader tells /metrics: why each item it moved moved, and how many items there are by
// kind and state. Pure: the term passes in what its views and planner know.
import { isBatchId } from './tasks/batch.js';

/** Why the leader moved an item: its worker left (lost), was drained, or the fleet was rebalanced. */
export type MoveReason = 'balanced' | 'drained' | 'lost';

/** How many of `moved` moved for each reason, given what the leader knows of their old workers. */
export function moveReasons(moved: ReadonlyArray<{ from?: string }>, worker: (id: string) => { draining: boolean } | undefined): Record<MoveReason, number> {
  const out: Record<MoveReason, number> = { balanced: 0, drained: 0, lost: 0 };
  for (const m of moved) {
    const from = m.from === undefined ? undefined : worker(m.from);
    out[from === undefined ? 'lost' : from.draining ? 'drained' : 'balanced']++;
  }
  return out;
}

/** One sample of rota_items. */
export interface ItemCount {
  kind: 'service' | 'task';
  state: 'running' | 'waiting' | 'unplaced' | 'pending' | 'finished';
  count: number;
}

/** What the counts are made of. */
export interface ItemFacts {
  /** Services the planner places, and those of them no worker can take. */
  services: number;
  unassignable: number;
  /** Tasks without a result (waiting or running). */
  tasks: number;
  /** Tasks with a result. */
  results: number;
  /** Ids of the items and task batches claimed now. */
  claimed: Iterable<string>;
}

/** Items by kind and state: services running, waiting for their worker, unplaced; tasks pending and finished. */
export function itemCounts(f: ItemFacts): ItemCount[] {
  let running = 0;
  for (const id of f.claimed) if (!isBatchId(id)) running++;
  const placed = f.services - f.unassignable;
  return [
    { kind: 'service', state: 'running', count: Math.min(running, placed) },
    { kind: 'service', state: 'waiting', count: Math.max(0, placed - running) },
    { kind: 'service', state: 'unplaced', count: f.unassignable },
    { kind: 'task', state: 'pending', count: f.tasks },
    { kind: 'task', state: 'finished', count: f.results },
  ];
}
