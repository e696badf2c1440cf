// Jobs: a progress bar per job; for one job, a result table (failures first), grouped by a
// matrix axis if asked, with the output tail of a task on click.
import { action, api, apiAll } from './api.js';
import { duration, fill, h } from './dom.js';

const ORDER = { failed: 0, running: 1, pending: 2, cancelled: 3, succeeded: 4 };
let groupBy = '';
let openTask = '';
/** The whole output tail of the opened task, when its list entry holds only the end of it. */
let wholeOutput = { id: '', text: '' };
let list;
let detail;

/** The bar of a job: succeeded green, failed red, cancelled grey, running blue, pending empty. */
function segments(j) {
  const c = j.counts;
  const part = (n, cls) => (n > 0 ? h('span', { class: `seg ${cls}`, width: (n / Math.max(1, j.total)) * 100, title: `${n} ${cls}` }) : null);
  return h(
    'div',
    { class: 'bar segmented', role: 'progressbar', 'aria-valuenow': Math.round(j.progress * 100), 'aria-valuemin': 0, 'aria-valuemax': 100, 'data-testid': 'job-bar' },
    part(c.succeeded, 'succeeded'),
    part(c.failed, 'failed'),
    part(c.cancelled, 'cancelled'),
    part(c.running, 'running'),
    h('em', {}, `${j.done}/${j.total} ${Math.floor(j.progress * 100)}%`),
  );
}

/** When it started, and for how long it has run (or ran). */
function timing(j) {
  if (!j.startedAt) return h('span', { class: 'muted' }, 'not started');
  const end = j.finishedAt ?? Date.now();
  return h('span', { class: 'muted', 'data-testid': 'job-time' }, `started ${new Date(j.startedAt).toLocaleTimeString()} · ${j.finishedAt ? 'took' : 'running for'} ${duration(end - j.startedAt)}`);
}

function progress(j) {
  const c = j.counts;
  const badge =
    j.state === 'cancelled'
      ? h('span', { class: 'badge' }, 'cancelled')
      : j.finishedAt
        ? c.failed
          ? h('span', { class: 'badge bad', 'data-testid': 'job-badge' }, `done, ${c.failed} failed`)
          : h('span', { class: 'badge ok', 'data-testid': 'job-badge' }, 'done')
        : null;
  return h(
    'div',
    { class: 'job', 'data-job': j.id },
    h('a', { href: `#jobs/${encodeURIComponent(j.id)}` }, j.id),
    segments(j),
    h('span', { class: 'counts' }, `ok ${c.succeeded} · `, h('span', { class: c.failed ? 'bad' : '' }, `failed ${c.failed}`), ` · running ${c.running} · pending ${c.pending}${c.cancelled ? ` · cancelled ${c.cancelled}` : ''} · ${j.rate.toFixed(1)}/s`),
    timing(j),
    badge,
  );
}

export async function renderJobs(root, ctx) {
  if (!list || !root.contains(list)) {
    list = h('div');
    detail = h('div');
    fill(root, h('h2', {}, 'Jobs'), list, detail);
  }
  if (!ctx.arg) {
    const jobs = (await apiAll('/jobs')).sort((a, b) => b.createdAt - a.createdAt);
    fill(list, jobs.length ? jobs.map(progress) : h('p', { class: 'empty' }, 'No jobs yet: rota job submit FILE'));
    fill(detail);
    return;
  }
  // Tasks come in pages with the last 1 KiB of each output; an opened task's whole tail is read on demand.
  const [job, tasks] = await Promise.all([api('GET', `/jobs/${encodeURIComponent(ctx.arg)}`), apiAll(`/jobs/${encodeURIComponent(ctx.arg)}/tasks`)]);
  const open = tasks.find((t) => t.id === openTask);
  if (open?.result?.outputTruncated && wholeOutput.id !== open.id) {
    wholeOutput = { id: open.id, text: (await api('GET', `/work/${encodeURIComponent(open.id)}`)).result?.output ?? '' };
  }
  const axes = [...new Set(tasks.flatMap((t) => Object.keys(t.values)))];
  // A grouping chosen on another job whose axes this one does not have is dropped, not carried over.
  if (!axes.includes(groupBy)) groupBy = '';
  const sorted = [...tasks].sort((a, b) => ORDER[a.status] - ORDER[b.status] || a.index - b.index);
  const select = h('select', { 'data-testid': 'group-by' }, h('option', { value: '' }, 'no grouping'), axes.map((a) => h('option', { value: a, selected: a === groupBy }, `group by ${a}`)));
  select.addEventListener('change', () => {
    groupBy = select.value;
    ctx.refresh();
  });
  const cancel = h('button', { class: 'danger', disabled: job.state === 'cancelled' || Boolean(job.finishedAt) }, 'Cancel job');
  cancel.addEventListener('click', async () => {
    if (confirm(`Cancel ${job.id}?`)) await api('POST', `/jobs/${encodeURIComponent(job.id)}/cancel`).catch((e) => alert(e.message));
    ctx.refresh();
  });
  const retry = h('button', { 'data-action': 'retry-failed', disabled: job.counts.failed === 0 || job.state !== 'ready' }, `Retry ${job.counts.failed} failed`);
  retry.addEventListener('click', action(ctx.refresh)(() => api('POST', `/jobs/${encodeURIComponent(job.id)}/retry`)));
  const table = (rows) =>
    h(
      'table',
      { class: 'results', 'data-testid': 'results' },
      h('thead', {}, h('tr', {}, ['Task', 'Status', 'Duration', 'Attempts', ...axes].map((t) => h('th', {}, t)))),
      h(
        'tbody',
        {},
        rows.flatMap((t) => {
          const row = h(
            'tr',
            { class: `status-${t.status}`, 'data-task': t.id, onclick: () => ((openTask = openTask === t.id ? '' : t.id), ctx.refresh()) },
            h('td', {}, h('a', { href: `#work/${encodeURIComponent(t.id)}`, onclick: (e) => e.stopPropagation(), title: 'its page: every attempt' }, String(t.index))),
            h('td', { 'data-testid': 'status' }, t.status),
            h('td', {}, duration(t.result?.durationMs)),
            h('td', {}, String(t.attempts)),
            axes.map((a) => h('td', {}, t.values[a] ?? '')),
          );
          const out = openTask === t.id ? h('tr', { class: 'output' }, h('td', { colspan: 4 + axes.length }, h('pre', { 'data-testid': 'output' }, (wholeOutput.id === t.id ? wholeOutput.text : t.result?.output) || '(no output yet)'))) : null;
          return [row, out];
        }),
      ),
    );
  const groups = groupBy ? [...new Set(sorted.map((t) => t.values[groupBy]))].map((v) => [v, sorted.filter((t) => t.values[groupBy] === v)]) : [['', sorted]];
  fill(list, progress(job));
  fill(
    detail,
    h('div', { class: 'toolbar' }, h('a', { href: '#jobs' }, '← all jobs'), select, retry, cancel),
    groups.map(([v, rows]) => [groupBy ? h('h3', {}, `${groupBy} = ${v} (${rows.filter((t) => t.status === 'failed').length} failed of ${rows.length})`) : null, table(rows)]),
  );
}
