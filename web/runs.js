// Runs: each run's state, round, pending participants and history.
import { api, apiAll } from './api.js';
import { fill, h } from './dom.js';

let body;

export async function renderRuns(root) {
  if (!body || !root.contains(body)) {
    body = h('div');
    fill(root, h('h2', {}, 'Runs'), body);
  }
  const runs = await Promise.all((await apiAll('/runs')).map((r) => api('GET', `/runs/${encodeURIComponent(r.id)}`)));
  fill(
    body,
    runs.length === 0
      ? h('p', { class: 'empty' }, 'No runs yet: rota run create ID --nodes node1=1,2')
      : runs.map((r) =>
          h(
            'section',
            { class: 'run', 'data-run': r.id },
            h('h3', {}, r.id, ' ', h('span', { class: 'badge' }, r.state), ` round ${r.round}`, r.final ? ' (final)' : ''),
            h('p', {}, 'pending: ', r.pending.length ? r.pending.map((p) => h('span', { class: 'chip' }, p)) : 'nobody'),
            h('ol', { class: 'history' }, r.history.map((s) => h('li', {}, `${s.state} — round ${s.round}, ${new Date(s.at).toLocaleTimeString()}`))),
          ),
        ),
  );
}
