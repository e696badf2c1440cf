// Fleet: every worker with its API and PID, CPUs and memory, share, a bar of what it runs,
// labels, priority, leader and draining marks, its lease (a crashed worker's runs down), age —
// and its live configuration, edited in place; above them, live charts of the node's own metrics
// and the store's health; below, the timeline of the fleet's events.
import { action, api, apiAll } from './api.js';
import { bar, bytes, duration, fill, h, short } from './dom.js';
import { renderCharts } from './charts.js';
import { renderTimeline } from './timeline.js';

let body;
let toolbar;
let store;
/** The worker whose configuration form is open, if any. */
let editing;

const labelText = (labels) => Object.entries(labels ?? {}).map(([k, v]) => `${k}=${v}`).join(',');

/** A worker's API as a link, only when it is an http(s) URL (a record is data: no javascript: link from it). */
function apiLink(w) {
  let url;
  try {
    url = w.api ? new URL(w.api) : undefined;
  } catch {
    url = undefined;
  }
  return url && (url.protocol === 'http:' || url.protocol === 'https:') ? h('a', { href: url.href, title: `its API (${w.host})` }, url.host) : w.host;
}

/** A worker's lease: renewed every third of its TTL while it lives, so one with less left than that has stopped renewing. */
function leaseCell(w) {
  if (!w.lease) return h('td', {});
  const { ttl, remaining } = w.lease;
  const silent = ttl - remaining;
  if (remaining < (ttl * 2) / 3 - 1) {
    return h('td', { class: 'lease expiring', 'data-testid': 'lease', title: `no heartbeat for about ${silent} s` }, `lease expiring in ${remaining} s`);
  }
  return h('td', { class: 'lease', 'data-testid': 'lease', title: `lease TTL ${ttl} s; last heartbeat about ${silent} s ago` }, `${remaining}/${ttl} s · beat ${silent} s ago`);
}

/** The store and this node's health, from /status and /healthz. */
async function storeLine() {
  const [status, health] = await Promise.all([api('GET', '/status'), fetch('/healthz').then((r) => r.json())]);
  return h(
    'p',
    { class: `store ${health.ok ? 'ok' : 'bad'}`, 'data-testid': 'store' },
    `store: ${status.store ?? 'unknown'} · revision ${status.revision ?? '?'} · `,
    health.ok ? h('span', { class: 'ok' }, 'healthy') : h('span', { class: 'bad' }, `not healthy: ${health.reasons.join('; ')}`),
  );
}

/** The form of one worker's live configuration: capacity, labels, max memory, priority. */
function configForm(w, act) {
  const field = (name, label, value, attrs = {}) => h('label', {}, label, ' ', h('input', { name, value: value ?? '', ...attrs }));
  const form = h(
    'form',
    { class: 'config', 'data-config': w.id },
    field('capacity', 'Capacity', w.capacity, { type: 'number', min: 1 }),
    field('labels', 'Labels', labelText(w.labels), { placeholder: 'zone=a,disk=ssd' }),
    field('maxMemory', 'Max memory', w.maxMemory ? bytes(w.maxMemory).replace(' ', '') : '', { placeholder: 'e.g. 2GiB (empty: none)' }),
    field('priority', 'Priority', w.priority ?? 0, { type: 'number' }),
    h('button', { type: 'submit' }, 'Save'),
    h('button', { type: 'button', onclick: () => ((editing = undefined), form.closest('tr').remove()) }, 'Cancel'),
  );
  form.addEventListener('submit', (e) => {
    e.preventDefault();
    const v = Object.fromEntries(new FormData(form));
    const wanted = Object.fromEntries(v.labels.split(',').map((s) => s.trim()).filter(Boolean).map((kv) => [kv.slice(0, kv.indexOf('=')), kv.slice(kv.indexOf('=') + 1)]));
    const labels = { ...Object.fromEntries(Object.keys(w.labels).filter((k) => !(k in wanted)).map((k) => [k, null])), ...wanted };
    const patch = { capacity: Number(v.capacity), labels, maxMemory: v.maxMemory.trim() || null, priority: Number(v.priority) };
    editing = undefined;
    void act(() => api('PATCH', `/workers/${encodeURIComponent(w.id)}`, patch))(e);
  });
  return form;
}

