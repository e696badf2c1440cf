// GET /work in pages: items in id order, each with where it runs; content and output cut to
// previews unless asked for. A page ends at `limit` items, at RESPONSE_BYTES of JSON, or once it
// has read STORE_READ_BYTES of items from the store, whichever comes first: items of 1 MiB make
// small pages, never a large answer. Every key a page shows is read at one revision.
import type { Keys } from '../engine/keys.js';
import { decodeSpec, ValidationError } from '../engine/model.js';
import { decodeJson, type TaskResult } from '../engine/tasks/task-model.js';
import { readPage, scanPrefix, sizeOf, type KeyValue, type Store } from '../store/index.js';
import { checkPage, fitPage, RESPONSE_BYTES, STORE_READ_BYTES, WORK_STATUSES, type Page, type WorkListOptions, type WorkStatus } from './paging.js';
import { headOf, tailOf } from './preview.js';
import type { WorkCounts, WorkView } from './types.js';
import { assignmentsOf } from './assignments.js';
import { taskPlacements } from '../engine/tasks/batch-reads.js';

/** Items in a page unless `limit` says otherwise. */
export const DEFAULT_WORK_LIMIT = 1000;
/** Items a filtered page looks at before it answers with what it found (and a cursor to go on). */
const SCAN_ITEMS = 5000;
/** The longest search text. */
const MAX_QUERY = 256;

/** Where an item stands, from its view. */
export function statusOf(w: WorkView): WorkStatus {
  if (w.result) return w.result.status;
  if (w.claimedBy) return 'running';
  return w.kind === 'task' && (w.attempts ?? 0) > 0 ? 'retrying' : 'waiting';
}

/** An item's view from its keys (all read at one revision); `attempts`: how many of its attempts ended before the current one. */
export function workView(id: string, item: KeyValue, spec?: KeyValue, assign?: KeyValue, claim?: KeyValue, status?: KeyValue, result?: KeyValue, attempts = 0): WorkView {
  let restarts: number | undefined;
  try {
    const s = status ? (JSON.parse(status.value) as { restarts?: number; token?: number }) : undefined;
    if (s && claim && s.token === claim.createRevision) restarts = s.restarts;
  } catch {
    // a damaged status says nothing
  }
  const view: WorkView = {
    id,
    content: item.value,
    ...decodeSpec(spec?.value),
    assignedTo: assign?.value,
    claimedBy: claim?.value,
    fencingToken: claim?.createRevision,
    restarts,
    result: decodeJson<TaskResult>(result?.value),
  };
  if (view.kind === 'task') view.attempts = attempts;
  view.status = statusOf(view);
  return view;
}

/** The view as a list shows it: content's head and output's tail, each with a mark when cut. */
export function previewOf(view: WorkView): WorkView {
  const contentBytes = Buffer.byteLength(view.content);
  const content = headOf(view.content);
  const out: WorkView = { ...view, content, contentBytes };
  if (content.length < view.content.length) out.contentTruncated = true;
  if (view.result) {
    const output = tailOf(view.result.output ?? '');
    out.result = output.length < (view.result.output ?? '').length ? { ...view.result, output, outputTruncated: true } : view.result;
  }
  return out;
}

/** One page of items. */
export async function listWorkPage(store: Store, keys: Keys, options: WorkListOptions = {}): Promise<Page<WorkView>> {
  checkPage(options, 'work');
  if (options.q !== undefined && (typeof options.q !== 'string' || options.q.length > MAX_QUERY)) {
    throw new ValidationError(`q must be a text of at most ${MAX_QUERY} characters`);
  }
  if (options.kind !== undefined && options.kind !== 'service' && options.kind !== 'task') throw new ValidationError(`kind must be service or task, not "${String(options.kind).slice(0, 40)}"`);
  if (options.status !== undefined && !WORK_STATUSES.includes(options.status)) throw new ValidationError(`status must be one of ${WORK_STATUSES.join(', ')}, not "${String(options.status).slice(0, 40)}"`);
  const limit = options.limit ?? DEFAULT_WORK_LIMIT;
  const q = options.q ? options.q.toLowerCase() : undefined;
  const filtered = Boolean(q || options.kind || options.status);
  const wanted = (w: WorkView) => (!q || matches(w, q)) && (!options.kind || w.kind === options.kind) && (!options.status || w.status === options.status);
  const readBudget = options.content ? RESPONSE_BYTES : STORE_READ_BYTES;
  const found: WorkView[] = [];
  let after = options.after === undefined ? undefined : keys.item(options.after);
  let revision: number | undefined;
  let scanned = 0;
  let read = 0;
  let more = true;
  let cursor: string | undefined; // the last item looked at: the next page starts after it
  scan: while (found.length < limit && more && scanned < SCAN_ITEMS && read < readBudget) {
    const want = filtered ? SCAN_ITEMS - scanned : limit - found.length;
    const page = await readPage(store, keys.registry, { after, revision, limit: want, pageSize: want, maxBytes: readBudget - read });
    revision = page.revision;
    more = page.more;
    if (page.kvs.length === 0) break;
    scanned += page.kvs.length;
    for (const kv of page.kvs) read += sizeOf(kv);
    const views = await joinViews(store, keys, page.kvs, revision, Boolean(options.content));
    for (const [i, view] of views.entries()) {
      cursor = view.id;
      if (filtered && !wanted(view)) continue;
      found.push(options.content ? view : previewOf(view));
      if (found.length === limit) {
        more ||= i < views.length - 1;
        break scan;
      }
    }
    after = page.kvs[page.kvs.length - 1].key;
    if (!filtered) break; // one read holds the page: its limit or its share of the read budget
  }
  const { count: total } = await store.range(keys.registry, { prefix: true, countOnly: true, revision });
  return { ...fitPage(found, (w) => w.id, more, cursor), total };
}

