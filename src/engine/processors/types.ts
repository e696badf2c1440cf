// What runs an item: a processor gets start/update/stop calls for each item its worker holds.
import type { Logger } from '../log.js';
import type { WorkItem } from '../model.js';

/** Why an item stops on this worker. */
export type StopReason = 'moved' | 'deleted' | 'shutdown' | 'fenced' | 'claim-lost' | 'finished';

/** What a processor knows about the worker's right to run one item. */
export interface ProcessorContext {
  workerId: string;
  /** Create revision of the claim: pass it downstream so stale writers can be refused. */
  fencingToken: number;
  /** Aborted the moment the worker loses the right to run the item. */
  signal: AbortSignal;
  log: Logger;
  /** Until when (on the session's clock) the worker may run the item unless renewed. */
  fenceAt(): number;
  /** How long from now the worker may still run the item unless renewed (ms); guards of children are fed it. */
  remainingMs(): number;
  /** Calls `fn` with the new deadline (session clock) on every renewal; returns a function that stops it. */
  onRenewed(fn: (fenceAt: number) => void): () => void;
  /** Calls `fn` once when the session holding the item ends (fenced, lease gone); returns a function that stops it. */
  onLost(fn: () => void): () => void;
  /** Reports how the item is doing (shown by the API). */
  report(status: { restarts: number }): void;
}

/** Runs items. stop() must not return before the item's work has stopped. */
export interface Processor {
  start(item: WorkItem, ctx: ProcessorContext): Promise<void>;
  update(item: WorkItem, ctx: ProcessorContext): Promise<void>;
  stop(item: WorkItem, ctx: ProcessorContext, reason: StopReason): Promise<void>;
  /** Releases what the processor holds for all items (called once at shutdown). */
  close?(): Promise<void>;
}
