// The dashboard: five views over the API, redrawn when the store changes (live through /events).
import { api, follow } from './api.js';
import { fill, h } from './dom.js';
import { renderCaches } from './caches.js';
import { renderFleet } from './fleet.js';
import { renderJobs } from './jobs.js';
import { renderRuns } from './runs.js';
import { renderWork } from './work.js';
import { recordChanges } from './timeline.js';

const views = { fleet: renderFleet, work: renderWork, jobs: renderJobs, runs: renderRuns, caches: renderCaches };
const main = document.getElementById('view');
const summary = document.getElementById('summary');
const live = document.getElementById('live');

let current = '';
let pending = false;
let running = false;
let lastRun = 0;

/** Route from the hash: #fleet, #work, #jobs, #jobs/<id>, #runs, #runs/<id>, #caches. */
function route() {
  const [view = 'fleet', arg] = location.hash.replace(/^#/, '').split('/');
  return { view: views[view] ? view : 'fleet', arg: arg ? decodeURIComponent(arg) : undefined };
}

/** Redraws the current view (and the summary), at most every 300 ms, never two at once. */
async function refresh() {
  if (running) return void (pending = true);
  const wait = lastRun + 300 - Date.now();
  if (wait > 0) {
    pending = true;
    return void setTimeout(() => {
      if (pending) {
        pending = false;
        void refresh();
      }
    }, wait);
  }
  running = true;
  lastRun = Date.now();
  try {
    const { view, arg } = route();
    if (view !== current) {
      current = view;
      fill(main);
      for (const a of document.querySelectorAll('nav a')) a.classList.toggle('active', a.dataset.view === view);
    }
    const [status] = await Promise.all([api('GET', '/status'), views[view](main, { arg, refresh: () => void refresh() })]);
    fill(summary, `leader ${status.leader ? status.leader.slice(0, 8) : 'none'} · ${status.workers} workers · ${status.running}/${status.items} items running`);
    window.rotaStatus = status;
  } catch (err) {
    fill(summary, h('span', { class: 'error' }, String(err.message ?? err)));
  } finally {
    running = false;
    if (pending) {
      pending = false;
      void refresh();
    }
  }
}

window.addEventListener('hashchange', () => {
  current = '';
  void refresh();
});
follow(
  (batch) => (recordChanges(batch), void refresh()),
  (state) => {
    live.className = `live ${state}`;
    live.textContent = state === 'live' ? 'live' : 'reconnecting…';
    if (state === 'live') void refresh();
  },
);
void refresh();