/** Whether an item's id, content, kind or workers contain `q` (lower case). */
function matches(w: WorkView, q: string): boolean {
  return [w.id, w.content, w.kind, w.assignedTo ?? '', w.claimedBy ?? ''].some((s) => s.toLowerCase().includes(q));
}

/** The views of `items` (registry key-values in key order), joined with their other keys at `revision`. */
async function joinViews(store: Store, keys: Keys, items: KeyValue[], revision: number, whole: boolean): Promise<WorkView[]> {
  const ids = items.map((kv) => kv.key.slice(keys.registry.length));
  const wanted = new Set(ids);
  const [first, last] = [ids[0], ids[ids.length - 1]];
  // Each section is read over the page's id interval only, in pages of bounded size; a result's
  // output is cut as soon as it is read, so no more than a preview per item is held.
  const section = async (prefix: string, shrink?: (kv: KeyValue) => KeyValue) => {
    const m = new Map<string, KeyValue>();
    for await (const page of scanPrefix(store, prefix, { from: prefix + first, end: `${prefix}${last}\0`, revision, pageSize: items.length })) {
      for (const kv of page.kvs) {
        const id = kv.key.slice(prefix.length);
        if (wanted.has(id)) m.set(id, shrink ? shrink(kv) : kv);
      }
    }
    return m;
  };
  const cutOutput = (kv: KeyValue): KeyValue => {
    const r = decodeJson<TaskResult>(kv.value);
    if (!r || typeof r.output !== 'string' || Buffer.byteLength(r.output) <= 2048) return kv;
    return { ...kv, value: JSON.stringify(previewOf({ id: '', content: '', kind: 'task', weight: 1, selector: {}, result: r }).result) };
  };
  const [specs, assign, active, status, results, attempts] = await Promise.all([
    section(keys.specs),
    assignmentsOf(store, keys, ids),
    section(keys.active),
    section(keys.status),
    section(keys.results, whole ? undefined : cutOutput),
    attemptCounts(store, keys, ids, revision),
  ]);
  if ([...specs.values()].some((kv) => decodeSpec(kv.value).kind === 'task')) await placeTasks(store, keys, assign, active);
  return items.map((kv, i) => {
    const id = ids[i];
    return workView(id, kv, specs.get(id), assign.get(id), active.get(id), status.get(id), results.get(id), attempts.get(id));
  });
}

/** How many attempt records each of `ids` (in key order) has, keys only. */
async function attemptCounts(store: Store, keys: Keys, ids: string[], revision: number): Promise<Map<string, number>> {
  const counts = new Map<string, number>();
  const wanted = new Set(ids);
  // attempts/<id>/<n>: "a/…" sorts after "a-1/…" though "a" comes first among the ids, so the
  // interval runs to past the greatest "<id>/" of the page ("/" + 1 is "0").
  const end = ids.reduce((max, id) => (`${id}0` > max ? `${id}0` : max), '');
  for await (const page of scanPrefix(store, keys.attempts, { from: keys.attempts + ids[0], end: keys.attempts + end, revision, keysOnly: true })) {
    for (const kv of page.kvs) {
      const id = kv.key.slice(keys.attempts.length, kv.key.lastIndexOf('/'));
      if (wanted.has(id)) counts.set(id, (counts.get(id) ?? 0) + 1);
    }
  }
  return counts;
}

/** Items by kind and status, every one looked at (a page of them at a time, at one revision). */
export async function countWork(store: Store, keys: Keys): Promise<WorkCounts> {
  const zero = () => Object.fromEntries(WORK_STATUSES.map((s) => [s, 0])) as Record<WorkStatus, number>;
  const counts: WorkCounts = { service: zero(), task: zero(), total: 0 };
  let after: string | undefined;
  let revision: number | undefined;
  for (;;) {
    const page = await readPage(store, keys.registry, { after, revision, limit: 1000, pageSize: 1000, keysOnly: true, maxBytes: RESPONSE_BYTES });
    revision = page.revision;
    if (page.kvs.length === 0) break;
    for (const view of await joinViews(store, keys, page.kvs.map((kv) => ({ ...kv, value: '' })), revision, false)) {
      counts[view.kind][view.status ?? 'waiting']++;
      counts.total++;
    }
    if (!page.more) break;
    after = page.kvs[page.kvs.length - 1].key;
  }
  return counts;
}

/** Adds where tasks are (they go in batches: task-batches.ts) to the assignments and claims of a view, as if they were their own. */
export async function placeTasks(store: Store, keys: Keys, assign: Map<string, KeyValue>, active: Map<string, KeyValue>, only?: string): Promise<void> {
  for (const [id, p] of await taskPlacements(store, keys)) {
    if (only !== undefined && id !== only) continue;
    const kv: KeyValue = { key: keys.assignment(p.worker, p.batch), value: p.worker, createRevision: p.token ?? 0, modRevision: p.token ?? 0, version: 1, lease: '0' };
    assign.set(id, kv);
    if (p.token !== undefined) active.set(id, { ...kv, key: keys.claim(p.batch) });
  }
}
