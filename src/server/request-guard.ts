// What every request passes before its route runs (DESIGN "Security model"): the API can start
// processes, so it is guarded like a shell. In order:
//   1. Host: only names that cannot be rebound to this machine by someone else's DNS — localhost,
//      IP addresses, the listen address and --allow-host names — so DNS rebinding fails.
//   2. Origin: a browser request from a page of another origin is refused (the dashboard is served
//      by the node itself, so its requests are same-origin), and so is any request a browser marks
//      cross-site in Sec-Fetch-Site, except following a link to a page.
//   3. Token: with --token, `Authorization: Bearer`; `?access_token=` only on event streams, which
//      browsers cannot give headers.
//   4. Body type and query: the route's declared content types and query parameters.
import { timingSafeEqual } from 'node:crypto';
import net from 'node:net';
import type { FastifyReply, FastifyRequest } from 'fastify';
import { checkBodyType, type BodyKind } from './body.js';
import { HttpError } from './errors.js';
import { checkQuery, type QuerySpec } from './query.js';

declare module 'fastify' {
  interface FastifyContextConfig {
    /** The body the route takes (none when absent). */
    body?: BodyKind;
    /** The query parameters it takes (none when absent; 'any': the route checks them itself). */
    query?: QuerySpec | 'any';
    /** An event stream: takes ?access_token= (browsers cannot set headers on EventSource or WebSocket). */
    stream?: boolean;
    /** Needs no token (health check, dashboard files). */
    public?: boolean;
    /** One of the pages' files (left out of the API document). */
    asset?: boolean;
    /** Takes a WebSocket upgrade (every other route refuses one). */
    websocket?: boolean;
  }
}

export interface GuardOptions {
  token?: string;
  /** The address the API listens on (its name is served). */
  listenHost?: string;
  /** More Host names to serve: exact names, ".example.com" for a domain and its subdomains, or "*" for any. */
  allowHosts?: string[];
}

/** The host name of a Host header value ("[::1]:3000" → "::1"), lowercased, without a trailing dot. */
export function hostName(header: string): string {
  const h = header.trim().toLowerCase();
  const name = h.startsWith('[') ? h.slice(1, h.indexOf(']') >>> 0) : h.replace(/:\d*$/, '');
  return name.replace(/\.$/, '');
}

/** Whether requests naming `name` in Host are served. */
export function hostAllowed(name: string, options: GuardOptions): boolean {
  if (name === 'localhost' || net.isIP(name) !== 0) return true;
  if (options.listenHost && name === hostName(options.listenHost)) return true;
  return (options.allowHosts ?? []).some((a) => {
    const allowed = a.trim().toLowerCase().replace(/\.$/, '');
    return allowed === '*' || allowed === name || (allowed.startsWith('.') && (name.endsWith(allowed) || name === allowed.slice(1)));
  });
}

/** The onRequest hook that applies the four checks above. */
export function requestGuard(options: GuardOptions) {
  const expected = options.token ? Buffer.from(`Bearer ${options.token}`) : undefined;
  return async (req: FastifyRequest, _reply: FastifyReply): Promise<void> => {
    const host = req.headers.host ?? '';
    if (!host.trim()) throw new HttpError(400, 'invalid', 'send a Host header naming this node (localhost, its IP address or an --allow-host name)');
    const name = hostName(host);
    if (!hostAllowed(name, options)) {
      throw new HttpError(403, 'forbidden_host', `this node does not serve the host name "${name.slice(0, 100)}" (a page could reach it by DNS rebinding); use localhost or an IP address, or start the node with --allow-host ${name.slice(0, 100) || 'NAME'}`);
    }
    checkOrigin(req, host);
    const config = req.routeOptions.config ?? {};
    const route = `${req.method} ${req.routeOptions.url ?? req.url.split('?')[0]}`;
    if (expected && !config.public) {
      const query = (req.query ?? {}) as Record<string, unknown>;
      const fromQuery = config.stream && typeof query.access_token === 'string' ? `Bearer ${query.access_token}` : '';
      const got = Buffer.from(req.headers.authorization ?? fromQuery);
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        const streams = config.stream ? ' (event streams may pass ?access_token=<token> instead)' : '';
        throw new HttpError(401, 'unauthorized', `send Authorization: Bearer <token> (the --token or ROTA_TOKEN of the node)${streams}`);
      }
    }
    if (!req.routeOptions.url) return; // no such route: the 404 says so
    if (String(req.headers.upgrade ?? '').toLowerCase() === 'websocket' && !config.websocket) {
      throw new HttpError(400, 'invalid', `${route} is not a WebSocket; only GET /ws takes an upgrade`);
    }
    checkBodyType(req, config.body, route);
    if (config.query !== 'any') checkQuery(req, { ...(config.query ?? {}), ...(config.stream ? { access_token: () => undefined } : {}) }, route);
  };
}

/** Refuses browser requests that come from a page of another origin. */
function checkOrigin(req: FastifyRequest, host: string): void {
  const origin = req.headers.origin;
  if (origin !== undefined) {
    let originHost: string | undefined;
    try {
      const url = new URL(origin);
      originHost = url.protocol === 'http:' || url.protocol === 'https:' ? url.host : undefined;
    } catch {
      originHost = undefined; // "null" (a sandboxed frame, a file://) or garbage: not this node
    }
    if (originHost?.toLowerCase() !== host.toLowerCase()) {
      throw new HttpError(403, 'cross_origin', `requests from pages of other origins are refused (Origin ${origin.slice(0, 100)}); use the dashboard this node serves at its own address, or a client that is not a browser`);
    }
  }
  // Browsers also say where a request comes from; any page but this node's own may at most link to it.
  const site = req.headers['sec-fetch-site'];
  if ((site === 'cross-site' || site === 'same-site') && !(req.method === 'GET' && req.headers['sec-fetch-mode'] === 'navigate')) {
    throw new HttpError(403, 'cross_origin', `requests from pages of other sites are refused (Sec-Fetch-Site: ${site}); use the dashboard this node serves at its own address`);
  }
}
