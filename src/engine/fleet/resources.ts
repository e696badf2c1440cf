// What a worker's machine can take: CPUs and memory, as detected or as set by flags (--cpus,
// --memory: for testing, or to give a worker less than the machine).
import os from 'node:os';

/** The resources a worker reports in its record. */
export interface Resources {
  cpus: number;
  /** Bytes of memory in all. */
  memory: number;
  /** Bytes of memory available now. */
  memoryAvailable: number;
}

/** Overrides of the detected values. */
export interface ResourceFlags {
  cpus?: number;
  /** Bytes; fixes the available memory too. */
  memory?: number;
}

/** Reads the resources now. */
export function readResources(flags: ResourceFlags = {}): Resources {
  const memory = flags.memory ?? os.totalmem();
  return {
    cpus: flags.cpus ?? os.availableParallelism(),
    memory,
    memoryAvailable: flags.memory ?? Math.min(memory, os.freemem()),
  };
}

/** Whether a new reading of available memory is worth writing: it moved by 5 % or more. */
export const memoryMoved = (before: number | undefined, now: number): boolean => before === undefined || Math.abs(now - before) >= 0.05 * Math.max(before, 1);
