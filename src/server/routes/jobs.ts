// /jobs: submit a matrix job (JSON or YAML), follow it, read its results, cancel it, delete it.
import type { FastifyInstance } from 'fastify';
import type { RotaClient } from '../../client/types.js';
import { LIMITS } from '../../engine/input-limits.js';
import { bodyText } from '../body.js';
import { jobId, param } from '../query.js';
import { listQuery, parseListQuery, sendPage } from './page-query.js';

/** Registers the /jobs routes. */
export function registerJobRoutes(app: FastifyInstance, client: RotaClient): void {
  // The spec is parsed by the engine, with line numbers for its errors and every limit checked
  // before the job is expanded: the route passes the text as it came.
  app.post('/jobs', { config: { body: 'spec' }, bodyLimit: LIMITS.specBytes }, async (req, reply) => reply.status(201).send(await client.submitJob(bodyText(req))));
  app.get('/jobs', { config: { query: listQuery() } }, async (req, reply) => {
    const query = parseListQuery(req, 'job');
    return sendPage(req, reply, query, await client.listJobPage(query));
  });
  app.get<{ Params: { id: string } }>('/jobs/:id', async (req) => client.getJob(param(req.params.id, jobId)));
  // Pages of tasks in id order; ?output=true for whole output tails instead of their last 1 KiB.
  app.get<{ Params: { id: string } }>('/jobs/:id/tasks', { config: { query: listQuery('output') } }, async (req, reply) => {
    const query = parseListQuery(req, 'task', { flags: ['output'] });
    return sendPage(req, reply, query, await client.jobTaskPage(param(req.params.id, jobId), query));
  });
  app.post<{ Params: { id: string } }>('/jobs/:id/cancel', async (req) => client.cancelJob(param(req.params.id, jobId)));
  app.post<{ Params: { id: string } }>('/jobs/:id/retry', async (req) => client.retryJob(param(req.params.id, jobId)));
  // The job, its tasks, their results and attempts; running tasks are stopped.
  app.delete<{ Params: { id: string } }>('/jobs/:id', async (req, reply) => {
    await client.deleteJob(param(req.params.id, jobId));
    return reply.status(204).send();
  });
}
