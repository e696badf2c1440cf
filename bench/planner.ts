// npm run bench:planner — the planner on 100,000 items × 100 workers from scratch and on the changes
// a fleet sees (target: under 200 ms from scratch); the planner kept between rounds after one change
// at 100,000 items (target: ≤ 20 ms); and 1,000,000 items × 1,000 workers from scratch.
import { IncrementalPlanner } from '../src/engine/incremental-planner.js';
import { planAssignments, type PlanItem, type PlanWorker } from '../src/engine/planner.js';
import { printTable, round, writeResults } from './lib.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 100);
const BIG_ITEMS = Number(process.env.BENCH_BIG_ITEMS ?? 1_000_000);
const BIG_WORKERS = Number(process.env.BENCH_BIG_WORKERS ?? 1000);
const RUNS = 5;

const worker = (i: number): PlanWorker => ({ id: `worker-${String(i).padStart(4, '0')}`, capacity: 1, labels: { zone: `z${i % 3}` }, draining: false });
const fleet = (n: number) => Array.from({ length: n }, (_, i) => worker(i));
// One item in ten needs a zone.
const item = (i: number): PlanItem => ({ id: `item-${i.toString(36).padStart(6, '0')}`, weight: 1, selector: i % 10 === 0 ? { zone: `z${i % 3}` } : {} });
const workers = fleet(WORKERS);
const items = Array.from({ length: ITEMS }, (_, i) => item(i));

interface Row {
  label: string;
  medianMs: number;
  maxMs: number;
  moved: number;
  placed: number;
  target: string;
}

/** Median and max of `runs` timed calls of `fn`; `fn` returns [moved, placed]. */
function time(label: string, target: string, fn: () => [number, number], runs = RUNS): Row {
  const ms: number[] = [];
  let counts: [number, number] = [0, 0];
  for (let r = 0; r < runs; r++) {
    const t = performance.now();
    counts = fn();
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { label, medianMs: round(ms[runs >> 1], 1), maxMs: round(ms[runs - 1], 1), moved: counts[0], placed: counts[1], target };
}

const full = (ws: PlanWorker[], current: Map<string, string>, list = items): [number, number] => {
  const p = planAssignments(ws, list, current);
  return [p.moved.length, p.placed.length];
};
const first = planAssignments(workers, items, new Map()).assignments;
const rows: Row[] = [
  time(`${ITEMS} new items onto ${WORKERS} workers`, '< 200 ms', () => full(workers, new Map())),
  time('replan with nothing changed', '< 200 ms', () => full(workers, first)),
  time(`worker ${WORKERS + 1} joins`, '< 200 ms', () => full([...workers, worker(WORKERS)], first)),
  time(`a worker dies (${WORKERS - 1} left)`, '< 200 ms', () => full(workers.slice(1), first)),
];

// Kept between rounds: one change at a time (each timed run is a new change on the same planner).
const planner = new IncrementalPlanner();
planner.reset(workers, items, first);
let next = ITEMS;
const delta = (d: ReturnType<IncrementalPlanner['update']>): [number, number] => [d.moved.length, d.placed.length];
rows.push(time(`kept between rounds: one item added (${ITEMS} items)`, '≤ 20 ms', () => delta(planner.update([item(next++)], [])), 50));
let gone = 0;
rows.push(time(`kept between rounds: one item removed (${ITEMS} items)`, '≤ 20 ms', () => delta(planner.update([], [item(gone++ * 7).id])), 50));
rows.push(time(`kept between rounds: 1,000 items added at once`, '≤ 20 ms per change', () => delta(planner.update(Array.from({ length: 1000 }, () => item(next++)), [])), RUNS));
// Workers joining and leaving, kept between rounds (each timed run: a new worker joins, or the newest leaves).
let fleetNow = [...workers];
let joined = WORKERS;
rows.push(time(`kept between rounds: a worker joins (${ITEMS} items)`, 'measured', () => delta(planner.updateWorkers((fleetNow = [...fleetNow, worker(joined++)]))!), RUNS));
rows.push(time(`kept between rounds: a worker leaves (${ITEMS} items)`, 'measured', () => delta(planner.updateWorkers((fleetNow = fleetNow.slice(0, -1)))!), RUNS));

// A large fleet from scratch.
const bigItems = Array.from({ length: BIG_ITEMS }, (_, i) => item(i));
const bigWorkers = fleet(BIG_WORKERS);
rows.push(time(`${BIG_ITEMS} new items onto ${BIG_WORKERS} workers`, 'measured', () => full(bigWorkers, new Map(), bigItems), 3));

console.log(`planner benchmark: items with 10% needing a zone label, median of ${RUNS} runs (50 for single changes)\n`);
printTable(['scenario', 'median ms', 'max ms', 'moved', 'placed', 'target'], rows.map((r) => [r.label, r.medianMs, r.maxMs, r.moved, r.placed, r.target]));
const file = writeResults('planner', { items: ITEMS, workers: WORKERS, bigItems: BIG_ITEMS, bigWorkers: BIG_WORKERS, scenarios: rows });
console.log(`\nwritten to ${file}`);
