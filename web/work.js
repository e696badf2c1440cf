// Work: items with the worker assigned, the one holding its claim, the fencing token and restarts;
// a search, and pages of 100 rows read from the server's paged GET /work (content comes as a
// preview of its first 1 KiB), so a fleet of any size, or of 1 MiB items, stays fast.
import { api, apiPage } from './api.js';
import { fill, h, short } from './dom.js';

const PAGE = 100;
/** Requests a search may make to fill one page (each looks at up to 5,000 items on the server). */
const SEARCH_READS = 20;
let body;
let pager;
let search = '';
/** `after` cursors of the pages seen: cursors[k] starts page k. */
let cursors = [undefined];
let page = 0;
let shown = { rows: [], next: undefined, total: 0 };
let draw = () => undefined;
let searchTimer;

/** The rows of the page starting after `after`, following the server's cursors while a search finds too few. */
async function readRows(after) {
  const rows = [];
  let cursor = after;
  let total = 0;
  for (let reads = 0; ; reads++) {
    const p = await apiPage('/work', { limit: PAGE - rows.length, after: cursor, q: search || undefined });
    rows.push(...p.items);
    cursor = p.next;
    total = p.total ?? total;
    if (!search || rows.length >= PAGE || cursor === undefined || reads + 1 >= SEARCH_READS) break;
  }
  return { rows, next: cursor, total };
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
      clearTimeout(searchTimer);
      searchTimer = setTimeout(() => {
        search = find.value;
        cursors = [undefined];
        page = 0;
        ctx.refresh();
      }, 150);
    });
    pager = h('span', { class: 'pager' });
    body = h('div');
    fill(root, h('h2', {}, 'Work'), h('div', { class: 'toolbar' }, content, add), h('div', { class: 'toolbar' }, find, pager), body);
  }
  shown = await readRows(cursors[page]);
  if (shown.rows.length === 0 && page > 0) {
    // The page emptied (items deleted): go back to the first.
    cursors = [undefined];
    page = 0;
    shown = await readRows(undefined);
  }
  cursors[page + 1] = shown.next;
  draw = () => drawWork(ctx);
  draw();
}

function drawWork(ctx) {
  const go = (p) => () => {
    page = p;
    ctx.refresh();
  };
  const from = page * PAGE + (shown.rows.length ? 1 : 0);
  const to = page * PAGE + shown.rows.length;
  const position = search ? `${shown.rows.length} matching on this page · page ${page + 1}` : `${from}–${to} of ${shown.total} items · page ${page + 1}/${Math.max(1, Math.ceil(shown.total / PAGE))}`;
  fill(
    pager,
    h('button', { disabled: page === 0, onclick: go(page - 1) }, '‹'),
    ` ${position} `,
    h('button', { disabled: shown.next === undefined, onclick: go(page + 1) }, '›'),
  );
  const act = (fn) => async () => {
    try {
      await fn();
    } catch (err) {
      alert(err.message);
    }
    ctx.refresh();
  };
  const rows = shown.rows.map((w) =>
    h(
      'tr',
      { 'data-item': w.id },
      h('td', { title: w.id }, short(w.id)),
      h('td', { class: 'content', 'data-testid': 'content' }, w.content, w.contentTruncated ? h('span', { class: 'more' }, ` … (${w.contentBytes} bytes)`) : null),
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
              // A list holds a preview: edit the whole content.
              const whole = w.contentTruncated ? (await api('GET', `/work/${encodeURIComponent(w.id)}`)).content : w.content;
              const next = prompt(`New content for ${w.id}:`, whole);
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
