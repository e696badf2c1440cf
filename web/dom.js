// Building DOM without ever parsing data as HTML: every string becomes a text node or an
// attribute value, so content like <img src=x onerror=alert(1)> shows as the text it is.

/** h('tr', {class: 'x', onclick: fn}, 'text', child, [more]) */
export function h(tag, props = {}, ...children) {
  const el = document.createElement(tag);
  for (const [k, v] of Object.entries(props ?? {})) {
    if (v === undefined || v === null || v === false) continue;
    if (k.startsWith('on') && typeof v === 'function') el.addEventListener(k.slice(2).toLowerCase(), v);
    else if (k === 'class') el.className = v;
    else if (k === 'value') el.value = v;
    else if (k === 'width') el.style.width = `${Math.max(0, Math.min(100, Number(v) || 0))}%`;
    else el.setAttribute(k, v === true ? '' : String(v));
  }
  for (const c of children.flat(Infinity)) {
    if (c === undefined || c === null || c === false) continue;
    el.append(c instanceof Node ? c : String(c));
  }
  return el;
}

/** Replaces the children of `el`. */
export function fill(el, ...children) {
  el.replaceChildren(...children.flat(Infinity).filter((c) => c !== undefined && c !== null && c !== false));
}

/** "3m 12s" from milliseconds. */
export function duration(ms) {
  if (ms === undefined || ms === null) return '';
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 3600) return `${Math.floor(s / 60)}m ${s % 60}s`;
  return `${Math.floor(s / 3600)}h ${Math.floor((s % 3600) / 60)}m`;
}

/** A progress bar, 0..1. */
export function bar(fraction, label, cls = '') {
  return h('div', { class: `bar ${cls}`, role: 'progressbar', 'aria-valuenow': Math.round(fraction * 100), 'aria-valuemin': 0, 'aria-valuemax': 100 }, h('span', { width: fraction * 100 }), h('em', {}, label));
}

/** The first characters of an id. */
export const short = (id) => (id && id.length > 12 ? `${id.slice(0, 8)}…` : id ?? '');

/** "5.4 KiB" from a number of bytes ('' for none). */
export const bytes = (n) => {
  if (n === undefined || n === null) return '';
  const units = ['B', 'KiB', 'MiB', 'GiB', 'TiB'];
  let i = 0;
  while (n >= 1024 && i < units.length - 1) (n /= 1024), i++;
  return `${n >= 10 || i === 0 ? Math.round(n) : n.toFixed(1)} ${units[i]}`;
};
