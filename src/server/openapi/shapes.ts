// What the API answers, as zod schemas for the OpenAPI document. Requests are documented from the
// very schemas the engine validates them with; answers are the client's types (client/types.ts)
// written once more here, so test/e2e/openapi.test.ts checks real answers against these: a field
// the API sends that is not documented here fails it (objects are closed).
import { z } from 'zod';
import { PLACEMENTS, type Placement } from '../../engine/fleet/placement.js';

const labels = z.record(z.string(), z.string());
const ms = z.number().int().describe('milliseconds since the epoch');
const placement = z.enum(PLACEMENTS as [Placement, ...Placement[]]);

/** Every error: a code a program can switch on, a message a person can act on. */
export const errorShape = z.object({ error: z.string().describe('not_found, invalid, conflict, too_large, unsupported_media_type, unauthorized, forbidden, unavailable, …'), message: z.string() });

/** A task's outcome. */
export const taskResultShape = z.object({
  status: z.enum(['succeeded', 'failed', 'cancelled']),
  reason: z.enum(['exit', 'timeout', 'lost', 'cancelled']),
  exitCode: z.number().int().nullable(),
  signal: z.string().nullable(),
  attempts: z.number().int(),
  worker: z.string().optional(),
  startedAt: ms.optional(),
  finishedAt: ms,
  durationMs: z.number().optional(),
  output: z.string().describe('the last 64 KiB of stdout and stderr (in lists, the last 1 KiB)'),
  outputTruncated: z.boolean().optional(),
});

/** An item with where it runs. */
export const workShape = z.object({
  id: z.string(),
  content: z.string().describe('in lists only its first 1 KiB unless ?content=true'),
  contentBytes: z.number().int().optional(),
  contentTruncated: z.boolean().optional(),
  kind: z.enum(['service', 'task']),
  weight: z.number().int(),
  selector: labels,
  placement: placement.optional(),
  command: z.array(z.string()).optional().describe('tasks: argv to run (no shell)'),
  env: labels.optional(),
  timeoutMs: z.number().int().optional(),
  maxAttempts: z.number().int().optional(),
  backoffMs: z.number().int().optional(),
  job: z.string().optional().describe("tasks of a job: the job's id"),
  values: labels.optional().describe('tasks of a job: its matrix values'),
  submittedAt: ms.optional().describe('tasks: when it was submitted'),
  status: z.enum(['running', 'waiting', 'retrying', 'succeeded', 'failed', 'cancelled']).optional(),
  attempts: z.number().int().optional().describe('tasks: attempts that ended and were retried'),
  assignedTo: z.string().optional().describe('the worker the leader assigned it to'),
  claimedBy: z.string().optional().describe('the worker holding its claim (running it)'),
  fencingToken: z.number().int().optional(),
  restarts: z.number().int().optional(),
  result: taskResultShape.optional(),
});

/** A worker with its load. */
export const workerShape = z.object({
  id: z.string(),
  host: z.string(),
  pid: z.number().int(),
  capacity: z.number().int(),
  labels,
  load: z.number(),
  leader: z.boolean(),
  draining: z.boolean(),
  startedAt: z.string(),
  api: z.string().optional(),
  cpus: z.number().optional(),
  memory: z.number().optional(),
  memoryAvailable: z.number().optional(),
  maxMemory: z.number().optional(),
  priority: z.number().optional(),
  lease: z.object({ ttl: z.number().int(), remaining: z.number().int() }).optional().describe('with ?lease=true: its TTL and the seconds left'),
});

/** A worker's live configuration and, if it runs, its record. */
export const workerConfigShape = z.object({
  id: z.string(),
  config: z.object({ capacity: z.number().int().optional(), labels: z.record(z.string(), z.string().nullable()).optional(), draining: z.boolean().optional(), maxMemory: z.number().optional(), priority: z.number().optional() }),
  worker: workerShape.optional(),
});

/** The fleet at a glance. */
export const statusShape = z.object({
  leader: z.string().optional(),
  workers: z.number().int(),
  items: z.number().int().describe('every item, finished tasks included'),
  finished: z.number().int().describe('tasks with a result'),
  assigned: z.number().int(),
  running: z.number().int(),
  local: z.boolean().describe('whether this node runs local workers (rota up)'),
  revision: z.number().int().optional().describe("the store's revision: any write raises it"),
  store: z.string().optional().describe('which store: "etcd URL,…" or "embedded, in DIR"'),
  returning: z.array(z.object({ id: z.string(), remaining: z.number().int() })).optional().describe('workers away for a restart, with the seconds they have left to come back'),
});

const counts = z.object({ pending: z.number().int(), running: z.number().int(), succeeded: z.number().int(), failed: z.number().int(), cancelled: z.number().int() });

