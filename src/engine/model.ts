// What items and workers are, how they are stored, and how user input becomes one (validated).
import { z } from 'zod';
import { unknownField } from './input-hints.js';
import { PLACEMENTS, type Placement } from './fleet/placement.js';
import { bytes, checkLimit, FORBIDDEN_KEYS, LIMITS, ValidationError } from './input-limits.js';

export { LimitError, ValidationError } from './input-limits.js';

/** Label selector: every key must be present on the worker with this value. */
export type Selector = Record<string, string>;

/** How an item is placed and run; everything but the content. */
export interface WorkSpec {
  kind: 'service' | 'task';
  /** Relative load of the item (default 1). */
  weight: number;
  selector: Selector;
  /** Services: how its group shares the fleet (absent: the leader's --placement). */
  placement?: Placement;
  /** Tasks: argv to run (no shell); absent = the worker's --exec with the content, or nothing. */
  command?: string[];
  /** Tasks: extra environment. */
  env?: Record<string, string>;
  /** Tasks: an attempt running longer is killed and counts as failed. */
  timeoutMs?: number;
  /** Tasks: attempts before the task fails for good (default 3). */
  maxAttempts?: number;
  /** Tasks: delay before the first retry; doubles per attempt, with jitter (default 1 s). */
  backoffMs?: number;
  /** Tasks of a job: the job's id and this task's matrix values. */
  job?: string;
  values?: Record<string, string>;
  /** Tasks: when it was submitted (ms since the epoch, the submitting node's clock). */
  submittedAt?: number;
}

export const DEFAULT_SPEC: WorkSpec = { kind: 'service', weight: 1, selector: {} };

/** An item as processors see it. */
export interface WorkItem {
  id: string;
  /** Opaque text, exactly as given. */
  content: string;
  spec: WorkSpec;
}

/** A worker's record under workers/<id>. */
export interface WorkerRecord {
  host: string;
  pid: number;
  capacity: number;
  labels: Record<string, string>;
  load: number;
  draining: boolean;
  startedAt: string;
  /** The API of the node the worker lives in, if it serves one. */
  api?: string;
  /** CPUs of its machine (or --cpus). */
  cpus?: number;
  /** Bytes of memory of its machine (or --memory). */
  memory?: number;
  /** Bytes of memory available (refreshed when it moves by 5 % or more; --memory fixes it). */
  memoryAvailable?: number;
  /** Bytes it may use at most (live configuration), if set. */
  maxMemory?: number;
  /** Its node's rank in the leader election. */
  priority?: number;
  /** Compressed bytes of cache data it holds, by cache (refreshed every few seconds while it changes). */
  cacheBytes?: Record<string, number>;
}

const ID_RE = new RegExp(`^[A-Za-z0-9][A-Za-z0-9._:-]{0,${LIMITS.idLength - 1}}$`);
const LABEL_KEY_RE = /^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/;

/** Throws ValidationError unless `id` can name an item or worker (it becomes part of a key). */
export function checkId(id: string, what = 'id'): string {
  if (!ID_RE.test(id)) {
    throw new ValidationError(`${what} "${id.slice(0, 80)}" is not valid: use 1-${LIMITS.idLength} letters, digits, '.', '_', ':' or '-', starting with a letter or digit`);
  }
  return id;
}

const ENV_NAME_RE = /^[A-Za-z_][A-Za-z0-9_]{0,127}$/;
const noNul = (s: string) => !s.includes('\0');
/** A command argument or env value: any text but NUL, which no argv or environment can carry. */
const argText = z.string().refine(noNul, 'must not contain NUL characters');
export const labelsSchema = z.record(z.string().regex(LABEL_KEY_RE, 'label keys are letters, digits, ".", "_", "/" or "-"'), z.string().max(LIMITS.labelValue));
const envSchema = z.record(z.string().regex(ENV_NAME_RE, 'env names are letters, digits and "_", not starting with a digit'), argText);
const duration = z.number().int().max(LIMITS.durationMs, `at most ${LIMITS.durationMs} ms`);

