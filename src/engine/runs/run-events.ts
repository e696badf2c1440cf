// A run's changes as events for waiters: state transitions and parameter values. A waiter also
// watches over the run: when the last report of a round is in but no advance follows (the
// reporter died between its report and the advance), it finishes the advance, so waiters never hang.
import { EventEmitter } from 'node:events';
import { systemClock, type Clock, type Store } from '../../store/index.js';
import { ChangeStream } from '../events/changes.js';
import type { Keys } from '../keys.js';
import { decodeJson } from '../tasks/task-model.js';
import { WriteOnce } from '../write-once.js';
import { repairRun, type RunRecord } from './runs.js';

export type RunEvent =
  | { type: 'state'; revision: number; run: string; state: string; round: number; at: number }
  | { type: 'param'; revision: number; run: string; node: string; index: number; name: string; value?: string }
  | { type: 'deleted'; revision: number; run: string };

export interface RunEventsEvents {
  event: [event: RunEvent];
  end: [error?: Error];
}

/** Follows one run from revision `from` (default: now). */
export class RunEvents extends EventEmitter<RunEventsEvents> {
  private readonly stream: ChangeStream;
  private repairing?: Promise<unknown>;
  private closed = false;
  readonly ready: Promise<void>;

  constructor(store: Store, keys: Keys, run: string, from?: number, clock: Clock = systemClock) {
    super();
    this.stream = new ChangeStream(store, keys, { run }, from);
    this.ready = this.stream.ready;
    const base = `runs/${run}/`;
    const once = new WriteOnce(store, keys, clock);
    // After a report (a pending key deleted), and once at the start: is a complete round stuck?
    let again = false;
    const check = () => {
      if (this.closed) return;
      if (this.repairing) return void (again = true);
      this.repairing = repairRun(once, keys, run, clock)
        .catch(() => false) // gone, or the store is away: the next report brings us back
        .finally(() => {
          this.repairing = undefined;
          if (again) {
            again = false;
            check();
          }
        });
    };
    void this.ready.then(check, () => undefined);
    this.stream.on('batch', ({ revision, changes }) => {
      for (const c of changes) {
        const rest = c.key.slice(base.length);
        if (rest.startsWith('pending/') && c.type === 'delete') check();
        if (rest === 'run') {
          const record = decodeJson<RunRecord>(c.value);
          if (c.type === 'delete') this.emit('event', { type: 'deleted', revision, run });
          else if (record) this.emit('event', { type: 'state', revision, run, state: record.state, round: record.round, at: record.history.at(-1)?.at ?? 0 });
        } else if (rest.startsWith('params/')) {
          const [node, index, ...name] = rest.slice('params/'.length).split('/');
          this.emit('event', { type: 'param', revision, run, node, index: Number(index), name: name.join('/'), value: c.type === 'put' ? c.value : undefined });
        }
      }
    });
    this.stream.on('end', (err) => this.emit('end', err));
  }

  close(): Promise<void> {
    this.closed = true;
    return this.stream.close();
  }
}