/** A job's progress. */
export const jobShape = z.object({
  id: z.string(),
  name: z.string(),
  state: z.enum(['submitting', 'ready', 'cancelled', 'deleting']),
  total: z.number().int(),
  createdAt: ms,
  counts,
  done: z.number().int(),
  progress: z.number().describe('done / total, 0..1'),
  rate: z.number().describe('tasks finished per second since the first started'),
  startedAt: ms.optional(),
  finishedAt: ms.optional(),
});

const byStatus = z.object(Object.fromEntries(['running', 'waiting', 'retrying', 'succeeded', 'failed', 'cancelled'].map((s) => [s, z.number().int()])));

/** Items by kind and status. */
export const countsShape = z.object({ service: byStatus, task: byStatus, total: z.number().int() });

/** One attempt of a task. */
export const attemptShape = z.object({
  attempt: z.number().int(),
  worker: z.string().optional(),
  startedAt: ms.optional(),
  finishedAt: ms.optional(),
  status: z.string(),
  reason: z.string().optional(),
  exitCode: z.number().int().nullable().optional(),
  signal: z.string().nullable().optional(),
  retryAt: ms.optional(),
  output: z.string().optional().describe('its tail: 4 KiB for a retried attempt, 64 KiB for the last'),
});

/** One task of a job. */
export const jobTaskShape = z.object({
  id: z.string(),
  index: z.number().int(),
  values: labels.describe('its matrix values'),
  command: z.array(z.string()),
  status: z.enum(['pending', 'running', 'succeeded', 'failed', 'cancelled']),
  attempts: z.number().int(),
  result: taskResultShape.optional(),
});

const runFields = {
  id: z.string(),
  states: z.array(z.string()).optional(),
  transitions: z.record(z.string(), z.string()).optional(),
  participants: z.record(z.string(), z.array(z.number().int())),
  state: z.string(),
  position: z.number().int().optional(),
  round: z.number().int(),
  history: z.array(z.object({ state: z.string(), round: z.number().int(), at: ms })),
  createdAt: ms,
  defaults: labels,
};

/** A run's record. */
export const runRecordShape = z.object(runFields);

/** A run with who has not reported its state yet. */
export const runShape = z.object({ ...runFields, pending: z.array(z.string()).describe('node/index not reported yet'), final: z.boolean() });

/** The answer to a report. */
export const completionShape = z.object({ run: runShape, recorded: z.boolean().describe('false if this participant had already reported that round'), advanced: z.boolean() });

/** A holder of a cache id. */
export const holderShape = z.object({ worker: z.string(), role: z.enum(['owner', 'replica']), api: z.string().optional(), host: z.string().optional(), zone: z.string().optional() });

const cacheFields = {
  name: z.string(),
  replicas: z.number().int(),
  strategy: placement,
  createdAt: z.string(),
  ids: z.number().int(),
  unplaced: z.number().int(),
  moving: z.number().int(),
  workers: z.record(z.string(), z.object({ owns: z.number().int(), holds: z.number().int(), copying: z.number().int(), bytes: z.number().optional() })),
};

/** A cache and where its ids are. */
export const cacheShape = z.object(cacheFields);

/** A cache created or grown. */
export const cacheCreatedShape = z.object({ ...cacheFields, added: z.number().int() });

/** Where a cache id lives: owner first. */
export const cacheNodesShape = z.object({ epoch: z.number().int(), holders: z.array(holderShape) });

/** How far a worker is from an id's data. */
export const cacheScoreShape = z.object({ node: z.string(), score: z.number().int().describe('0 owner, 1 replica, 2 same host, 3 same zone, 4 elsewhere') });

/** A value's length after a set or append. */
export const cacheLengthShape = z.object({ length: z.number().int() });

/** GET /healthz. */
export const healthShape = z.object({ ok: z.boolean(), reasons: z.array(z.string()) });

/** The dashboard's chart samples. */
export const seriesShape = z.object({
  everyMs: z.number().int().describe('how often a point is sampled'),
  points: z.array(z.object({ at: ms, tasksPerSec: z.number(), placed: z.number(), moved: z.number(), failovers: z.number(), failoverSeconds: z.number().optional(), leading: z.number() })),
});

/** A run parameter's value. */
export const paramShape = z.object({ value: z.string() });

/** A local worker added by POST /workers. */
export const localWorkerShape = z.object({ id: z.string() });

/** One SSE `change` event's data (and one WebSocket message). */
export const changeBatchShape = z.object({
  revision: z.number().int(),
  changes: z.array(z.object({ type: z.enum(['put', 'delete']), key: z.string().describe("relative to the pool's prefix"), value: z.string().optional(), modRevision: z.number().int(), createRevision: z.number().int().optional() })),
});
