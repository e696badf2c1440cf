// Fleet: every worker with its capacity, a load bar, labels, leader and draining marks, age.
import { api, apiAll } from './api.js';
import { bar, duration, fill, h, short } from './dom.js';

let body;
let toolbar;

export async function renderFleet(root, ctx) {
  if (!body || !root.contains(body)) {
    toolbar = h('div', { class: 'toolbar' });
    body = h('div');
    fill(root, h('h2', {}, 'Fleet'), toolbar, body);
  }
  const [workers, status] = await Promise.all([apiAll('/workers'), api('GET', '/status')]);
  const act = (fn) => async (e) => {
    e.target.disabled = true;
    try {
      await fn();
    } catch (err) {
      alert(err.message);
    }
    ctx.refresh();
  };
  fill(toolbar, status.local ? h('button', { 'data-testid': 'add-worker', onclick: act(() => api('POST', '/workers')) }, 'Add a local worker') : null);
  const maxLoad = Math.max(1, ...workers.map((w) => w.load / w.capacity));
  const rows = workers
    .sort((a, b) => a.startedAt.localeCompare(b.startedAt))
    .map((w) =>
      h(
        'tr',
        { 'data-worker': w.id, class: w.draining ? 'draining' : '' },
        h('td', { title: w.id }, w.leader ? h('span', { class: 'leader', title: 'leader' }, '★ ') : null, short(w.id)),
        h('td', {}, w.host),
        h('td', {}, String(w.capacity)),
        h('td', { class: 'load' }, bar(w.load / w.capacity / maxLoad, `${w.load}`)),
        h('td', {}, Object.entries(w.labels).map(([k, v]) => h('span', { class: 'chip' }, `${k}=${v}`))),
        h('td', {}, w.draining ? h('span', { class: 'badge' }, 'draining') : ''),
        h('td', {}, duration(Date.now() - Date.parse(w.startedAt))),
        h(
          'td',
          { class: 'actions' },
          h('button', { onclick: act(() => api('POST', `/workers/${encodeURIComponent(w.id)}/${w.draining ? 'undrain' : 'drain'}`)) }, w.draining ? 'Undrain' : 'Drain'),
          status.local ? h('button', { 'data-action': 'stop', onclick: act(() => api('DELETE', `/workers/${encodeURIComponent(w.id)}`)) }, 'Stop') : null,
          status.local ? h('button', { 'data-action': 'crash', class: 'danger', onclick: act(() => api('DELETE', `/workers/${encodeURIComponent(w.id)}?crash=true`)) }, 'Crash') : null,
        ),
      ),
    );
  fill(
    body,
    workers.length === 0
      ? h('p', { class: 'empty' }, 'No workers. Start one with `rota node` (or add a local one).')
      : h('table', { 'data-testid': 'fleet' }, h('thead', {}, h('tr', {}, ['Worker', 'Host', 'Capacity', 'Load', 'Labels', '', 'Age', ''].map((t) => h('th', {}, t)))), h('tbody', {}, rows)),
  );
}
