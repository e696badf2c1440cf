// Caches: each cache with its ids, copies and strategy, the ids moving, and per worker how many ids it
// owns, holds and is copying in, and the compressed bytes it holds.
import { api } from './api.js';
import { bar, bytes, fill, h, short } from './dom.js';

let body;


export async function renderCaches(root) {
  if (!body || !root.contains(body)) {
    body = h('div');
    fill(root, h('h2', {}, 'Caches'), body);
  }
  const caches = await api('GET', '/caches');
  fill(
    body,
    caches.length === 0
      ? h('p', { class: 'empty' }, 'No caches yet: rota cache init NAME --from ids.txt --strategy nodes')
      : caches.map((c) => {
          const workers = Object.entries(c.workers).sort(([a], [b]) => (a < b ? -1 : 1));
          const most = Math.max(1, ...workers.map(([, n]) => n.holds));
          return h(
            'section',
            { class: 'cache', 'data-cache': c.name },
            h('h3', {}, c.name, ' ', h('span', { class: 'badge' }, c.strategy), ` ${c.ids} ids × ${c.replicas} copies`, c.unplaced ? ` (${c.unplaced} not placed)` : '', h('span', { 'data-field': 'moving', class: c.moving ? 'badge warn' : 'muted' }, c.moving ? ` ${c.moving} moving` : ' nothing moving')),
            h(
              'table',
              { 'data-testid': 'cache-workers' },
              h('thead', {}, h('tr', {}, ['Worker', 'Owns', 'Holds', 'Copying in', 'Bytes', ''].map((t) => h('th', {}, t)))),
              h('tbody', {}, workers.map(([w, n]) => h('tr', { 'data-worker': w }, h('td', { title: w }, short(w)), h('td', { 'data-field': 'owns' }, String(n.owns)), h('td', { 'data-field': 'holds' }, String(n.holds)), h('td', { 'data-field': 'copying' }, String(n.copying ?? 0)), h('td', { 'data-field': 'bytes' }, n.bytes === undefined ? '–' : bytes(n.bytes)), h('td', { class: 'load' }, bar(n.holds / most, `${n.holds}`))))),
            ),
          );
        }),
  );
}
