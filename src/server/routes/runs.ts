// /runs: create, read, report, parameters, delete.
import type { FastifyInstance } from 'fastify';
import type { RotaClient } from '../../client/types.js';
import { parseListQuery, sendPage } from './page-query.js';

type RunParams = { Params: { id: string; node: string; index: string; name: string } };

/** Registers the /runs routes. */
export function registerRunRoutes(app: FastifyInstance, client: RotaClient): void {
  app.post('/runs', async (req, reply) => reply.status(201).send(await client.createRun(req.body as never)));
  app.get('/runs', async (req, reply) => {
    const query = parseListQuery(req, 'run');
    return sendPage(req, reply, query, await client.listRunPage(query));
  });
  app.get<{ Params: { id: string } }>('/runs/:id', async (req) => client.getRun(req.params.id));
  app.post<{ Params: { id: string } }>('/runs/:id/complete', async (req) => client.completeRun(req.params.id, req.body as never));
  app.delete<{ Params: { id: string } }>('/runs/:id', async (req, reply) => {
    await client.deleteRun(req.params.id);
    return reply.status(204).send();
  });
  app.put<RunParams>('/runs/:id/params/:node/:index/:name', async (req, reply) => {
    const value = typeof req.body === 'string' ? req.body : JSON.stringify(req.body ?? '');
    await client.setRunParam(req.params.id, req.params.node, Number(req.params.index), req.params.name, value);
    return reply.status(204).send();
  });
  app.get<RunParams>('/runs/:id/params/:node/:index/:name', async (req) => ({
    value: await client.getRunParam(req.params.id, req.params.node, Number(req.params.index), req.params.name),
  }));
}
