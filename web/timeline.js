// The fleet's recent events, as the store's change stream tells them: workers joining and leaving,
// items grabbed, released and moved, leadership changes. Kept in the page since it opened (the
// last 200), newest first.
import { fill, h, short } from './dom.js';

const events = [];
/** Where each item was last assigned, to tell a move from a first placement. */
const assignedTo = new Map();
const listeners = new Set();

/** What one change means, or undefined for the changes the timeline leaves out. */
function describe(c) {
  const [section, a, b] = c.key.split('/');
  const put = c.type === 'put';
  if (section === 'workers' && a) return put ? (c.created ? { kind: 'join', text: `worker ${short(a)} joined` } : undefined) : { kind: 'leave', text: `worker ${short(a)} left` };
  if (section === 'active' && a && !a.startsWith('~')) return put ? (c.created ? { kind: 'grab', text: `${short(c.value)} grabbed ${short(a)}` } : undefined) : { kind: 'release', text: `${short(a)} released` };
  if (section === 'assign' && a && b && !b.startsWith('~')) {
    if (!put) return undefined;
    const before = assignedTo.get(b);
    if (assignedTo.size > 20_000) assignedTo.clear(); // a page open for days forgets, rather than grows
    assignedTo.set(b, a);
    if (before === a) return undefined;
    return before ? { kind: 'move', text: `${short(b)} moved ${short(before)} → ${short(a)}` } : { kind: 'place', text: `${short(b)} placed on ${short(a)}` };
  }
  if (section === 'leader-office') return put ? { kind: 'leader', text: `leader: ${short(leaderOf(c.value))}` } : { kind: 'leader', text: 'no leader' };
  return undefined;
}

function leaderOf(value) {
  try {
    return JSON.parse(value).id ?? value;
  } catch {
    return value ?? '';
  }
}

/** Takes one batch of the change stream. */
export function recordChanges(batch) {
  const at = Date.now();
  for (const c of batch.changes ?? []) {
    const e = describe({ ...c, created: c.type === 'put' && c.createRevision === c.modRevision });
    if (e) events.unshift({ ...e, at });
  }
  events.splice(200);
  for (const l of listeners) l();
}

/** The timeline, drawn into `el` now and on every new event while `el` is in the page. */
export function renderTimeline(el) {
  const draw = () => {
    if (!el.isConnected) return void listeners.delete(draw);
    fill(
      el,
      h('h3', {}, 'Events'),
      events.length === 0
        ? h('p', { class: 'muted' }, 'Nothing yet: joins, grabs, releases, moves and leader changes appear here as they happen.')
        : h('ol', { class: 'timeline', 'data-testid': 'timeline' }, events.slice(0, 50).map((e) => h('li', { class: `ev-${e.kind}` }, h('time', {}, new Date(e.at).toLocaleTimeString()), ' ', e.text))),
    );
  };
  listeners.add(draw);
  draw();
}
