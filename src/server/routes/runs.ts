// /runs: create, read, report, parameters, delete.
import type { FastifyInstance } from 'fastify';
import type { RotaClient } from '../../client/types.js';
import { bodyJson, bodyText } from '../body.js';
import { id, index, param } from '../query.js';
import { listQuery, parseListQuery, sendPage } from './page-query.js';

type RunParams = { Params: { id: string; node: string; index: string; name: string } };

/** Registers the /runs routes; parameter values up to `maxContent` bytes. */
export function registerRunRoutes(app: FastifyInstance, client: RotaClient, maxContent: number): void {
  const json = (limit: number) => ({ config: { body: 'json' as const }, bodyLimit: limit });
  app.post('/runs', json(256 * 1024), async (req, reply) => reply.status(201).send(await client.createRun(bodyJson(req) as never)));
  app.get('/runs', { config: { query: listQuery() } }, async (req, reply) => {
    const query = parseListQuery(req, 'run');
    return sendPage(req, reply, query, await client.listRunPage(query));
  });
  app.get<{ Params: { id: string } }>('/runs/:id', async (req) => client.getRun(req.params.id));
  app.post<{ Params: { id: string } }>('/runs/:id/complete', json(16 * 1024), async (req) => client.completeRun(req.params.id, bodyJson(req) as never));
  app.delete<{ Params: { id: string } }>('/runs/:id', async (req, reply) => {
    await client.deleteRun(req.params.id);
    return reply.status(204).send();
  });
  const where = (p: RunParams['Params']) => [param(p.id, id('run id')), param(p.node, id('node name'), 'node'), Number(param(p.index, index, 'index')), param(p.name, id('parameter name'), 'name')] as const;
  // The value is the body as sent, as text (JSON is taken as its text, not parsed).
  app.put<RunParams>('/runs/:id/params/:node/:index/:name', { config: { body: 'content' }, bodyLimit: maxContent }, async (req, reply) => {
    await client.setRunParam(...where(req.params), bodyText(req));
    return reply.status(204).send();
  });
  app.get<RunParams>('/runs/:id/params/:node/:index/:name', async (req) => ({ value: await client.getRunParam(...where(req.params)) }));
}
