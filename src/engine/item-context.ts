// What a processor is told about the right to run one item: the fencing token, a signal that
// aborts when the right is lost, the session's deadline (for guards) and where to report.
//
// fenceAt() and the deadlines onRenewed() passes are readings of the session clock's monotonic()
// (for the system clock: performance.timeOrigin + performance.now(), epoch-aligned at process start
// but never stepped). What is left of one is `remainingMs(deadline)` from src/store/clock.ts; hand
// that duration, not the deadline, to another process: its clock has another origin.
import type { Session } from '../recipes/session.js';
import type { Store } from '../store/index.js';
import type { Keys } from './keys.js';
import type { Logger } from './log.js';
import type { ProcessorContext } from './processors/types.js';

/** The context of item `id`, claimed by `workerId` with `token` under `session`. */
export function itemContext(o: { store: Store; keys: Keys; id: string; workerId: string; token: number; session: Session; signal: AbortSignal; log: Logger }): ProcessorContext {
  const { session } = o;
  return {
    workerId: o.workerId,
    fencingToken: o.token,
    signal: o.signal,
    log: o.log,
    fenceAt: () => session.fenceAt,
    // A duration, measured where the deadline is kept: whatever clock the session runs on, a guard
    // (another process, on the host's monotonic clock) is told only how long is left.
    remainingMs: () => (session.valid ? session.remainingMs : 0),
    onRenewed: (fn) => {
      session.on('renewed', fn);
      return () => session.off('renewed', fn);
    },
    onLost: (fn) => {
      // Already over: say so at once (a stop that began before the loss must still hear of it).
      if (!session.valid) queueMicrotask(fn);
      else session.once('lost', fn);
      return () => session.off('lost', fn);
    },
    report: (status) => {
      // On the worker's lease: a status outlives neither the worker nor its claim.
      void o.store.put(o.keys.itemStatus(o.id), JSON.stringify({ worker: o.workerId, token: o.token, ...status }), { lease: session.lease }).catch(() => undefined);
    },
  };
}
