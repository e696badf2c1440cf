// /jobs: submit a matrix job (JSON or YAML), follow it, read its results, cancel it, delete it.
import type { FastifyInstance } from 'fastify';
import type { RotaClient } from '../../client/types.js';

/** Registers the /jobs routes. */
export async function registerJobRoutes(app: FastifyInstance, client: RotaClient): Promise<void> {
  await app.register(async (scope) => {
    // The spec is parsed here, with line numbers for its errors: keep the JSON body as text too.
    scope.removeContentTypeParser(['application/json']);
    scope.addContentTypeParser('application/json', { parseAs: 'string' }, (_req, body, done) => done(null, body));
    scope.post('/jobs', async (req, reply) => reply.status(201).send(await client.submitJob(typeof req.body === 'string' ? req.body : '')));
  });
  app.get('/jobs', async () => client.listJobs());
  app.get<{ Params: { id: string } }>('/jobs/:id', async (req) => client.getJob(req.params.id));
  app.get<{ Params: { id: string } }>('/jobs/:id/tasks', async (req) => client.jobTasks(req.params.id));
  app.post<{ Params: { id: string } }>('/jobs/:id/cancel', async (req) => client.cancelJob(req.params.id));
  // The job, its tasks, their results and attempts; running tasks are stopped.
  app.delete<{ Params: { id: string } }>('/jobs/:id', async (req, reply) => {
    await client.deleteJob(req.params.id);
    return reply.status(204).send();
  });
}
