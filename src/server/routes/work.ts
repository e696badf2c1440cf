// /work: add, update, delete and read items.
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { RotaClient } from '../../client/types.js';
import { parseWorkChange, parseWorkInput, type WorkInput } from '../../engine/model.js';
import { parseListQuery, sendPage } from './page-query.js';

const isJson = (req: FastifyRequest) => (req.headers['content-type'] ?? '').split(';')[0].trim().toLowerCase() === 'application/json';
const raw = (body: unknown) => (typeof body === 'string' ? body : body === undefined || body === null ? '' : String(body));

/** Registers the /work routes. */
export function registerWorkRoutes(app: FastifyInstance, client: RotaClient): void {
  app.post('/work', async (req, reply) => {
    const input: WorkInput = isJson(req) ? parseWorkInput(req.body) : { content: raw(req.body) };
    const view = await client.addWork(input);
    return reply.status(201).send(view);
  });

  app.put<{ Params: { id: string } }>('/work/:id', async (req) => {
    const change = isJson(req) ? parseWorkChange(req.body) : { content: raw(req.body) };
    return client.updateWork(req.params.id, change);
  });

  app.delete<{ Params: { id: string } }>('/work/:id', async (req, reply) => {
    await client.deleteWork(req.params.id);
    return reply.status(204).send();
  });

  // Pages: ?limit= (1-1000, default 1000) &after=ID, ?content=true for whole contents, ?q= to search.
  app.get('/work', async (req, reply) => {
    const query = parseListQuery(req, 'work', { flags: ['content'], texts: ['q'] });
    return sendPage(req, reply, query, await client.listWorkPage(query));
  });
  app.get<{ Params: { id: string } }>('/work/:id', async (req) => client.getWork(req.params.id));
}
