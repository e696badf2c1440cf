// The double-run detector: every ~20 ms, every live process of the run that belongs to an item,
// grouped by item and fencing token. The processes of one run of an item (its shell and whatever
// it started, all with the same token) count once; two tokens alive at once for one item is a
// double run. Stopped (T) and zombie (Z) processes do not run and are not counted.
// It samples on a thread of its own (sampler-thread.ts), at a raised priority where allowed, so
// neither the runner's own work nor a loaded machine stretches the gaps between samples much.
import { Worker } from 'node:worker_threads';
import { isLive, type Proc } from './procfs.js';

/** The live processes of one claim of one item. */
export interface RunGroup {
  token: string;
  /** The workers whose processes these are (one, unless something is badly wrong). */
  workers: Set<string>;
  pids: number[];
}

/** item id → fencing token → its live processes, as one sample saw them. */
export type Snapshot = Map<string, Map<string, RunGroup>>;

/** Groups the live item processes of a listing by item and token. */
export function groupRuns(procs: Proc[]): Snapshot {
  const items: Snapshot = new Map();
  for (const p of procs) {
    const item = p.env.ROTA_WORK_ID;
    if (item === undefined || !isLive(p)) continue;
    const token = p.env.ROTA_FENCING_TOKEN ?? '?';
    let runs = items.get(item);
    if (!runs) items.set(item, (runs = new Map()));
    let group = runs.get(token);
    if (!group) runs.set(token, (group = { token, workers: new Set(), pids: [] }));
    group.workers.add(p.env.ROTA_WORKER_ID ?? '?');
    group.pids.push(p.pid);
  }
  return items;
}

/** What the sampler counted so far. */
export interface SamplerFigures {
  samples: number;
  /** Samples in which some item ran under two or more tokens at once. */
  doubleRunSamples: number;
  /** "item token+token…" for each set seen running at once → who ran them (first sighting). */
  doubleRuns: Map<string, string>;
  /** Every "item token" seen running: proof the sampler sees the items at all. */
  runsSeen: Set<string>;
  /** The longest time between two samples (a slow sampler can miss short overlaps). */
  maxGapMs: number;
  /** The longest one listing of /proc took (the rest of a gap is the thread waiting for a CPU). */
  maxListMs: number;
}

/** Counts double runs over a series of snapshots. */
export class DoubleRunCounter {
  readonly figures: SamplerFigures = { samples: 0, doubleRunSamples: 0, doubleRuns: new Map(), runsSeen: new Set(), maxGapMs: 0, maxListMs: 0 };
  private last = 0;

  add(items: Snapshot, at = performance.now()): void {
    const f = this.figures;
    if (this.last) f.maxGapMs = Math.max(f.maxGapMs, at - this.last);
    this.last = at;
    f.samples++;
    let double = false;
    for (const [item, runs] of items) {
      for (const token of runs.keys()) f.runsSeen.add(`${item} ${token}`);
      if (runs.size < 2) continue;
      double = true;
      const groups = [...runs.values()].sort((a, b) => Number(a.token) - Number(b.token));
      const key = `${item} ${groups.map((g) => g.token).join('+')}`;
      if (!f.doubleRuns.has(key)) f.doubleRuns.set(key, groups.map((g) => `token ${g.token} on ${[...g.workers].join(',')} pids ${g.pids.join(',')}`).join(' | '));
    }
    if (double) f.doubleRunSamples++;
  }
}

/** Distinct items among "item token+token" keys. */
export function itemsOf(doubleRuns: Map<string, string>): number {
  return new Set([...doubleRuns.keys()].map((k) => k.split(' ')[0])).size;
}

/** The thread's entry: sampler-thread.ts, through tsx's loader when running from sources (Node 20 does not pass the loader to workers). */
function threadCode(): string {
  const ts = import.meta.url.endsWith('.ts');
  const entry = new URL(`./sampler-thread.${ts ? 'ts' : 'js'}`, import.meta.url).href;
  const load = `import(${JSON.stringify(entry)})`;
  return ts ? `import(${JSON.stringify(import.meta.resolve('tsx/esm/api'))}).then((tsx) => { tsx.register(); return ${load}; });` : load;
}

/** The runner's handle on the sampling thread. */
export class Sampler {
  private readonly worker: Worker;
  private nextId = 1;
  private readonly waiting = new Map<number, (reply: { snapshot: Snapshot; figures: SamplerFigures }) => void>();

  /** Starts sampling the processes tagged `tag` every `everyMs`. */
  constructor(tag: string, everyMs = 20) {
    this.worker = new Worker(threadCode(), { eval: true, workerData: { tag, everyMs } });
    this.worker.on('message', (m: { id: number; snapshot: Snapshot; figures: SamplerFigures }) => {
      this.waiting.get(m.id)?.(m);
      this.waiting.delete(m.id);
    });
    this.worker.unref();
  }

  /** Takes a sample now; returns it with the figures so far. */
  sample(): Promise<{ snapshot: Snapshot; figures: SamplerFigures }> {
    const id = this.nextId++;
    // The thread keeps no process alive, but for an answer awaited.
    this.worker.ref();
    return new Promise<{ snapshot: Snapshot; figures: SamplerFigures }>((resolve, reject) => {
      this.waiting.set(id, resolve);
      this.worker.postMessage({ id });
      setTimeout(() => this.waiting.delete(id) && reject(new Error('the sampler did not answer within 10 s')), 10_000).unref();
    }).finally(() => {
      if (this.waiting.size === 0) this.worker.unref();
    });
  }

  /** The figures, and the thread ended. */
  async stop(): Promise<SamplerFigures> {
    const { figures } = await this.sample();
    await this.worker.terminate();
    return figures;
  }
}
