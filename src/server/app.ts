// The HTTP API (fastify): it only translates between HTTP and the client operations. Every request
// first passes the guard (Host, Origin, token, body type, query: request-guard.ts).
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { RotaClient } from '../client/types.js';
import { closeGently } from './close-gently.js';
import { sendError } from './errors.js';
import type { Keys } from '../engine/keys.js';
import type { Store } from '../store/index.js';
import { requestGuard } from './request-guard.js';
import { registerDashboard } from './routes/dashboard.js';
import { registerCacheRoutes } from './routes/caches.js';
import { registerCacheDataRoutes } from './routes/cache-data.js';
import type { CacheRouter } from '../engine/caches/cache-router.js';
import type { CachePeers } from '../engine/caches/cache-peers.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes, type HealthCheck } from './routes/health.js';
import { registerMetricsRoutes } from './routes/metrics.js';
import { collectRoutes } from './openapi/document.js';
import { registerOpenApiRoutes } from './routes/openapi.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerWorkRoutes } from './routes/work.js';
import { registerWorkerRoutes } from './routes/workers.js';
import { StreamSlots } from './streams.js';

/** Local workers of a `rota up` node, which the API may add, stop or crash. */
export interface LocalWorkers {
  add(): Promise<{ id: string }>;
  /** False if no local worker has this id. */
  remove(id: string, crash: boolean): Promise<boolean>;
}

export interface ServerOptions {
  client: RotaClient;
  /** The store and keys the event streams follow (no event routes without them). */
  events?: { store: Store; keys: Keys };
  /** Require `Authorization: Bearer <token>` on every call but /healthz and the dashboard's files. */
  token?: string;
  /** The address the API listens on: its name is a Host the API serves (besides localhost and IPs). */
  listenHost?: string;
  /** More Host names to serve (--allow-host): names, ".domain" for a domain and its subdomains, "*" for any. */
  allowHosts?: string[];
  /** Most event streams (SSE and WebSocket) served at once (default 256). */
  maxStreams?: number;
  /** Largest content in bytes (default 1 MiB). */
  maxContentBytes?: number;
  local?: LocalWorkers;
  /** What GET /healthz reports (default: ok while the API answers). */
  health?: HealthCheck;
  /** GET /metrics without the token (--metrics-public). */
  metricsPublic?: boolean;
  /** How often the dashboard's chart series is sampled (default 5 s; ROTA_SERIES_MS). */
  seriesEveryMs?: number;
  /** What GET /status says of the store: "etcd URL,…", "embedded, in DIR" (default: nothing). */
  storeName?: string;
  /** Cache values (set/get/append) and the workers' calls to each other's copies. */
  cacheData?: { router: CacheRouter; peers: CachePeers };
}

/** Answers what is not HTTP at all (an unknown method, a broken header) before any route sees it. */
function answerBadHttp(err: NodeJS.ErrnoException, socket: import('node:net').Socket): void {
  if (err.code === 'ECONNRESET' || socket.destroyed) return;
  const [status, message] =
    err.code === 'HPE_HEADER_OVERFLOW' ? [431, 'the request headers are larger than 16 KiB'] : err.code === 'ERR_HTTP_REQUEST_TIMEOUT' ? [408, 'the request took too long to arrive'] : [400, `the request is not valid HTTP (${err.code ?? 'unreadable'})`];
  const body = JSON.stringify({ error: 'invalid', message });
  if (socket.writable) socket.write(`HTTP/1.1 ${status} ${status === 400 ? 'Bad Request' : status === 431 ? 'Request Header Fields Too Large' : 'Request Timeout'}\r\nContent-Length: ${Buffer.byteLength(body)}\r\nContent-Type: application/json\r\nConnection: close\r\n\r\n${body}`);
  closeGently(socket, undefined, undefined, err);
}

/** Builds the API; call listen() on the result. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const maxContent = options.maxContentBytes ?? 1024 * 1024;
  // Ids are up to 128 characters: longer path segments must reach the route (and its 400), not a 404.
  const app = Fastify({
    bodyLimit: maxContent + 64 * 1024,
    logger: false,
    routerOptions: { maxParamLength: 512 },
    // A path the router cannot read (bad percent-encoding, an overlong segment) is answered like any error.
    frameworkErrors: (err, req, reply) => sendError(err, req, reply),
    clientErrorHandler: answerBadHttp,
  });
  const routes = collectRoutes(app);
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url.split('?')[0].slice(0, 200)}` });
  });
  // Every body arrives as bytes; each route decodes the types it declared (body.ts), nothing else.
  app.removeAllContentTypeParsers();
  app.addContentTypeParser('*', { parseAs: 'buffer' }, (_req, body, done) => done(null, body));
  await app.register(websocket, { options: { maxPayload: 4096 } });
  app.addHook('onRequest', requestGuard({ token: options.token || undefined, listenHost: options.listenHost, allowHosts: options.allowHosts }));
  // An upgrade that is refused is answered in plain HTTP, then @fastify/websocket destroys the
  // socket. Whatever the client still sends (a body after the headers, which Node hands to the upgrade
  // unread) would make that close a reset, and the client would never read the answer: so the rest is
  // read and dropped, and the close waits for the client to finish sending (2 s at most).
  app.addHook('onSend', async (req) => {
    const socket = req.raw.socket;
    if (req.headers.upgrade === undefined || !socket || socket.destroyed) return;
    const destroy = socket.destroy.bind(socket);
    socket.destroy = (err?: Error) => (closeGently(socket, destroy, 2000, err), socket);
  });
  const events = options.events;
  app.get('/status', async () => {
    // The store's revision: any write anywhere raises it (what a client compares to see that nothing changed).
    const revision = events ? (await events.store.range(events.keys.prefix, { prefix: true, countOnly: true })).revision : undefined;
    return { ...(await options.client.status()), local: Boolean(options.local), revision, store: options.storeName };
  });
  registerHealthRoutes(app, options.health);
  registerMetricsRoutes(app, options.metricsPublic ?? false, options.seriesEveryMs);
  registerDashboard(app);
  registerWorkRoutes(app, options.client, maxContent);
  registerJobRoutes(app, options.client);
  registerWorkerRoutes(app, options.client, options.local);
  registerRunRoutes(app, options.client, maxContent);
  registerCacheRoutes(app, options.client);
  if (options.cacheData) registerCacheDataRoutes(app, options.cacheData.router, options.cacheData.peers);
  if (events) registerEventRoutes(app, events.store, events.keys, options.client, new StreamSlots(options.maxStreams));
  registerOpenApiRoutes(app, routes);
  return app;
}
