// What each route is for, what it takes and what it answers: the words and answer shapes of the
// OpenAPI document. The rest — which routes exist, their body types, query parameters and whether
// they need the token — is read from the routes as registered (document.ts), and request bodies
// are the engine's own validation schemas, so nothing here can claim a route or a field that is not.
import { z } from 'zod';
import { cacheCreateSchema } from '../../engine/caches/cache-model.js';
import { workerConfigPatchSchema } from '../../engine/fleet/worker-config.js';
import { jobSpecSchema } from '../../engine/jobs/job-spec.js';
import { workChangeSchema, workInputSchema } from '../../engine/model.js';
import { createRunSchema, runReportSchema } from '../../engine/runs/run-input.js';
import * as shape from './shapes.js';

/** An answer: a JSON shape, bytes, text, an event stream, or nothing (204). */
export type Answer = z.ZodType | 'bytes' | 'text' | 'sse' | 'none';

/** One route's words and shapes. */
export interface RouteDoc {
  tag: string;
  summary: string;
  description?: string;
  /** The JSON body (its schema); raw bodies are described by their route's body kind. */
  json?: z.ZodType;
  /** The success status and what it carries. */
  ok: [number, Answer];
  /** Errors this route gives besides the ones every route of its kind can (document.ts adds those). */
  errors?: number[];
  /** A list route: pages with Link and X-Total-Count. */
  page?: boolean;
}

/** What each path and query parameter means. */
export const PARAMETER_DOCS: Record<string, string> = {
  id: 'an id (1-128 letters, digits, ".", "_", ":" or "-")',
  name: 'a name (cache, or run parameter)',
  node: 'a run node name, or (score) the worker to score',
  index: 'a participant index, a whole number from 0',
  worker: 'the worker (internal calls)',
  op: 'the peer operation (internal calls)',
  limit: 'at most this many (1-1000, default 1000)',
  after: 'the page after this id (the Link header gives it)',
  content: 'true: whole contents instead of their first 1 KiB',
  q: 'only items whose id or content contains this text',
  kind: 'only service or only task items',
  status: 'only items running, waiting, retrying, succeeded, failed or cancelled',
  label: 'only workers with every one of these labels: k=v,k2=v2',
  output: 'true: whole output tails instead of their last 1 KiB',
  crash: 'true: kill it as a crash would (no clean release)',
  lease: "true: each worker's lease TTL and the seconds left",
  prefix: 'keys under this prefix, relative to the pool (e.g. registry/)',
  item: 'only this item',
  job: 'only this job',
  run: 'only this run',
  fromRevision: 'resume from this store revision (or send Last-Event-ID)',
  access_token: 'the token, for clients that cannot send Authorization (EventSource, WebSocket)',
};

const workInputs = z.union([workInputSchema, z.array(workInputSchema).max(1000)]);

