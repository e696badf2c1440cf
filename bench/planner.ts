// npm run bench:planner — the planner on 100,000 items × 100 workers (target: under 200 ms).
import { planAssignments, type PlanItem, type PlanWorker } from '../src/engine/planner.js';
import { printTable, round, writeResults } from './lib.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 100_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 100);
const RUNS = 5;

const worker = (i: number): PlanWorker => ({ id: `worker-${String(i).padStart(4, '0')}`, capacity: 1, labels: { zone: `z${i % 3}` }, draining: false });
const workers = Array.from({ length: WORKERS }, (_, i) => worker(i));
const items: PlanItem[] = Array.from({ length: ITEMS }, (_, i) => ({
  id: `item-${i.toString(36).padStart(6, '0')}`,
  weight: 1,
  // One item in ten needs a zone.
  selector: i % 10 === 0 ? { zone: `z${i % 3}` } : ({} as Record<string, string>),
}));

function time(label: string, ws: PlanWorker[], current: Map<string, string>) {
  const ms: number[] = [];
  let plan = planAssignments(ws, items, current);
  for (let r = 0; r < RUNS; r++) {
    const t = performance.now();
    plan = planAssignments(ws, items, current);
    ms.push(performance.now() - t);
  }
  ms.sort((a, b) => a - b);
  return { label, medianMs: round(ms[RUNS >> 1], 1), maxMs: round(ms[RUNS - 1], 1), moved: plan.moved.length, placed: plan.placed.length, plan };
}

const fresh = time(`${ITEMS} new items onto ${WORKERS} workers`, workers, new Map());
const steady = time('replan with nothing changed', workers, fresh.plan.assignments);
const joined = time(`worker ${WORKERS + 1} joins`, [...workers, worker(WORKERS)], fresh.plan.assignments);
const died = time(`a worker dies (${WORKERS - 1} left)`, workers.slice(1), fresh.plan.assignments);
const rows = [fresh, steady, joined, died];
console.log(`planner benchmark: ${ITEMS} items (10% with a selector) × ${WORKERS} workers, median of ${RUNS} runs\n`);
printTable(['scenario', 'median ms', 'max ms', 'moved', 'placed'], rows.map((r) => [r.label, r.medianMs, r.maxMs, r.moved, r.placed]));
const file = writeResults('planner', { items: ITEMS, workers: WORKERS, scenarios: rows.map(({ plan: _p, ...r }) => r) });
console.log(`\nwritten to ${file}`);
