// /jobs: submit a matrix job (JSON or YAML), follow it, read its results, cancel it.
import type { FastifyInstance } from 'fastify';
import type { RotaClient } from '../../client/types.js';
import { parseListQuery, sendPage } from './page-query.js';

/** Registers the /jobs routes. */
export async function registerJobRoutes(app: FastifyInstance, client: RotaClient): Promise<void> {
  await app.register(async (scope) => {
    // The spec is parsed here, with line numbers for its errors: keep the JSON body as text too.
    scope.removeContentTypeParser(['application/json']);
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post('/jobs', async (req, reply) => reply.status(201).send(await client.submitJob(typeof req.body === 'string' ? req.body : '')));
  });
  app.get('/jobs', async (req, reply) => {
    const query = parseListQuery(req, 'job');
    return sendPage(req, reply, query, await client.listJobPage(query));
  });
  app.get<{ Params: { id: string } }>('/jobs/:id', async (req) => client.getJob(req.params.id));
  // Pages of tasks in id order; ?output=true for whole output tails instead of their last 1 KiB.
  app.get<{ Params: { id: string } }>('/jobs/:id/tasks', async (req, reply) => {
    const query = parseListQuery(req, 'task', { flags: ['output'] });
    return sendPage(req, reply, query, await client.jobTaskPage(req.params.id, query));
  });
  app.delete<{ Params: { id: string } }>('/jobs/:id', async (req) => client.cancelJob(req.params.id));
}