/** Every route, by "METHOD /path" as registered. */
export const ROUTE_DOCS: Record<string, RouteDoc> = {
  'GET /status': { tag: 'fleet', summary: 'The fleet at a glance: leader, workers, items, the store revision', ok: [200, shape.statusShape] },
  'GET /healthz': { tag: 'fleet', summary: 'Whether this node can do its job (for load balancers)', description: '503 with the reasons when its store is out of reach or a session is fenced.', ok: [200, shape.healthShape], errors: [503] },
  'GET /metrics': { tag: 'fleet', summary: "The node's metrics, Prometheus text format", description: 'Public only with --metrics-public.', ok: [200, 'text'] },
  'GET /metrics/series': { tag: 'fleet', summary: 'The last 15 minutes of a few metrics, sampled every 5 s (the dashboard charts)', ok: [200, shape.seriesShape] },
  'GET /openapi.json': { tag: 'fleet', summary: 'This document', ok: [200, z.record(z.string(), z.unknown())] },
  'GET /docs': { tag: 'fleet', summary: 'This document as a page', ok: [200, 'text'] },
  'GET /': { tag: 'fleet', summary: 'The dashboard', ok: [200, 'text'] },

  'POST /work': {
    tag: 'work',
    summary: 'Add an item, or several at once (all or nothing)',
    description: 'Raw content (text/plain, curl -d) makes a service item with that content; a JSON spec may set the kind, weight, selector, placement and, for a task, its command, env, timeout and attempts. A JSON array adds up to 1000 items or none.',
    json: workInputs,
    ok: [201, z.union([shape.workShape, z.array(shape.workShape)])],
    errors: [409],
  },
  'GET /work': { tag: 'work', summary: 'Items, page by page, in id order', ok: [200, z.array(shape.workShape)], page: true },
  'GET /work/:id': { tag: 'work', summary: 'One item, with its whole content and output', ok: [200, shape.workShape], errors: [404] },
  'PUT /work/:id': { tag: 'work', summary: 'Change an item live: its content, weight, selector or placement', json: workChangeSchema, ok: [200, shape.workShape], errors: [404, 409] },
  'GET /work/:id/attempts': { tag: 'work', summary: "A task's attempts, oldest first, each with its worker, times, outcome and output tail", ok: [200, z.array(shape.attemptShape)], errors: [404] },
  'POST /work/:id/retry': { tag: 'work', summary: 'Run a failed or cancelled task again, with a fresh budget of attempts', ok: [200, shape.workShape], errors: [404, 409] },
  'GET /counts': { tag: 'work', summary: 'Items by kind and status (every item looked at: for dashboards, not hot loops)', ok: [200, shape.countsShape] },
  'DELETE /work/:id': { tag: 'work', summary: 'Delete an item (its worker stops it)', ok: [204, 'none'], errors: [404] },

  'POST /jobs': { tag: 'jobs', summary: 'Submit a matrix job (JSON or YAML spec)', description: 'Errors name the field and, for YAML, the line.', json: jobSpecSchema, ok: [201, shape.jobShape], errors: [409] },
  'GET /jobs': { tag: 'jobs', summary: 'Jobs, page by page', ok: [200, z.array(shape.jobShape)], page: true },
  'GET /jobs/:id': { tag: 'jobs', summary: "A job's progress", ok: [200, shape.jobShape], errors: [404] },
  'GET /jobs/:id/tasks': { tag: 'jobs', summary: "A job's tasks with their results, page by page", ok: [200, z.array(shape.jobTaskShape)], page: true, errors: [404] },
  'POST /jobs/:id/cancel': { tag: 'jobs', summary: 'Cancel what has not finished; running tasks are stopped', ok: [200, shape.jobShape], errors: [404, 409] },
  'POST /jobs/:id/retry': { tag: 'jobs', summary: 'Run every failed task of the job again', ok: [200, z.object({ retried: z.number().int() })], errors: [404, 409] },
  'DELETE /jobs/:id': { tag: 'jobs', summary: 'Delete a job with its tasks and results', ok: [204, 'none'], errors: [404] },

  'GET /workers': { tag: 'workers', summary: 'Workers with their load, page by page', ok: [200, z.array(shape.workerShape)], page: true },
  'GET /workers/:id': { tag: 'workers', summary: "A worker's live configuration and record", ok: [200, shape.workerConfigShape], errors: [404] },
  'PATCH /workers/:id': { tag: 'workers', summary: "Change a worker's live configuration (null: back to its start-up value)", json: workerConfigPatchSchema, ok: [200, shape.workerConfigShape] },
  'POST /workers/:id/drain': { tag: 'workers', summary: 'Drain a worker: its items move elsewhere, it takes no new ones', ok: [200, shape.workerShape], errors: [404] },
  'POST /workers/:id/undrain': { tag: 'workers', summary: 'Let a drained worker take items again', ok: [200, shape.workerShape], errors: [404] },
  'POST /workers': { tag: 'workers', summary: 'Start a local worker (rota up only)', ok: [201, shape.localWorkerShape], errors: [405] },
  'DELETE /workers/:id': { tag: 'workers', summary: 'Stop a local worker, or crash it (rota up only)', ok: [204, 'none'], errors: [404, 405] },

  'POST /runs': { tag: 'runs', summary: 'Create a run: participants, states (or transitions), parameter defaults', json: createRunSchema, ok: [201, shape.runShape], errors: [409] },
  'GET /runs': { tag: 'runs', summary: 'Runs, page by page', ok: [200, z.array(shape.runRecordShape)], page: true },
  'GET /runs/:id': { tag: 'runs', summary: 'A run, with who has not reported its state', ok: [200, shape.runShape], errors: [404] },
  'POST /runs/:id/complete': { tag: 'runs', summary: 'Report a state done; the last report moves the run on (a barrier)', json: runReportSchema, ok: [200, shape.completionShape], errors: [404, 409] },
  'DELETE /runs/:id': { tag: 'runs', summary: 'Delete a run', ok: [204, 'none'], errors: [404] },
  'PUT /runs/:id/params/:node/:index/:name': { tag: 'runs', summary: "Set a participant's parameter (the body, as text)", ok: [204, 'none'], errors: [404] },
  'GET /runs/:id/params/:node/:index/:name': { tag: 'runs', summary: "A participant's parameter (or its default)", ok: [200, shape.paramShape], errors: [404] },
  'GET /runs/:id/events': { tag: 'events', summary: "A run's states and parameters as they change (Server-Sent Events)", ok: [200, 'sse'], errors: [404, 410, 503] },

  'GET /events': { tag: 'events', summary: 'Store changes as Server-Sent Events, filtered by prefix, item, job or run', description: 'Each `change` event carries a batch of changes and its revision as the event id; reconnect with Last-Event-ID or ?fromRevision to resume.', ok: [200, 'sse'], errors: [410, 503] },
  'GET /ws': { tag: 'events', summary: 'The same changes over a WebSocket (Upgrade: websocket)', description: 'Each message is a JSON batch like the SSE events. Without Upgrade it answers 400.', ok: [101, 'none'], errors: [503] },

  'POST /caches': { tag: 'caches', summary: 'Create a cache, or add ids to one (the leader places them)', json: cacheCreateSchema, ok: [201, shape.cacheCreatedShape], errors: [409] },
  'GET /caches': { tag: 'caches', summary: 'Every cache with where its ids are', ok: [200, z.array(shape.cacheShape)] },
  'GET /caches/:name': { tag: 'caches', summary: 'A cache, per worker: ids owned, held, copying, bytes', ok: [200, shape.cacheShape], errors: [404] },
  'DELETE /caches/:name': { tag: 'caches', summary: 'Delete a cache and its data', ok: [204, 'none'], errors: [404] },
  'DELETE /caches/:name/:id': { tag: 'caches', summary: 'Delete one id of a cache', ok: [204, 'none'], errors: [404] },
  'GET /caches/:name/:id/nodes': { tag: 'caches', summary: 'Where an id lives: owner first, then replicas', ok: [200, shape.cacheNodesShape], errors: [404] },
  'GET /caches/:name/:id/best': { tag: 'caches', summary: 'The worker that should process an id (its owner)', ok: [200, shape.holderShape], errors: [404] },
  'GET /caches/:name/:id/score': { tag: 'caches', summary: "How far a worker is from an id's data", ok: [200, shape.cacheScoreShape], errors: [404] },
  'PUT /caches/:name/:id': { tag: 'caches', summary: "Set an id's value (bytes, up to 64 MiB); answered once every copy holds it", ok: [200, shape.cacheLengthShape], errors: [404, 409, 507] },
  'POST /caches/:name/:id/append': { tag: 'caches', summary: "Append to an id's value; answered once every copy holds it", ok: [200, shape.cacheLengthShape], errors: [404, 409, 507] },
  'GET /caches/:name/:id': { tag: 'caches', summary: "An id's value, from its owner", ok: [200, 'bytes'], errors: [404, 409] },
  'POST /internal/caches/:worker/batch': { tag: 'internal', summary: "Workers' calls to each other's copies, several in one framed body (not for users)", ok: [200, 'bytes'], errors: [404] },
  'POST /internal/caches/:worker/:name/:id/:op': { tag: 'internal', summary: "A worker's call to another's copy (not for users)", ok: [200, 'bytes'], errors: [404, 409, 507] },
};
