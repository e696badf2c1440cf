// One item's page (#work/<id>): its whole content and spec, where it runs, and for a task every
// attempt with its worker, times, outcome and output tail, with Retry once it failed.
import { action, api } from './api.js';
import { duration, fill, h, short } from './dom.js';

const time = (ms) => (ms ? new Date(ms).toLocaleTimeString() : '');

export async function renderItem(root, ctx) {
  let item;
  try {
    item = await api('GET', `/work/${encodeURIComponent(ctx.arg)}`);
  } catch (err) {
    return fill(root, h('h2', {}, 'Work'), h('p', {}, h('a', { href: '#work' }, '← all items')), h('p', { class: 'error' }, err.message));
  }
  const attempts = item.kind === 'task' ? await api('GET', `/work/${encodeURIComponent(item.id)}/attempts`) : [];
  const act = action(ctx.refresh);
  const spec = Object.entries({ kind: item.kind, weight: item.weight, selector: Object.keys(item.selector ?? {}).length ? JSON.stringify(item.selector) : undefined, placement: item.placement, command: item.command ? JSON.stringify(item.command) : undefined, timeoutMs: item.timeoutMs, maxAttempts: item.maxAttempts, backoffMs: item.backoffMs, job: item.job, submitted: item.submittedAt ? new Date(item.submittedAt).toLocaleString() : undefined }).filter(([, v]) => v !== undefined);
  const facts = [
    ['status', h('span', { class: `st st-${item.status}`, 'data-testid': 'item-status' }, item.status ?? '')],
    ['assigned to', item.assignedTo ?? '—'],
    ['running on', item.claimedBy ?? '—'],
    ['fencing token', item.fencingToken ?? '—'],
    ...(item.kind === 'service' ? [['restarts', item.restarts ?? 0]] : []),
    ...spec,
  ];
  const canRetry = item.status === 'failed' || item.status === 'cancelled';
  fill(
    root,
    h('h2', {}, `Work ${short(item.id)}`),
    h(
      'div',
      { class: 'toolbar' },
      h('a', { href: '#work' }, '← all items'),
      h('code', { title: 'its whole id' }, item.id),
      canRetry ? h('button', { 'data-action': 'retry', onclick: act(() => api('POST', `/work/${encodeURIComponent(item.id)}/retry`)) }, 'Retry') : null,
      h('button', { class: 'danger', onclick: act(async () => { if (confirm(`Delete ${item.id}?`)) (await api('DELETE', `/work/${encodeURIComponent(item.id)}`), (location.hash = '#work')); }) }, 'Delete'),
    ),
    h('table', { class: 'facts', 'data-testid': 'item' }, h('tbody', {}, facts.map(([k, v]) => h('tr', {}, h('th', {}, k), h('td', {}, v))))),
    h('h3', {}, 'Content'),
    h('pre', { class: 'content', 'data-testid': 'item-content' }, item.content || '(empty)'),
    item.kind === 'task'
      ? [
          h('h3', {}, `Attempts (${attempts.length})`),
          attempts.length === 0
            ? h('p', { class: 'muted' }, item.claimedBy ? `running on ${short(item.claimedBy)} (its first attempt)` : 'not run yet')
            : attempts.map((a) =>
                h(
                  'details',
                  { class: `attempt st-${a.status}`, 'data-testid': 'attempt', open: a === attempts.at(-1) },
                  h('summary', {}, `#${a.attempt} ${a.status}${a.exitCode !== undefined && a.exitCode !== null ? ` (exit ${a.exitCode})` : ''}${a.signal ? ` (${a.signal})` : ''} on ${short(a.worker)} · started ${time(a.startedAt)} · ${a.finishedAt && a.startedAt ? duration(a.finishedAt - a.startedAt) : 'running'}${a.retryAt ? ` · retried after ${time(a.retryAt)}` : ''}`),
                  h('pre', { class: 'output' }, a.output || '(no output)'),
                ),
              ),
          item.claimedBy && item.result === undefined && attempts.length ? h('p', { class: 'muted' }, `attempt #${attempts.length + 1} running on ${short(item.claimedBy)}`) : null,
        ]
      : null,
  );
}
