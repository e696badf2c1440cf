// The OpenAPI 3.1 document of a node's API, built from the routes as registered: their paths, body
// types, query parameters and token rule come from the route options the request guard enforces;
// request schemas are the engine's zod schemas (route-docs.ts), converted with z.toJSONSchema.
// A route with no entry in ROUTE_DOCS is still listed, marked x-undocumented (the test fails on it).
import type { FastifyInstance, RouteOptions } from 'fastify';
import { z } from 'zod';
import { BODY_TYPES, type BodyKind } from '../body.js';
import type { QuerySpec } from '../query.js';
import { PARAMETER_DOCS, ROUTE_DOCS, type Answer } from './route-docs.js';
import { errorShape } from './shapes.js';

/** What the document needs of a registered route. */
interface SeenRoute {
  method: string;
  url: string;
  body?: BodyKind;
  query?: QuerySpec | 'any';
  stream: boolean;
  public: boolean;
  asset: boolean;
}

type Json = Record<string, unknown>;

const STATUS_TEXT: Record<number, string> = {
  400: 'The request is not valid: the message names the parameter or field',
  401: 'No token, or the wrong one',
  403: 'A Host this node does not serve, or a request from a page of another origin',
  404: 'No such thing (or no such route)',
  405: 'Not possible on this node (it runs no local workers)',
  409: 'Conflicts with the current state (the message says which)',
  410: 'The revision asked for was compacted: read the state again and follow from there',
  413: 'A body or value over its limit (the message gives the limit)',
  415: 'A body of a type this route does not take',
  503: 'The store cannot answer, or too many event streams are open',
  507: "The value would pass a worker's memory limit; nothing was changed",
};

/** Records every route as it is registered; call before any route is added. */
export function collectRoutes(app: FastifyInstance): SeenRoute[] {
  const seen: SeenRoute[] = [];
  app.addHook('onRoute', (route: RouteOptions) => {
    const methods = Array.isArray(route.method) ? route.method : [route.method];
    const config = (route.config ?? {}) as Json;
    for (const method of methods) {
      if (method === 'HEAD') continue;
      seen.push({ method, url: route.url, body: config.body as BodyKind | undefined, query: config.query as QuerySpec | 'any' | undefined, stream: config.stream === true, public: config.public === true, asset: config.asset === true });
    }
  });
  return seen;
}

/** A zod schema as JSON Schema (2020-12, which OpenAPI 3.1 uses), as a request (input) or answer (output). */
function jsonSchema(schema: z.ZodType, io: 'input' | 'output'): Json {
  const { $schema: _, ...rest } = z.toJSONSchema(schema, { io, unrepresentable: 'any', override: ({ jsonSchema: s }) => dropSafeRange(s as Json) }) as Json;
  return rest;
}

/** zod bounds every integer by ±2^53-1; that says nothing to a reader, so it is left out. */
function dropSafeRange(s: Json): void {
  if (s.minimum === Number.MIN_SAFE_INTEGER) delete s.minimum;
  if (s.maximum === Number.MAX_SAFE_INTEGER) delete s.maximum;
}

const errorBody = () => ({ 'application/json': { schema: { $ref: '#/components/schemas/Error' } } });

function answerContent(answer: Answer): Json | undefined {
  if (answer === 'none') return undefined;
  if (answer === 'bytes') return { 'application/octet-stream': { schema: { type: 'string', contentMediaType: 'application/octet-stream' } } };
  if (answer === 'text') return { 'text/plain': { schema: { type: 'string' } } };
  if (answer === 'sse') return { 'text/event-stream': { schema: { type: 'string', description: 'events: `change` with a JSON batch {revision, changes}; `error` {error, message} before the stream ends' } } };
  return { 'application/json': { schema: jsonSchema(answer, 'output') } };
}

