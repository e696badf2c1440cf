// GET /metrics: the node's metrics in Prometheus's text format (src/engine/metrics.ts). Under the
// token like the rest of the API, unless --metrics-public lets a scraper in without it.
import type { FastifyInstance } from 'fastify';
import { metricsText } from '../../engine/metrics.js';

/** Registers GET /metrics. */
export function registerMetricsRoute(app: FastifyInstance, isPublic: boolean): void {
  app.get('/metrics', { config: { public: isPublic } }, async (_req, reply) => {
    const { contentType, text } = await metricsText();
    return reply.type(contentType).send(text);
  });
}
