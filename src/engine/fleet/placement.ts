// Placement strategies: how a group of services shares the fleet (shoveling's "uniform in nodes,
// uniform in cpu or uniform in available memory"). Each maps a worker to its relative share; the
// planner balances each group of items by those shares, on its own.

/** How a group of services shares the fleet. */
export type Placement = 'capacity' | 'nodes' | 'cpu' | 'memory';

export const PLACEMENTS: readonly Placement[] = ['capacity', 'nodes', 'cpu', 'memory'];

/** What a strategy reads of a worker. */
export interface WorkerResources {
  capacity: number;
  cpus?: number;
  memoryAvailable?: number;
  maxMemory?: number;
}

const MIB = 2 ** 20;

/** Memory a worker offers: what is available, capped by its max memory; in MiB. */
export const memoryOffered = (w: WorkerResources): number => Math.max(1, Math.floor(Math.min(w.memoryAvailable ?? MIB, w.maxMemory ?? Infinity) / MIB));

/** A worker's relative share under `placement`. */
export function shareOf(placement: Placement, w: WorkerResources): number {
  switch (placement) {
    case 'nodes':
      return 1;
    case 'cpu':
      return Math.max(1, Math.round(w.cpus ?? 1));
    case 'memory':
      return memoryOffered(w);
    default:
      return w.capacity;
  }
}

/** Throws unless `text` names a strategy. */
export function parsePlacement(text: string, where = 'placement'): Placement {
  if ((PLACEMENTS as readonly string[]).includes(text)) return text as Placement;
  throw new Error(`${where} "${text.slice(0, 40)}" is not a placement: use ${PLACEMENTS.join(', ')}`);
}

/**
 * The memory figure the planner goes on (hysteresis): a new reading replaces the one in force only
 * if it shifts this worker's share of `items` by more than one item, so memory that drifts a little
 * moves nothing. `total` is the sum of the figures in force over the fleet.
 */
export function memoryInForce(inForce: number | undefined, reading: number, total: number, items: number): number {
  if (inForce === undefined || total <= 0) return reading;
  const before = inForce / total;
  const after = reading / (total - inForce + reading);
  return Math.abs(after - before) * items > 1 ? reading : inForce;
}
