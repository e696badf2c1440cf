// The workers as the leader plans with them: each record, with its memory figure held steady
// (hysteresis), so memory that drifts a little moves no item and plans no round.
import type { WorkerRecord } from '../model.js';
import { memoryInForce, memoryOffered } from './placement.js';

const MIB = 2 ** 20;

/** The memory figure in force of each worker, and what the planner reads of each. */
export class PlannedFleet {
  private readonly memory = new Map<string, number>();
  private total = 0;

  /**
   * What the planner reads of worker `id` (undefined once it is gone): a change of it means a new
   * plan. `items` is how many services there are (a memory reading counts only if it shifts the
   * worker's share by more than one of them).
   */
  signature(id: string, record: WorkerRecord | undefined, items: number): string | undefined {
    const old = this.memory.get(id);
    if (!record) {
      if (old !== undefined) (this.memory.delete(id), (this.total -= old));
      return undefined;
    }
    const figure = memoryInForce(old, memoryOffered(record), this.total, items);
    this.memory.set(id, figure);
    this.total += figure - (old ?? 0);
    return JSON.stringify([record.capacity, record.labels, record.draining, record.cpus, figure]);
  }

  /** `record` as the planner sees it: available memory is the figure in force (max memory already counted in). */
  planned(id: string, record: WorkerRecord): WorkerRecord {
    const figure = this.memory.get(id);
    if (figure === undefined) return record;
    return { ...record, memoryAvailable: figure * MIB, maxMemory: undefined };
  }
}
