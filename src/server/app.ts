// The HTTP API (fastify): it only translates between HTTP and the client operations.
import { timingSafeEqual } from 'node:crypto';
import Fastify, { type FastifyInstance } from 'fastify';
import type { RotaClient } from '../client/types.js';
import { sendError } from './errors.js';
import { registerJobRoutes } from './routes/jobs.js';
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
  /** Require `Authorization: Bearer <token>` on every call but /healthz. */
  token?: string;
  /** Largest content in bytes (default 1 MiB). */
  maxContentBytes?: number;
  local?: LocalWorkers;
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
  if (options.token) {
    const expected = Buffer.from(`Bearer ${options.token}`);
    app.addHook('onRequest', async (req, reply) => {
      if (req.url === '/healthz') return;
      const got = Buffer.from(req.headers.authorization ?? '');
      if (got.length !== expected.length || !timingSafeEqual(got, expected)) {
        return reply.status(401).send({ error: 'unauthorized', message: 'send Authorization: Bearer <token> (the --token or ROTA_TOKEN of the node)' });
      }
    });
  }
  app.get('/healthz', async () => ({ ok: true }));
  app.get('/status', async () => options.client.status());
  registerWorkRoutes(app, options.client);
  await registerJobRoutes(app, options.client);
  registerWorkerRoutes(app, options.client, options.local);
  return app;
}

