// GET /openapi.json: the API's OpenAPI 3.1 document, built from the routes as registered
// (openapi/document.ts); GET /docs: a page that reads it (web/docs.html, served by the node).
// Both public like the dashboard's files: they describe the API and hold no data.
import fs from 'node:fs';
import type { FastifyInstance } from 'fastify';
import { openApiDocument, type collectRoutes } from '../openapi/document.js';

const pkg = JSON.parse(fs.readFileSync(new URL('../../../package.json', import.meta.url), 'utf8')) as { version: string };

/** Registers GET /openapi.json over the routes `seen` (read when first asked, all routes registered by then). */
export function registerOpenApiRoutes(app: FastifyInstance, seen: ReturnType<typeof collectRoutes>): void {
  let text: string | undefined;
  app.get('/openapi.json', { config: { public: true } }, async (_req, reply) => {
    text ??= JSON.stringify(openApiDocument(seen, pkg.version));
    return reply.type('application/json; charset=utf-8').header('cache-control', 'no-cache').send(text);
  });
}
