// GET /healthz: 200 {ok: true} when the node can do its job, 503 {ok: false, reasons} when it cannot
// (its store is out of reach, a session is fenced or not yet re-established). The check lives in
// the engine; this only translates it. Served without a token, as load balancers call it.
import type { FastifyInstance } from 'fastify';
import type { Health } from '../../engine/health.js';

/** What /healthz asks; without one, the API alone is up and says ok. */
export type HealthCheck = () => Health;

/** Adds GET /healthz. */
export function registerHealthRoutes(app: FastifyInstance, check?: HealthCheck): void {
  app.get('/healthz', { config: { public: true } }, async (_req, reply) => {
    let health: Health;
    try {
      health = check ? check() : { ok: true, reasons: [] };
    } catch (err) {
      health = { ok: false, reasons: [`the health check failed: ${(err as Error).message}`] };
    }
    return reply.status(health.ok ? 200 : 503).send(health);
  });
}
