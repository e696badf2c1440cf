// The HTTP API (fastify): it only translates between HTTP and the client operations.
import { timingSafeEqual } from 'node:crypto';
import websocket from '@fastify/websocket';
import Fastify, { type FastifyInstance } from 'fastify';
import type { RotaClient } from '../client/types.js';
import { sendError } from './errors.js';
import type { Keys } from '../engine/keys.js';
import type { Store } from '../store/index.js';
import { dashboardPaths, registerDashboard } from './routes/dashboard.js';
import { registerEventRoutes } from './routes/events.js';
import { registerHealthRoutes, type HealthCheck } from './routes/health.js';
import { registerJobRoutes } from './routes/jobs.js';
import { registerRunRoutes } from './routes/runs.js';
import { registerWorkRoutes } from './routes/work.js';
import { registerWorkerRoutes } from './routes/workers.js';

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
  /** Require `Authorization: Bearer <token>` on every call but /healthz. */
  token?: string;
  /** Largest content in bytes (default 1 MiB). */
  maxContentBytes?: number;
  local?: LocalWorkers;
  /** What GET /healthz reports (default: ok while the API answers). */
  health?: HealthCheck;
}

/** Builds the API; call listen() on the result. */
export async function buildServer(options: ServerOptions): Promise<FastifyInstance> {
  const maxContent = options.maxContentBytes ?? 1024 * 1024;
  const app = Fastify({ bodyLimit: maxContent + 64 * 1024, logger: false });
  app.setErrorHandler(sendError);
  app.setNotFoundHandler((req, reply) => {
    void reply.status(404).send({ error: 'not_found', message: `no route ${req.method} ${req.url}` });
  });
  // The etcd allocator's README posts work with `curl -d`, i.e. form encoding: keep any non-JSON body raw.
  app.removeContentTypeParser(['text/plain']);
  app.addContentTypeParser('*', { parseAs: 'string' }, (_req, body, done) => done(null, body));
  await app.register(websocket);
  if (options.token) {
    const expected = Buffer.from(`Bearer ${options.token}`);
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/healthz' || dashboardPaths.has(req.url)) return;
      // Browsers cannot set headers on EventSource and WebSocket: they may pass ?access_token=.
      const query = (req.query ?? {}) as { access_token?: string };
      const header = req.headers.authorization ?? (query.access_token ? `Bearer ${query.access_token}` : '');
      const got = Buffer.from(header);
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        return reply.status(401).send({ error: 'unauthorized', message: 'send Authorization: Bearer <token> (the --token or ROTA_TOKEN of the node)' });
      }
    });
  }
  registerHealthRoutes(app, options.health);
  app.get('/status', async () => ({ ...(await options.client.status()), local: Boolean(options.local) }));
  registerDashboard(app);
  registerWorkRoutes(app, options.client);
  await registerJobRoutes(app, options.client);
  registerWorkerRoutes(app, options.client, options.local);
  registerRunRoutes(app, options.client);
  if (options.events) registerEventRoutes(app, options.events.store, options.events.keys, options.client);
  return app;
}

