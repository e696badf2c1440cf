// /work: add, update, delete and read items. Raw content as the etcd allocator's README sends it
// (`curl -d`, text/plain); a JSON spec only when sent as application/json.
import type { FastifyInstance } from 'fastify';
import type { RotaClient } from '../../client/types.js';
import type { WorkListOptions } from '../../client/paging.js';
import { parseWorkBulk, parseWorkChange, parseWorkInput, type WorkInput } from '../../engine/model.js';
import { bodyJson, bodyText, isJson } from '../body.js';
import { HttpError } from '../errors.js';
import { listQuery, parseListQuery, sendPage } from './page-query.js';

/** Registers the /work routes; bodies up to `maxContent` bytes of content. */
export function registerWorkRoutes(app: FastifyInstance, client: RotaClient, maxContent: number): void {
  const withBody = { config: { body: 'content' as const }, bodyLimit: maxContent + 64 * 1024 };

  // One item, or a JSON array of them: all or nothing (BullMQ's addBulk).
  app.post('/work', withBody, async (req, reply) => {
    const body = isJson(req) ? bodyJson(req) : undefined;
    if (Array.isArray(body)) return reply.status(201).send(await client.addWork(parseWorkBulk(body)));
    const input: WorkInput = isJson(req) ? parseWorkInput(body) : { content: bodyText(req) };
    // A raw POST with nothing in it is a slip (curl -XPOST without -d), not an item (a JSON spec may say content: "").
    if (!isJson(req) && input.content === '') throw new HttpError(400, 'invalid', "POST /work has no body: send the item's content as the body (curl -d 'my item' …), or a JSON spec with Content-Type: application/json");
    return reply.status(201).send(await client.addWork(input));
  });

  app.put<{ Params: { id: string } }>('/work/:id', withBody, async (req) => {
    const change = isJson(req) ? parseWorkChange(bodyJson(req)) : { content: bodyText(req) };
    return client.updateWork(req.params.id, change);
  });

  app.delete<{ Params: { id: string } }>('/work/:id', async (req, reply) => {
    await client.deleteWork(req.params.id);
    return reply.status(204).send();
  });

  // Pages: ?limit= (1-1000, default 1000) &after=ID, ?content=true for whole contents, ?q= to search,
  // ?kind=service|task and ?status=running|waiting|retrying|succeeded|failed|cancelled to filter.
  app.get('/work', { config: { query: listQuery('content', 'q', 'kind', 'status') } }, async (req, reply) => {
    const query = parseListQuery(req, 'work', { flags: ['content'], texts: ['q', 'kind', 'status'] });
    return sendPage(req, reply, query, await client.listWorkPage(query as WorkListOptions));
  });
  app.get<{ Params: { id: string } }>('/work/:id', async (req) => client.getWork(req.params.id));
  app.get<{ Params: { id: string } }>('/work/:id/attempts', async (req) => client.workAttempts(req.params.id));
  app.post<{ Params: { id: string } }>('/work/:id/retry', async (req) => client.retryWork(req.params.id));
  // Every item looked at: the dashboard's tabs ask now and then, not on every change.
  app.get('/counts', async () => client.countWork());
}