export async function renderFleet(root, ctx) {
  if (!body || !root.contains(body)) {
    toolbar = h('div', { class: 'toolbar' });
    body = h('div');
    store = h('div');
    const charts = h('section', { class: 'charts-panel', 'data-testid': 'charts' });
    const timeline = h('section', { class: 'timeline-panel' });
    fill(root, h('h2', {}, 'Fleet'), store, charts, toolbar, body, timeline);
    renderTimeline(timeline);
    // The charts follow the clock, not store events: redrawn every few seconds while this view is shown;
    // so do the leases (a crashed worker's runs down with no store event to say so).
    const draw = () => (root.contains(charts) ? renderCharts(charts).catch(() => undefined) : clearInterval(timer));
    const timer = setInterval(draw, 3000);
    const leases = setInterval(() => (root.contains(charts) ? ctx.refresh() : clearInterval(leases)), 2000);
    void draw();
  }
  const [workers, status, storeInfo] = await Promise.all([apiAll('/workers', { lease: 'true' }), api('GET', '/status'), storeLine()]);
  const act = action(ctx.refresh);
  fill(store, storeInfo, (status.returning ?? []).map((r) => h('p', { class: 'returning', 'data-testid': 'returning' }, `worker ${short(r.id)} is restarting: back within ${r.remaining} s, its services wait for it `, h('button', { onclick: act(() => api('POST', `/workers/${encodeURIComponent(r.id)}/drain`)) }, 'Drain (move them now)'))));
  fill(toolbar, status.local ? h('button', { 'data-testid': 'add-worker', onclick: act(() => api('POST', '/workers')) }, 'Add a local worker') : null);
  const maxLoad = Math.max(1, ...workers.map((w) => w.load / w.capacity));
  const rows = workers
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
    .flatMap((w) => [
      h(
        'tr',
        { 'data-worker': w.id, class: w.draining ? 'draining' : '' },
        h('td', { title: w.id }, w.leader ? h('span', { class: 'leader', title: 'leader' }, '★ ') : null, short(w.id)),
        h('td', {}, apiLink(w)),
        h('td', { 'data-field': 'pid' }, String(w.pid)),
        h('td', {}, w.cpus === undefined ? '' : String(w.cpus)),
        h('td', { title: w.memory ? `${bytes(w.memoryAvailable)} available of ${bytes(w.memory)}` : '' }, w.memory ? `${bytes(w.memoryAvailable)} / ${bytes(w.memory)}` : '', w.maxMemory ? ` (max ${bytes(w.maxMemory)})` : ''),
        h('td', { 'data-field': 'capacity' }, String(w.capacity)),
        h('td', { class: 'load' }, bar(w.load / w.capacity / maxLoad, `${w.load}`)),
        h('td', { 'data-field': 'labels' }, Object.entries(w.labels).map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`))),
        h('td', { 'data-field': 'priority' }, String(w.priority ?? 0)),
        h('td', {}, w.draining ? h('span', { class: 'badge' }, 'draining') : ''),
        leaseCell(w),
        h('td', {}, duration(Date.now() - Date.parse(w.startedAt))),
        h(
          'td',
          { class: 'actions' },
          h('button', { 'data-action': 'configure', onclick: () => ((editing = w.id), ctx.refresh()) }, 'Configure'),
          h('button', { onclick: act(() => api('POST', `/workers/${encodeURIComponent(w.id)}/${w.draining ? 'undrain' : 'drain'}`)) }, w.draining ? 'Undrain' : 'Drain'),
          status.local ? h('button', { 'data-action': 'stop', onclick: act(() => api('DELETE', `/workers/${encodeURIComponent(w.id)}`)) }, 'Stop') : null,
          status.local
            ? h('button', { 'data-action': 'crash', class: 'danger', onclick: (e) => confirm(`Crash worker ${short(w.id)}? It stops without releasing anything: its items run elsewhere once its lease ends.`) && act(() => api('DELETE', `/workers/${encodeURIComponent(w.id)}?crash=true`))(e) }, 'Crash')
            : null,
        ),
      ),
      editing === w.id ? h('tr', { class: 'config-row' }, h('td', { colspan: 13 }, configForm(w, act))) : null,
    ]);
  // An open form is not redrawn under the user's fingers by a live refresh.
  if (editing && body.querySelector(`[data-config="${CSS.escape(editing)}"]`) && workers.some((w) => w.id === editing)) return;
  fill(
    body,
    workers.length === 0
      ? h('p', { class: 'empty' }, 'No workers. Start one with `rota node` (or add a local one).')
      : h(
          'table',
          { 'data-testid': 'fleet' },
          h('thead', {}, h('tr', {}, ['Worker', 'API', 'PID', 'CPUs', 'Memory', 'Share', 'Running', 'Labels', 'Priority', '', 'Lease', 'Age', ''].map((t) => h('th', {}, t)))),
          h('tbody', {}, rows),
        ),
  );
}
