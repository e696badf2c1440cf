// GET /metrics: the node's metrics in Prometheus's text format (src/engine/metrics.ts), under the
// token like the rest of the API unless --metrics-public lets a scraper in without it; and
// GET /metrics/series, the last 15 minutes of a few of them, for the dashboard's charts.
import type { FastifyInstance } from 'fastify';
import { metricsText } from '../../engine/metrics.js';
import { MetricSeries } from '../../engine/metric-series.js';

/** Registers GET /metrics and GET /metrics/series (sampled from now on, until the server closes). */
export function registerMetricsRoutes(app: FastifyInstance, isPublic: boolean, everyMs?: number): void {
  const series = new MetricSeries(everyMs);
  series.start();
  app.addHook('onClose', async () => series.stop());
  app.get('/metrics', { config: { public: isPublic } }, async (_req, reply) => {
    const { contentType, text } = await metricsText();
    return reply.type(contentType).send(text);
  });
  app.get('/metrics/series', async () => series.get());
}
