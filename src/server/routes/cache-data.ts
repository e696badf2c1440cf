// A cache's bytes: set, get and append on any node (the router sends each to the partition's
// owner), and the calls workers make to each other's copies (/internal/caches/…, same token).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import { BATCHED_OPS, META_HEADER, PEER_OPS, type CachePeers, type PeerOp } from '../../engine/caches/cache-peers.js';
import { batchCalls, decodeFrames, encodeFrames } from '../../engine/caches/peer-batches.js';
import type { CacheRouter } from '../../engine/caches/cache-router.js';
import { LIMITS } from '../../engine/input-limits.js';
import { HttpError } from '../errors.js';
import { id, param } from '../query.js';

type Params = { Params: { name: string; id: string } };
const bytes = { config: { body: 'bytes' as const }, bodyLimit: LIMITS.cacheValueBytes };

/** The request's bytes (empty when it has none). */
const raw = (req: FastifyRequest): Buffer => (Buffer.isBuffer(req.body) ? req.body : Buffer.alloc(0));

/** Registers PUT/GET /caches/:name/:id, POST /caches/:name/:id/append and the workers' internal calls. */
export function registerCacheDataRoutes(app: FastifyInstance, router: CacheRouter, peers: CachePeers): void {
  const names = (req: FastifyRequest<Params>) => [param(req.params.name, id('cache name'), 'name'), param(req.params.id, id('cache id'))] as const;
  app.put<Params>('/caches/:name/:id', bytes, async (req) => ({ length: await router.set(...names(req), raw(req)) }));
  app.post<Params>('/caches/:name/:id/append', bytes, async (req) => ({ length: await router.append(...names(req), raw(req)) }));
  app.get<Params>('/caches/:name/:id', async (req, reply) => reply.type('application/octet-stream').send(await router.get(...names(req))));

  // Several calls to one worker in one request (peer-batches.ts): each answered in its frame, as alone.
  app.post<{ Params: { worker: string } }>('/internal/caches/:worker/batch', { ...bytes, bodyLimit: LIMITS.cacheValueBytes + 1024 * 1024 }, async (req, reply) => {
    const handler = peers.localHandler(param(req.params.worker, id('worker id'), 'worker'));
    if (!handler) throw new HttpError(404, 'not_found', `worker ${req.params.worker} does not live on this node`);
    let calls: ReturnType<typeof batchCalls>;
    try {
      calls = batchCalls(decodeFrames(raw(req)), BATCHED_OPS);
    } catch (err) {
      throw new HttpError(400, 'invalid', `the batch cannot be read: ${(err as Error).message}`);
    }
    const answers = await Promise.all(
      calls.map(async (call) => {
        const bad = typeof call === 'string' ? call : id('cache name')(call.cache) ?? id('cache id')(call.id);
        if (bad !== undefined || typeof call === 'string') return { head: { status: 400, meta: { error: 'invalid', message: bad } }, body: Buffer.alloc(0) };
        const r = await handler.handle(call);
        return { head: { status: r.status, meta: r.meta }, body: r.body };
      }),
    );
    return reply.status(200).header(META_HEADER, '{}').type('application/octet-stream').send(encodeFrames(answers));
  });
  app.post<{ Params: { worker: string; name: string; id: string; op: string } }>('/internal/caches/:worker/:name/:id/:op', { ...bytes, bodyLimit: LIMITS.cacheValueBytes + 4096 }, async (req, reply) => {
    const op = req.params.op as PeerOp;
    if (!PEER_OPS.includes(op)) throw new HttpError(404, 'not_found', `no cache operation ${req.params.op.slice(0, 40)}`);
    const [cache, cacheId] = names(req);
    const handler = peers.localHandler(param(req.params.worker, id('worker id'), 'worker'));
    if (!handler) throw new HttpError(404, 'not_found', `worker ${req.params.worker} does not live on this node`);
    const header = req.headers[META_HEADER];
    let meta: unknown;
    try {
      meta = JSON.parse(typeof header === 'string' && header.length <= 16384 ? header : '{}');
    } catch {
      throw new HttpError(400, 'invalid', `${META_HEADER} is not JSON`);
    }
    if (typeof meta !== 'object' || meta === null || Array.isArray(meta)) throw new HttpError(400, 'invalid', `${META_HEADER} must be a JSON object`);
    const r = await handler.handle({ op, cache, id: cacheId, meta: meta as Record<string, unknown>, body: raw(req) });
    return reply.status(r.status).header(META_HEADER, JSON.stringify(r.meta)).type('application/octet-stream').send(r.body);
  });
}
