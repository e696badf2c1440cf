// The task planner: fills free task slots with queued tasks, oldest first, each on the least busy
// worker whose labels its selector allows. Pure, no I/O. A worker's capacity is its slot count;
// running tasks never move.
import { selects, type Selector } from '../model.js';

export interface SlotWorker {
  id: string;
  /** Task slots. */
  capacity: number;
  labels: Record<string, string>;
  draining: boolean;
}

export interface QueuedTask {
  id: string;
  selector: Selector;
  /** FIFO position (e.g. the create revision of its registry key). */
  order: number;
}

/** New assignments of queued tasks, given how many slots each worker already uses. */
export function planTasks(workers: SlotWorker[], queued: QueuedTask[], busy: ReadonlyMap<string, number>): Map<string, string> {
  const ws = workers.filter((w) => !w.draining && w.capacity > 0).sort((a, b) => (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  const used = ws.map((w) => busy.get(w.id) ?? 0);
  let free = ws.reduce((n, w, i) => n + Math.max(0, w.capacity - used[i]), 0);
  const out = new Map<string, string>();
  if (free === 0 || queued.length === 0) return out;
  const eligibleBySelector = new Map<string, number[]>();
  const order = [...queued].sort((a, b) => a.order - b.order || (a.id < b.id ? -1 : a.id > b.id ? 1 : 0));
  for (const task of order) {
    if (free === 0) break;
    const key = JSON.stringify(Object.entries(task.selector).sort());
    let eligible = eligibleBySelector.get(key);
    if (!eligible) eligibleBySelector.set(key, (eligible = ws.flatMap((w, i) => (selects(task.selector, w.labels) ? [i] : []))));
    let best = -1;
    for (const i of eligible) {
      if (used[i] >= ws[i].capacity) continue;
      // Least busy relative to its slots; ties to the lowest id (ws is sorted).
      if (best < 0 || used[i] * ws[best].capacity < used[best] * ws[i].capacity) best = i;
    }
    if (best < 0) continue;
    used[best]++;
    free--;
    out.set(task.id, ws[best].id);
  }
  return out;
}
