// Lists come in pages: at most `limit` entries after the `after` cursor, and never more than
// RESPONSE_BYTES of JSON, so no answer of the API grows with the fleet or with the size of values.
import { checkId, ValidationError } from '../engine/model.js';

/** Which page of a list to read. */
export interface PageRequest {
  /** At most this many entries (1..MAX_PAGE_LIMIT; each list has its default). */
  limit?: number;
  /** Start after the entry with this id (the `next` of the previous page). */
  after?: string;
}

/** One page of a list. */
export interface Page<T> {
  items: T[];
  /** Pass as `after` to read the next page; absent on the last page. */
  next?: string;
  /** How many entries the whole list holds, when it is cheap to know. */
  total?: number;
}

/** Which items to list (GET /work). */
export interface WorkListOptions extends PageRequest {
  /** The whole content and output instead of previews (pages then hold fewer items). */
  content?: boolean;
  /** Only items whose id, content, kind or workers contain this text (any case). */
  q?: string;
  /** Only services or only tasks. */
  kind?: 'service' | 'task';
  /** Only items in this state (see WorkStatus). */
  status?: WorkStatus;
}

/** Where an item stands: running (claimed now), waiting (to be claimed), retrying (a task between attempts), or a task's result. */
export type WorkStatus = 'running' | 'waiting' | 'retrying' | 'succeeded' | 'failed' | 'cancelled';

/** The states an item may be in. */
export const WORK_STATUSES: readonly WorkStatus[] = ['running', 'waiting', 'retrying', 'succeeded', 'failed', 'cancelled'];

/** Which tasks of a job to list (GET /jobs/:id/tasks). */
export interface TaskListOptions extends PageRequest {
  /** Whole outputs instead of their last 1 KiB. */
  output?: boolean;
}

/** The most entries one page may ask for. */
export const MAX_PAGE_LIMIT = 1000;
/** The JSON a page holds at most (a single larger entry is sent alone). */
export const RESPONSE_BYTES = 4 * 1024 * 1024;
/** What a page may read from the store at most before it ends (at least one entry). */
export const STORE_READ_BYTES = 8 * 1024 * 1024;

/** Checks a page request; ValidationError names what is wrong. */
export function checkPage(request: PageRequest, what: string): void {
  const { limit, after } = request;
  if (limit !== undefined && !(Number.isInteger(limit) && limit >= 1 && limit <= MAX_PAGE_LIMIT)) {
    throw new ValidationError(`limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}, not ${String(limit).slice(0, 40)}`);
  }
  if (after !== undefined) checkId(after, `after (a ${what} id)`);
}

/**
 * The longest run of `items` whose JSON fits RESPONSE_BYTES (at least one), as a page. Its `next`
 * is the id of the last entry kept when some were cut off here; else, when `more` remain in the
 * store, `cursor` (the last entry looked at, kept or not) or the last entry's id.
 */
export function fitPage<T>(items: T[], idOf: (t: T) => string, more: boolean, cursor?: string): Page<T> {
  let bytes = 0;
  let n = 0;
  while (n < items.length) {
    const size = Buffer.byteLength(JSON.stringify(items[n])) + 1;
    if (n > 0 && bytes + size > RESPONSE_BYTES) break;
    bytes += size;
    n++;
  }
  if (n < items.length) return { items: items.slice(0, n), next: idOf(items[n - 1]) };
  return { items, next: more ? (cursor ?? (n > 0 ? idOf(items[n - 1]) : undefined)) : undefined };
}

/** Every entry of a paged list, reading page after page (for callers that need them all). */
export async function allPages<T>(read: (after?: string) => Promise<Page<T>>): Promise<T[]> {
  const out: T[] = [];
  let after: string | undefined;
  do {
    const page = await read(after);
    for (const item of page.items) out.push(item);
    after = page.next;
  } while (after !== undefined);
  return out;
}
