// The sampling thread: lists the run's processes every `everyMs`, counts double runs, and answers
// the runner's requests for a fresh sample. Its priority is raised when the OS allows (Linux nice
// values are per thread), so a loaded machine delays it less than the processes it watches.
import os from 'node:os';
import { parentPort, workerData } from 'node:worker_threads';
import { ProcReader } from './procfs.js';
import { DoubleRunCounter, groupRuns } from './sampler.js';

const { tag, everyMs } = workerData as { tag: string; everyMs: number };
try {
  os.setPriority(0, -10);
} catch {
  // not allowed: sample at the normal priority
}
const reader = new ProcReader();
const counter = new DoubleRunCounter();
const sample = () => {
  const started = performance.now();
  const snapshot = groupRuns(reader.list(tag));
  counter.figures.maxListMs = Math.max(counter.figures.maxListMs, performance.now() - started);
  counter.add(snapshot, started);
  return snapshot;
};
const loop = () => {
  sample();
  setTimeout(loop, everyMs);
};
loop();
parentPort!.on('message', (m: { id: number }) => {
  parentPort!.postMessage({ id: m.id, snapshot: sample(), figures: counter.figures });
});