function requestBody(route: SeenRoute, json?: z.ZodType): Json | undefined {
  if (!route.body) return undefined;
  const content: Json = {};
  for (const type of BODY_TYPES[route.body]) {
    const structured = type === 'application/json' || type.includes('yaml');
    content[type] = { schema: structured && json ? jsonSchema(json, 'input') : route.body === 'bytes' ? { type: 'string', contentMediaType: 'application/octet-stream' } : { type: 'string' } };
  }
  return { required: route.body !== 'content' && route.body !== 'bytes' ? true : false, content };
}

/** The errors a route can give because of what it takes, besides its own. */
function errorsOf(route: SeenRoute, own: number[], path: string): number[] {
  const codes = new Set(own);
  codes.add(403);
  if (!route.public) codes.add(401);
  if (path.includes('{') || (route.query && route.query !== 'any' && Object.keys(route.query).length) || route.body || route.stream) codes.add(400);
  if (route.body) codes.add(413);
  codes.add(415);
  if (!route.public && !route.asset) codes.add(503);
  return [...codes].sort((a, b) => a - b);
}

function operation(route: SeenRoute, path: string): Json {
  const doc = ROUTE_DOCS[`${route.method} ${route.url}`];
  const params = [...path.matchAll(/\{([^}]+)\}/g)].map(([, name]) => ({ name, in: 'path', required: true, description: PARAMETER_DOCS[name], schema: { type: 'string' } }));
  const queryNames = route.query && route.query !== 'any' ? Object.keys(route.query) : [];
  if (route.stream) queryNames.push('access_token');
  for (const name of queryNames) params.push({ name, in: 'query', required: false, description: PARAMETER_DOCS[name], schema: { type: 'string' } } as (typeof params)[number]);
  if (!doc) return { summary: `${route.method} ${path}`, 'x-undocumented': true, parameters: params, responses: { default: { description: 'not documented' } } };
  const [status, answer] = doc.ok;
  const responses: Json = {};
  const headers = doc.page
    ? {
        Link: { description: 'the next page: <…?after=ID>; rel="next" (absent on the last page)', schema: { type: 'string' } },
        'X-Total-Count': { description: 'how many there are in all', schema: { type: 'string' } },
      }
    : undefined;
  responses[String(status)] = { description: doc.summary, ...(answerContent(answer) ? { content: answerContent(answer) } : {}), ...(headers ? { headers } : {}) };
  for (const code of errorsOf(route, doc.errors ?? [], path)) responses[String(code)] = { description: STATUS_TEXT[code], content: errorBody() };
  return {
    tags: [doc.tag],
    summary: doc.summary,
    ...(doc.description ? { description: doc.description } : {}),
    operationId: `${route.method.toLowerCase()}${path.replace(/\{([^}]+)\}/g, 'By-$1').replace(/[^A-Za-z0-9]+(.)?/g, (_m, c: string | undefined) => (c ? c.toUpperCase() : ''))}`,
    ...(route.public ? { security: [] } : {}),
    ...(params.length ? { parameters: params } : {}),
    ...(requestBody(route, doc.json) ? { requestBody: requestBody(route, doc.json) } : {}),
    responses,
  };
}

/** The OpenAPI 3.1 document of the routes seen, the node's own assets left out. */
export function openApiDocument(routes: readonly SeenRoute[], version: string): Json {
  const paths: Record<string, Json> = {};
  for (const route of routes) {
    if (route.asset) continue;
    const path = route.url.replace(/:([A-Za-z_]+)/g, '{$1}');
    (paths[path] ??= {})[route.method.toLowerCase()] = operation(route, path);
  }
  return {
    openapi: '3.1.0',
    info: {
      title: 'rota',
      version,
      description: 'Spread work across a fleet of worker processes. Every call but /healthz and the pages needs `Authorization: Bearer <token>` when the node was started with --token. Errors are JSON {error, message}.',
    },
    tags: ['work', 'jobs', 'workers', 'runs', 'events', 'caches', 'fleet', 'internal'].map((name) => ({ name })),
    paths,
    components: {
      securitySchemes: { token: { type: 'http', scheme: 'bearer', description: "the node's --token (ROTA_TOKEN)" } },
      schemas: { Error: jsonSchema(errorShape, 'output') },
    },
    security: [{ token: [] }],
  };
}
