// The dashboard at /: static files from web/, served by the node itself (no CDN, nothing to fetch
// from the internet). They hold no data, so they need no token; every call they make does. Their
// requests are same-origin, which is what lets the API refuse every other origin.
import fs from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import type { FastifyInstance } from 'fastify';

const webDir = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../../../web');
const TYPES: Record<string, string> = { '.html': 'text/html; charset=utf-8', '.js': 'text/javascript; charset=utf-8', '.css': 'text/css; charset=utf-8', '.png': 'image/png' };

/** Registers GET / (the dashboard), GET /docs (the API document's page) and GET /<file> for every file in web/. */
export function registerDashboard(app: FastifyInstance): void {
  if (!fs.existsSync(webDir)) return;
  const files = new Map<string, { body: Buffer; type: string }>();
  for (const name of fs.readdirSync(webDir)) {
    const type = TYPES[path.extname(name)];
    if (!type) continue;
    files.set(`/${name}`, { body: fs.readFileSync(path.join(webDir, name)), type });
  }
  const send = (file: { body: Buffer; type: string }) => (_req: unknown, reply: import('fastify').FastifyReply) =>
    reply
      .header('content-type', file.type)
      .header('cache-control', 'no-cache')
      .header('x-content-type-options', 'nosniff')
      // No other site may frame the dashboard and click its buttons.
      .header('x-frame-options', 'DENY')
      .header('content-security-policy', "frame-ancestors 'none'")
      .send(file.body);
  const page = { config: { public: true } };
  const index = files.get('/index.html');
  if (index) app.get('/', page, send(index));
  const docs = files.get('/docs.html');
  if (docs) app.get('/docs', page, send(docs));
  for (const [route, file] of files) app.get(route, { config: { public: true, asset: true } }, send(file));
}
