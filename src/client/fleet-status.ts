// GET /status: the fleet at a glance, from counts only — the status line is asked for often, and a
// fleet may hold many items. Tasks are counted in their batches (a batch key stands for its tasks).
import type { Keys } from '../engine/keys.js';
import { awayWorkers } from '../engine/fleet/returning.js';
import { taskPlacements } from '../engine/tasks/batch-reads.js';
import { Election } from '../recipes/election.js';
import type { Store } from '../store/index.js';
import type { StatusView } from './types.js';

/** Leader, workers, items (running, assigned, finished) and the workers away for a restart. */
export async function fleetStatus(store: Store, keys: Keys): Promise<StatusView> {
  const count = async (prefix: string) => (await store.range(prefix, { prefix: true, countOnly: true })).count;
  const [items, finished, assignKeys, activeKeys, workers, leader, placements, returning] = await Promise.all([
    count(keys.registry),
    count(keys.results),
    count(keys.assign),
    count(keys.active),
    count(keys.workers),
    Election.leader(store, keys.leader),
    taskPlacements(store, keys),
    awayWorkers(store, keys),
  ]);
  const placed = [...placements.values()];
  const batches = new Set(placed.map((p) => p.batch));
  const claimed = new Set(placed.filter((p) => p.token !== undefined).map((p) => p.batch));
  const assigned = assignKeys - batches.size + placed.length;
  const running = activeKeys - claimed.size + placed.filter((p) => p.token !== undefined).length;
  return { leader, workers, items, finished, assigned: Math.max(0, assigned), running: Math.max(0, running), ...(returning.length ? { returning } : {}) };
}