/** Throws LimitError when a command, env or selector is over its limits (before anything uses it). */
export function checkTaskLimits(input: { command?: string[]; env?: Record<string, string>; selector?: Record<string, string> }, where = ''): void {
  if (input.command) {
    checkLimit('commandArgs', input.command.length, `arguments of ${where}command`);
    const size = input.command.reduce((n, a) => n + bytes(a), 0);
    checkLimit('commandBytes', size, `bytes of ${where}command`);
  }
  if (input.env) {
    const entries = Object.entries(input.env);
    checkLimit('envVars', entries.length, `variables of ${where}env`);
    const size = entries.reduce((n, [k, v]) => n + bytes(k) + bytes(v), 0);
    checkLimit('envBytes', size, `bytes of ${where}env`);
  }
  if (input.selector) checkLimit('labels', Object.keys(input.selector).length, `entries of ${where}selector`);
}

/** A work spec as a user writes it (JSON body of POST /work). */
export const workInputSchema = z
  .object({
    content: z.string(),
    id: z.string().optional(),
    kind: z.enum(['service', 'task']).optional(),
    weight: z.number().int().min(1).max(1_000_000).optional(),
    selector: labelsSchema.optional(),
    placement: z.enum(PLACEMENTS as [Placement, ...Placement[]]).optional(),
    command: z.array(argText).min(1).optional(),
    env: envSchema.optional(),
    timeoutMs: duration.positive().optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoffMs: duration.min(0).optional(),
  })
  .strict();

export type WorkInput = z.infer<typeof workInputSchema>;

/** A change of an item as a user writes it (JSON body of PUT /work/:id). */
export const workChangeSchema = workInputSchema.pick({ content: true, weight: true, selector: true, placement: true }).partial();

export type WorkChangeInput = z.infer<typeof workChangeSchema>;

/** Validates a change of an item. */
export function parseWorkChange(body: unknown): WorkChangeInput {
  const r = workChangeSchema.safeParse(body);
  if (!r.success) throw new ValidationError(describeIssues(r.error, workChangeSchema));
  checkTaskLimits(r.data);
  return r.data;
}

/** Validates a JSON work spec, with messages that name the field. */
export function parseWorkInput(body: unknown): WorkInput {
  const r = workInputSchema.safeParse(body);
  if (!r.success) throw new ValidationError(describeIssues(r.error, workInputSchema));
  if (r.data.id !== undefined) checkId(r.data.id, 'work id');
  checkTaskLimits(r.data);
  return r.data;
}

/** Validates a bulk of work specs (a JSON array), naming the position of a bad one; ids must be distinct. */
export function parseWorkBulk(body: unknown[]): WorkInput[] {
  if (body.length === 0) throw new ValidationError('the array of items is empty: send at least one');
  checkLimit('bulkItems', body.length, 'items in one request');
  const ids = new Set<string>();
  return body.map((one, i) => {
    let input: WorkInput;
    try {
      input = parseWorkInput(one);
    } catch (err) {
      if (err instanceof ValidationError) err.message = `item ${i}: ${err.message}`; // same type: a limit stays a limit
      throw err;
    }
    if (input.id !== undefined) {
      if (ids.has(input.id)) throw new ValidationError(`item ${i}: work id "${input.id}" appears twice in this request`);
      ids.add(input.id);
    }
    return input;
  });
}

/** The spec part of an input, filled with defaults (task fields only for tasks). */
export function specOf(input: Partial<Omit<WorkSpec, 'kind'>> & { kind?: WorkSpec['kind'] }, base: WorkSpec = DEFAULT_SPEC): WorkSpec {
  const spec: WorkSpec = {
    ...base,
    kind: input.kind ?? base.kind,
    weight: input.weight ?? base.weight,
    selector: input.selector ?? base.selector,
  };
  const placement = input.placement ?? base.placement;
  if (placement && PLACEMENTS.includes(placement) && spec.kind === 'service') spec.placement = placement;
  else delete spec.placement;
  if (spec.kind === 'task') {
    for (const k of ['command', 'env', 'timeoutMs', 'maxAttempts', 'backoffMs', 'job', 'values', 'submittedAt'] as const) {
      if (input[k] !== undefined) (spec as unknown as Record<string, unknown>)[k] = input[k];
    }
  }
  return spec;
}

