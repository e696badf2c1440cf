// The query of a list route (?limit=&after=&…) read strictly, and a page answered as a JSON array
// with its way on in headers: `Link: <…?after=ID>; rel="next"` (RFC 8288) and `X-Total-Count`.
// The body stays the array that GET /work has always been, so `curl /work` reads as before.
import type { FastifyReply, FastifyRequest } from 'fastify';
import { ValidationError } from '../../client/errors.js';
import { checkPage, MAX_PAGE_LIMIT, type Page } from '../../client/paging.js';
import { anything, type QuerySpec } from '../query.js';

/** The query parameters a list route takes (limit, after and `extra`); parseListQuery checks their values. */
export function listQuery(...extra: string[]): QuerySpec {
  return Object.fromEntries(['limit', 'after', ...extra].map((name) => [name, anything]));
}

/** What a list route was asked for: limit, after, its yes/no flags and, where allowed, q. */
export type ListQuery = { limit?: number; after?: string; q?: string } & Record<string, boolean | number | string | undefined>;

/** Reads ?limit=&after= plus the route's flags (true/false/1/0) and texts; anything malformed is a 400. */
export function parseListQuery(req: FastifyRequest, what: string, options: { flags?: string[]; texts?: string[] } = {}): ListQuery {
  const query = (req.query ?? {}) as Record<string, unknown>;
  const one = (name: string): string | undefined => {
    const v = query[name];
    if (v === undefined) return undefined;
    if (typeof v !== 'string') throw new ValidationError(`give ${name} once, as one value`);
    return v;
  };
  const out: ListQuery = {};
  const limit = one('limit');
  if (limit !== undefined) {
    if (!/^[0-9]{1,7}$/.test(limit)) throw new ValidationError(`limit must be a whole number from 1 to ${MAX_PAGE_LIMIT}, not "${limit.slice(0, 40)}"`);
    out.limit = Number(limit);
  }
  out.after = one('after');
  checkPage(out, what);
  for (const flag of options.flags ?? []) {
    const v = one(flag);
    if (v === undefined) continue;
    if (!['true', 'false', '1', '0'].includes(v)) throw new ValidationError(`${flag} must be true or false, not "${v.slice(0, 40)}"`);
    out[flag] = v === 'true' || v === '1';
  }
  for (const text of options.texts ?? []) {
    const v = one(text);
    if (v !== undefined) out[text] = v;
  }
  return out;
}

/** Answers a page: the items as the body, the next page's URL in Link, the total in X-Total-Count. */
export function sendPage<T>(req: FastifyRequest, reply: FastifyReply, query: ListQuery, page: Page<T>): T[] {
  if (page.next !== undefined) {
    const params = new URLSearchParams();
    for (const [k, v] of Object.entries(query)) if (v !== undefined && k !== 'after') params.set(k, String(v));
    params.set('after', page.next);
    const path = req.url.split('?')[0];
    void reply.header('link', `<${path}?${params}>; rel="next"`);
  }
  if (page.total !== undefined) void reply.header('x-total-count', String(page.total));
  return page.items;
}
