// Work: items with the worker assigned, the one holding its claim, the fencing token and restarts;
// tabs by status with their counts (GET /counts) and a kind filter; a search, and pages of 100
// rows read from the server's paged GET /work (content comes as a preview of its first 1 KiB), so
// a fleet of any size, or of 1 MiB items, stays fast. A row opens the item's page (#work/<id>).
import { action, api, apiPage } from './api.js';
import { fill, h, short } from './dom.js';
import { renderItem } from './item.js';

const TABS = ['all', 'waiting', 'running', 'retrying', 'succeeded', 'failed', 'cancelled'];
/** Counts are read at most this often: GET /counts looks at every item. */
const COUNTS_EVERY_MS = 3000;

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
let tab = 'all';
let kind = '';
let tabs;
let counts;
let countsAt = 0;

/** The rows of the page starting after `after`, following the server's cursors while a search finds too few. */
async function readRows(after) {
  const rows = [];
  let cursor = after;
  let total = 0;
  for (let reads = 0; ; reads++) {
    const filtered = Boolean(search || kind || tab !== 'all');
    const p = await apiPage('/work', { limit: PAGE - rows.length, after: cursor, q: search || undefined, kind: kind || undefined, status: tab === 'all' ? undefined : tab });
    rows.push(...p.items);
    cursor = p.next;
    total = p.total ?? total;
    if (!filtered || rows.length >= PAGE || cursor === undefined || reads + 1 >= SEARCH_READS) break;
  }
  return { rows, next: cursor, total };
}

/** The status tabs with their counts (of the kind chosen), and the kind filter. */
function drawTabs(ctx) {
  const of = (status) => {
    if (!counts) return '';
    const kinds = kind ? [kind] : ['service', 'task'];
    return status === 'all' ? counts.total : kinds.reduce((n, k) => n + counts[k][status], 0);
  };
  const choose = (t) => () => {
    tab = t;
    cursors = [undefined];
    page = 0;
    ctx.refresh();
  };
  const kindSelect = h('select', { 'data-testid': 'kind' }, [['', 'services and tasks'], ['service', 'services'], ['task', 'tasks']].map(([v, label]) => h('option', { value: v, selected: v === kind }, label)));
  kindSelect.addEventListener('change', () => {
    kind = kindSelect.value;
    cursors = [undefined];
    page = 0;
    ctx.refresh();
  });
  fill(tabs, TABS.map((t) => h('button', { class: `tab ${t === tab ? 'active' : ''} tab-${t}`, 'data-tab': t, onclick: choose(t) }, `${t} `, h('span', { class: 'count' }, String(of(t))))), kindSelect);
}

export async function renderWork(root, ctx) {
  if (ctx.arg) {
    body = undefined; // the list is drawn afresh when the item's page is left
    return renderItem(root, ctx);
  }
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
    tabs = h('div', { class: 'tabs', 'data-testid': 'tabs' });
    fill(root, h('h2', {}, 'Work'), h('div', { class: 'toolbar' }, content, add), tabs, h('div', { class: 'toolbar' }, find, pager), body);
  }
  if (Date.now() - countsAt > COUNTS_EVERY_MS || !counts) {
    countsAt = Date.now();
    counts = await api('GET', '/counts');
  }
  drawTabs(ctx);
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
  const position = search || kind || tab !== 'all' ? `${shown.rows.length} matching on this page · page ${page + 1}` : `${from}–${to} of ${shown.total} items · page ${page + 1}/${Math.max(1, Math.ceil(shown.total / PAGE))}`;
  fill(
    pager,
    h('button', { disabled: page === 0, onclick: go(page - 1) }, '‹'),
    ` ${position} `,
    h('button', { disabled: shown.next === undefined, onclick: go(page + 1) }, '›'),
  );
  const act = action(ctx.refresh);
  const rows = shown.rows.map((w) =>
    h(
      'tr',
      { 'data-item': w.id },
      h('td', { title: w.id }, h('a', { href: `#work/${encodeURIComponent(w.id)}` }, short(w.id))),
      h('td', { class: 'content', 'data-testid': 'content' }, w.content, w.contentTruncated ? h('span', { class: 'more' }, ` … (${w.contentBytes} bytes)`) : null),
      h('td', { class: `st st-${w.status}`, 'data-testid': 'status' }, `${w.kind === 'task' ? 'task · ' : ''}${w.status ?? ''}`),
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
        w.status === 'failed' || w.status === 'cancelled' ? h('button', { 'data-action': 'retry', onclick: act(() => api('POST', `/work/${encodeURIComponent(w.id)}/retry`)) }, 'Retry') : null,
        h('button', { class: 'danger', onclick: act(async () => {
          if (confirm(`Delete ${w.id}?`)) await api('DELETE', `/work/${encodeURIComponent(w.id)}`);
        }) }, 'Delete'),
      ),
    ),
  );
  fill(
    body,
    h('table', { 'data-testid': 'work' }, h('thead', {}, h('tr', {}, ['Item', 'Content', 'Status', 'Assigned', 'Running on', 'Token', 'Restarts', ''].map((t) => h('th', {}, t)))), h('tbody', {}, rows)),
  );
}
