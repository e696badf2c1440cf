// /workers: the fleet, its live configuration (draining among it), and (in rota up) local workers.
import type { FastifyInstance } from 'fastify';
import type { RotaClient } from '../../client/types.js';
import { HttpError } from '../errors.js';
import { listQuery, parseListQuery, sendPage } from './page-query.js';
import type { LocalWorkers } from '../app.js';
import { id, oneOf, param } from '../query.js';
import { parseLabels } from '../../engine/model.js';
import type { WorkerConfigPatch } from '../../engine/fleet/worker-config.js';
import { bodyJson } from '../body.js';

/** Registers the /workers routes. */
export function registerWorkerRoutes(app: FastifyInstance, client: RotaClient, local?: LocalWorkers): void {
  // ?label=k=v (several: k=v,k2=v2): only the workers with all those labels.
  // ?lease=true: each worker's lease TTL and seconds left (a crashed worker's runs down).
  app.get('/workers', { config: { query: listQuery('label', 'lease') } }, async (req, reply) => {
    const query = parseListQuery(req, 'worker', { texts: ['label'], flags: ['lease'] });
    const labels = typeof query.label === 'string' ? parseLabels(query.label) : undefined;
    return sendPage(req, reply, query, await client.listWorkerPage({ limit: query.limit, after: query.after, labels, lease: query.lease === true }));
  });
  app.post<{ Params: { id: string } }>('/workers/:id/drain', async (req) => client.setDraining(req.params.id, true));
  app.post<{ Params: { id: string } }>('/workers/:id/undrain', async (req) => client.setDraining(req.params.id, false));
  // A worker's live configuration: what was set, and its record with the values in force.
  app.get<{ Params: { id: string } }>('/workers/:id', async (req) => client.workerConfig(param(req.params.id, id('worker id'))));
  app.patch<{ Params: { id: string } }>('/workers/:id', { config: { body: 'json' }, bodyLimit: 64 * 1024 }, async (req) => client.configureWorker(param(req.params.id, id('worker id')), bodyJson(req) as WorkerConfigPatch));

  const localOnly = () => {
    if (!local) throw new HttpError(405, 'not_local', 'this node runs no local workers; add and stop workers with `rota up` or by starting `rota node` processes');
    return local;
  };
  app.post('/workers', async (_req, reply) => reply.status(201).send(await localOnly().add()));
  app.delete<{ Params: { id: string }; Querystring: { crash?: string } }>('/workers/:id', { config: { query: { crash: oneOf('true', 'false', '1', '0') } } }, async (req, reply) => {
    const worker = param(req.params.id, id('worker id'));
    const crash = req.query.crash === 'true' || req.query.crash === '1';
    if (!(await localOnly().remove(worker, crash))) throw new HttpError(404, 'not_found', `no local worker ${worker} on this node`);
    return reply.status(204).send();
  });
}
