// Work: every item with the worker assigned, the one holding its claim, the fencing token and
// restarts; search, and pages of 100 rows so 10,000 items stay fast.
import { api } from './api.js';
import { fill, h, short } from './dom.js';

const PAGE = 100;
let body;
let pager;
let search = '';
let page = 0;
/** The last list fetched: searching and paging redraw from it at once, without a fetch. */
let all = [];
let draw = () => undefined;

function textOf(w) {
  return `${w.id}\n${w.content}\n${w.assignedTo ?? ''}\n${w.claimedBy ?? ''}\n${w.kind}`.toLowerCase();
}

export async function renderWork(root, ctx) {
  if (!body || !root.contains(body)) {
    const content = h('textarea', { 'data-testid': 'new-content', placeholder: 'content of a new item (any text)', rows: 2 });
    const add = h('button', { 'data-testid': 'add-item' }, 'Add item');
    add.addEventListener('click', async () => {
      try {
        await api('POST', '/work', content.value, 'text/plain');
        content.value = '';
      } catch (err) {
        alert(err.message);
      }
      ctx.refresh();
    });
    const find = h('input', { type: 'search', 'data-testid': 'search', placeholder: 'search id, content, worker…', value: search });
    find.addEventListener('input', () => {
      search = find.value.toLowerCase();
      page = 0;
      draw();
    });
    pager = h('span', { class: 'pager' });
    body = h('div');
    fill(root, h('h2', {}, 'Work'), h('div', { class: 'toolbar' }, content, add), h('div', { class: 'toolbar' }, find, pager), body);
  }
  all = await api('GET', '/work');
  draw = () => drawWork(ctx);
  draw();
}

function drawWork(ctx) {
  const shown = search ? all.filter((w) => textOf(w).includes(search)) : all;
  const pages = Math.max(1, Math.ceil(shown.length / PAGE));
  page = Math.min(page, pages - 1);
  const go = (p) => () => {
    page = p;
    draw();
  };
  fill(
    pager,
    h('button', { disabled: page === 0, onclick: go(page - 1) }, '‹'),
    ` ${shown.length} of ${all.length} items · page ${page + 1}/${pages} `,
    h('button', { disabled: page >= pages - 1, onclick: go(page + 1) }, '›'),
  );
  const act = (fn) => async () => {
    try {
      await fn();
    } catch (err) {
      alert(err.message);
    }
    ctx.refresh();
  };
  const rows = shown.slice(page * PAGE, (page + 1) * PAGE).map((w) =>
    h(
      'tr',
      { 'data-item': w.id },
      h('td', { title: w.id }, short(w.id)),
      h('td', { class: 'content', 'data-testid': 'content' }, w.content),
      h('td', {}, w.kind === 'task' ? (w.result?.status ?? 'task') : ''),
      h('td', { title: w.assignedTo ?? '' }, short(w.assignedTo)),
      h('td', { title: w.claimedBy ?? '', 'data-testid': 'owner' }, short(w.claimedBy)),
      h('td', {}, w.fencingToken ?? ''),
      h('td', {}, w.restarts ?? ''),
      h(
        'td',
        { class: 'actions' },
        w.kind === 'service'
          ? h('button', { onclick: act(async () => {
              const next = prompt(`New content for ${w.id}:`, w.content);
              if (next !== null) await api('PUT', `/work/${encodeURIComponent(w.id)}`, next, 'text/plain');
            }) }, 'Edit')
          : null,
        h('button', { class: 'danger', onclick: act(async () => {
          if (confirm(`Delete ${w.id}?`)) await api('DELETE', `/work/${encodeURIComponent(w.id)}`);
        }) }, 'Delete'),
      ),
    ),
  );
  fill(
    body,
    h('table', { 'data-testid': 'work' }, h('thead', {}, h('tr', {}, ['Item', 'Content', 'Task', 'Assigned', 'Running on', 'Token', 'Restarts', ''].map((t) => h('th', {}, t)))), h('tbody', {}, rows)),
  );
}
