// /caches: a cache's ids and where each lives (the bytes are the workers'; set/get/append come with
// the data plane).
import type { FastifyInstance } from 'fastify';
import type { RotaClient } from '../../client/types.js';
import type { CacheCreate } from '../../engine/caches/cache-model.js';
import { LIMITS } from '../../engine/input-limits.js';
import { bodyJson } from '../body.js';
import { HttpError } from '../errors.js';
import { id, param } from '../query.js';

type Params = { Params: { name: string; id: string } };

/** Registers the /caches routes. */
export function registerCacheRoutes(app: FastifyInstance, client: RotaClient): void {
  const name = (v: string) => param(v, id('cache name'), 'name');
  const cacheId = (v: string) => param(v, id('cache id'), 'id');
  app.post('/caches', { config: { body: 'json' }, bodyLimit: LIMITS.bulkItems * (LIMITS.idLength + 8) + 4096 }, async (req, reply) => reply.status(201).send(await client.createCache(bodyJson(req) as CacheCreate)));
  app.get('/caches', async () => client.listCaches());
  app.get<{ Params: { name: string } }>('/caches/:name', async (req) => client.getCache(name(req.params.name)));
  app.get<Params>('/caches/:name/:id/nodes', async (req) => client.cacheNodes(name(req.params.name), cacheId(req.params.id)));
  app.get<Params>('/caches/:name/:id/best', async (req) => client.cacheBest(name(req.params.name), cacheId(req.params.id)));
  app.get<Params & { Querystring: { node?: string } }>('/caches/:name/:id/score', { config: { query: { node: id('worker id') } } }, async (req) => {
    const node = req.query.node;
    if (node === undefined) throw new HttpError(400, 'invalid', 'give the worker to score: ?node=WORKER');
    return client.cacheScore(name(req.params.name), cacheId(req.params.id), node);
  });
  app.delete<Params>('/caches/:name/:id', async (req, reply) => {
    await client.deleteCacheId(name(req.params.name), cacheId(req.params.id));
    return reply.status(204).send();
  });
  app.delete<{ Params: { name: string } }>('/caches/:name', async (req, reply) => {
    await client.deleteCache(name(req.params.name));
    return reply.status(204).send();
  });
}
