// `--until-idle` (the Kubernetes Job pattern): a worker exits once no task is left that it could run.
import { listPrefix, sleep, systemClock, type Clock, type Store } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { decodeSpec, selects } from '../model.js';

export interface IdleOptions {
  /** What the worker runs now. */
  busy: () => boolean;
  labels: Record<string, string>;
  clock?: Clock;
  everyMs?: number;
  /** Idle this long without a break before it counts. */
  quietMs?: number;
  signal?: AbortSignal;
}

/** Whether some unfinished task could still run on a worker with `labels`. */
export async function taskLeftFor(store: Store, keys: Keys, labels: Record<string, string>): Promise<boolean> {
  // Keys only: contents (up to 1 MiB each) and outputs (up to 64 KiB) say nothing here.
  const [items, results] = await Promise.all([listPrefix(store, keys.registry, { pageSize: 5000, keysOnly: true }), listPrefix(store, keys.results, { pageSize: 5000, keysOnly: true })]);
  const done = new Set(results.kvs.map((kv) => kv.key.slice(keys.results.length)));
  for (const kv of items.kvs) {
    const id = kv.key.slice(keys.registry.length);
    if (done.has(id)) continue;
    const spec = decodeSpec((await store.get(keys.spec(id)))?.value);
    if (spec.kind === 'task' && selects(spec.selector, labels)) return true;
  }
  return false;
}

/** Resolves once the worker runs nothing and no task is left for it, for `quietMs` in a row. */
export async function waitUntilIdle(store: Store, keys: Keys, o: IdleOptions): Promise<void> {
  const clock = o.clock ?? systemClock;
  let idleSince: number | undefined;
  for (;;) {
    const idle = !o.busy() && !(await taskLeftFor(store, keys, o.labels).catch(() => true));
    const now = clock.now();
    if (!idle) idleSince = undefined;
    else if (idleSince === undefined) idleSince = now;
    else if (now - idleSince >= (o.quietMs ?? 1000)) return;
    await sleep(clock, o.everyMs ?? 500, o.signal);
  }
}
