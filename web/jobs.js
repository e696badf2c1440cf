// Jobs: a progress bar per job; for one job, a result table (failures first), grouped by a
// matrix axis if asked, with the output tail of a task on click.
import { api, apiAll } from './api.js';
import { bar, duration, fill, h } from './dom.js';

const ORDER = { failed: 0, running: 1, pending: 2, cancelled: 3, succeeded: 4 };
let groupBy = '';
let openTask = '';
/** The whole output tail of the opened task, when its list entry holds only the end of it. */
let wholeOutput = { id: '', text: '' };
let list;
let detail;

function progress(j) {
  const c = j.counts;
  return h(
    'div',
    { class: 'job', 'data-job': j.id },
    h('a', { href: `#jobs/${encodeURIComponent(j.id)}` }, j.id),
    bar(j.progress, `${j.done}/${j.total} ${Math.floor(j.progress * 100)}%`, c.failed ? 'has-failures' : ''),
    h('span', { class: 'counts' }, `ok ${c.succeeded} · failed ${c.failed} · running ${c.running} · pending ${c.pending}${c.cancelled ? ` · cancelled ${c.cancelled}` : ''} · ${j.rate.toFixed(1)}/s`),
    j.state === 'cancelled' ? h('span', { class: 'badge' }, 'cancelled') : j.finishedAt ? h('span', { class: 'badge ok' }, 'done') : null,
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
            h('td', {}, String(t.index)),
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
    h('div', { class: 'toolbar' }, h('a', { href: '#jobs' }, '← all jobs'), select, cancel),
    groups.map(([v, rows]) => [groupBy ? h('h3', {}, `${groupBy} = ${v} (${rows.filter((t) => t.status === 'failed').length} failed of ${rows.length})`) : null, table(rows)]),
  );
}
