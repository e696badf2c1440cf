// A bound on the event streams (SSE and WebSocket) one node serves at once: each holds a store
// watch and a socket, so without one a client could open them until the node runs out of memory.
import { HttpError } from './errors.js';
import { metrics } from '../engine/metrics.js';

/** Default most concurrent event streams per node. */
export const DEFAULT_MAX_STREAMS = 256;

/** Counts open streams against a cap. */
export class StreamSlots {
  private open = 0;

  constructor(readonly max: number = DEFAULT_MAX_STREAMS) {}

  /** How many streams are open now. */
  get size(): number {
    return this.open;
  }

  /** Takes a slot or throws a 503 saying why; the returned function frees it (once). */
  acquire(): () => void {
    if (this.open >= this.max) {
      throw new HttpError(503, 'too_many_streams', `this node already serves ${this.max} event streams, its limit (--max-streams); close one, retry later, or follow another node`, { 'retry-after': '5' });
    }
    this.open++;
    metrics.eventStreams.inc();
    let freed = false;
    return () => {
      if (freed) return;
      freed = true;
      this.open--;
      metrics.eventStreams.dec();
    };
  }
}