/** The stored form of a spec, or undefined when it is all defaults (no specs/ key then). */
export function encodeSpec(spec: WorkSpec): string | undefined {
  const isDefault = spec.kind === 'service' && spec.weight === 1 && Object.keys(spec.selector).length === 0 && !spec.placement;
  return isDefault ? undefined : JSON.stringify(spec);
}

/** A stored spec (tolerates a missing or damaged value by falling back to defaults). */
export function decodeSpec(value: string | undefined): WorkSpec {
  if (!value) return DEFAULT_SPEC;
  try {
    const v = JSON.parse(value) as Partial<WorkSpec>;
    return specOf(v);
  } catch {
    return DEFAULT_SPEC;
  }
}

/** A stored worker record; null if damaged. */
export function decodeWorker(value: string): WorkerRecord | null {
  try {
    const v = JSON.parse(value) as WorkerRecord;
    return typeof v === 'object' && v !== null && typeof v.capacity === 'number' ? v : null;
  } catch {
    return null;
  }
}

/** Whether a worker with `labels` may run an item with `selector`. */
export function selects(selector: Selector, labels: Record<string, string>): boolean {
  for (const [k, v] of Object.entries(selector)) if (labels[k] !== v) return false;
  return true;
}

/** Parses "k=v,k2=v2" (CLI --labels and --selector). */
export function parseLabels(text: string): Record<string, string> {
  const out: Record<string, string> = {};
  for (const part of text.split(',').map((s) => s.trim()).filter(Boolean)) {
    const eq = part.indexOf('=');
    if (eq <= 0) throw new ValidationError(`label "${part}" is not key=value`);
    const key = part.slice(0, eq);
    if (FORBIDDEN_KEYS.has(key)) throw new ValidationError(`label key "${key}" is not allowed`);
    out[key] = part.slice(eq + 1);
  }
  const r = labelsSchema.safeParse(out);
  if (!r.success) throw new ValidationError(describeIssues(r.error));
  checkTaskLimits({ selector: out });
  return out;
}

/** One readable sentence from zod's issues; with the `schema` they came from, an unknown field names the one meant, first. */
export function describeIssues(error: z.ZodError, schema?: z.ZodType): string {
  const issues = [...error.issues].sort((a, b) => Number(b.code === 'unrecognized_keys') - Number(a.code === 'unrecognized_keys'));
  return issues
    .map((i) => {
      const where = i.path.length ? i.path.join('.') : 'body';
      const known = i.code === 'unrecognized_keys' && schema ? keysAt(schema, i.path) : undefined;
      return known && i.code === 'unrecognized_keys' ? i.keys.map((k) => `${where}: ${unknownField(k, known)}`).join('; ') : `${where}: ${i.message}`;
    })
    .join('; ');
}

/** The field names of the object `path` leads to in `schema` (optional, default and array wrappers looked through). */
export function keysAt(schema: z.ZodType, path: readonly PropertyKey[]): string[] | undefined {
  let s: z.ZodType | undefined = schema;
  const unwrap = (t: z.ZodType): z.ZodType => {
    const def = (t as unknown as { def?: { innerType?: z.ZodType; in?: z.ZodType } }).def;
    return def?.innerType ? unwrap(def.innerType) : def?.in ? unwrap(def.in) : t;
  };
  for (const step of [...path, undefined]) {
    if (!s) return undefined;
    s = unwrap(s);
    const def = (s as unknown as { def: { type: string; element?: z.ZodType; options?: z.ZodType[] } }).def;
    if (def.type === 'union') s = def.options?.find((o) => (unwrap(o) as unknown as { def: { type: string } }).def.type === (typeof step === 'number' ? 'array' : 'object'));
    if (!s) return undefined;
    s = unwrap(s);
    const inner = (s as unknown as { def: { type: string; element?: z.ZodType } }).def;
    if (step === undefined) return inner.type === 'object' ? Object.keys((s as z.ZodObject).shape) : undefined;
    const shape = inner.type === 'object' ? (s as z.ZodObject).shape : undefined;
    // Own fields only: a key such as "__proto__" must not lead into Object.prototype.
    s = inner.type === 'array' ? inner.element : shape && typeof step === 'string' && Object.hasOwn(shape, step) ? shape[step] : undefined;
  }
  return undefined;
}
