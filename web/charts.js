// Live charts of the node's own metrics (GET /metrics/series): the last 15 minutes of tasks
// finished per second, items placed and moved, failovers with their mean duration, and whether this
// node led — plain SVG, redrawn every few seconds while the Fleet view is open.
import { api } from './api.js';
import { fill, h } from './dom.js';

const SVG = 'http://www.w3.org/2000/svg';
const WINDOW_MS = 15 * 60 * 1000;
const W = 260;
const H = 56;

/** An SVG element (h() makes HTML ones). */
function s(tag, attrs = {}, ...children) {
  const el = document.createElementNS(SVG, tag);
  for (const [k, v] of Object.entries(attrs)) el.setAttribute(k, String(v));
  el.append(...children);
  return el;
}

/** One chart: a line (or bars) of `values` over the window, its latest value and the peak. */
function chart(key, title, points, value, { bars = false, unit = '', note } = {}) {
  const now = Date.now();
  // Up to the last 15 minutes; a node up for less shows what it has, across the whole width.
  const span = Math.max(10_000, Math.min(WINDOW_MS, now - (points[0]?.at ?? now)));
  const xs = points.map((p) => W - ((now - p.at) / span) * W);
  const ys = points.map(value);
  const peak = Math.max(0, ...ys.filter((y) => y !== undefined));
  const y = (v) => H - 4 - (peak > 0 ? (v / peak) * (H - 10) : 0);
  const shapes = bars
    ? points.map((p, i) => (ys[i] ? s('rect', { x: xs[i] - 1.5, y: y(ys[i]), width: 3, height: H - 4 - y(ys[i]), class: 'bar' }) : null)).filter(Boolean)
    : [s('polyline', { points: points.map((p, i) => `${xs[i].toFixed(1)},${y(ys[i] ?? 0).toFixed(1)}`).join(' '), class: 'line' })];
  const last = ys.length ? ys[ys.length - 1] : undefined;
  return h(
    'figure',
    { class: 'chart', 'data-chart': key, 'data-last': last ?? '', 'data-points': points.length },
    h('figcaption', {}, title, ' ', h('b', {}, last === undefined ? '–' : `${last}${unit}`), peak > 0 ? h('span', { class: 'muted' }, ` peak ${peak}${unit}`) : null, note ? h('span', { class: 'muted' }, ` ${note}`) : null),
    s('svg', { viewBox: `0 0 ${W} ${H}`, width: W, height: H, role: 'img', 'aria-label': title }, s('line', { x1: 0, y1: H - 4, x2: W, y2: H - 4, class: 'axis' }), ...shapes),
  );
}

/** Draws the charts into `root` (a panel of the Fleet view). */
export async function renderCharts(root) {
  const { everyMs, points } = await api('GET', '/metrics/series');
  const failovers = points.filter((p) => p.failovers > 0);
  const mean = failovers.length ? failovers.reduce((n, p) => n + p.failoverSeconds * p.failovers, 0) / failovers.reduce((n, p) => n + p.failovers, 0) : undefined;
  fill(
    root,
    h('div', { class: 'charts-head' }, h('b', {}, 'Last 15 minutes'), h('span', { class: 'muted' }, ` this node's metrics, every ${everyMs / 1000} s (GET /metrics for Prometheus)`)),
    h(
      'div',
      { class: 'charts' },
      chart('tasks', 'Tasks finished /s', points, (p) => p.tasksPerSec),
      chart('moved', 'Items moved', points, (p) => p.moved, { bars: true, note: `(${points.reduce((n, p) => n + p.placed, 0)} placed)` }),
      chart('failovers', 'Failovers', points, (p) => p.failovers, { bars: true, note: mean === undefined ? '' : `mean ${mean.toFixed(2)} s` }),
      chart('leading', 'This node leads', points, (p) => p.leading),
    ),
  );
}
