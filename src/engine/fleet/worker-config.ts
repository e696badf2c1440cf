// A worker's live configuration, config/<workerId>: what an operator set with `rota worker set`,
// PATCH /workers/:id or the dashboard. It has no lease, so it outlives the worker (a worker
// restarted with the same --id gets it back) and can be written before the worker first starts.
// Start-up flags are the defaults; what the store holds wins.
import { z } from 'zod';
import type { Store } from '../../store/index.js';
import { ValidationError } from '../input-limits.js';
import type { Keys } from '../keys.js';
import { describeIssues, labelsSchema } from '../model.js';

/** What config/<id> holds; an absent field keeps the worker's start-up value. */
export interface WorkerConfig {
  capacity?: number;
  /** Labels set (a string) or removed (null) over the start-up labels. */
  labels?: Record<string, string | null>;
  draining?: boolean;
  /** Bytes of memory the worker may use for its share (the `memory` placement counts no more). */
  maxMemory?: number;
  /** Rank in the leader election (higher leads). */
  priority?: number;
}

/** A change of a configuration: a field set to null goes back to the start-up value. */
export type WorkerConfigPatch = { [K in keyof WorkerConfig]?: WorkerConfig[K] | null };

/** The settings in force: start-up values with the configuration over them. */
export interface WorkerSettingsInForce {
  capacity: number;
  labels: Record<string, string>;
  draining: boolean;
  maxMemory?: number;
  priority: number;
}

const UNITS: Record<string, number> = { '': 1, b: 1, k: 1e3, kb: 1e3, m: 1e6, mb: 1e6, g: 1e9, gb: 1e9, t: 1e12, tb: 1e12, kib: 2 ** 10, mib: 2 ** 20, gib: 2 ** 30, tib: 2 ** 40 };

/** Parses a size ("2GiB", "512MB", "1073741824") into bytes; throws ValidationError naming `field`. */
export function parseSize(text: string | number, field = 'size'): number {
  if (typeof text === 'number') {
    if (Number.isSafeInteger(text) && text > 0) return text;
    throw new ValidationError(`${field} must be a positive whole number of bytes, got ${text}`);
  }
  const m = /^\s*(\d+(?:\.\d+)?)\s*([a-zA-Z]*)\s*$/.exec(text);
  const unit = m ? UNITS[m[2].toLowerCase()] : undefined;
  const bytes = m && unit ? Math.round(Number(m[1]) * unit) : NaN;
  if (!Number.isSafeInteger(bytes) || bytes <= 0) throw new ValidationError(`${field} "${String(text).slice(0, 40)}" is not a size: write e.g. 2GiB, 512MiB, 500MB or a number of bytes`);
  return bytes;
}

const size = z.union([z.number(), z.string().max(40)]);
/** A change of a worker's live configuration (JSON body of PATCH /workers/:id); null resets a field. */
export const workerConfigPatchSchema = z
  .object({
    capacity: z.number().int().min(1).max(1_000_000).nullable().optional(),
    labels: z.record(z.string(), z.string().nullable()).nullable().optional(),
    draining: z.boolean().nullable().optional(),
    maxMemory: size.nullable().optional(),
    priority: z.number().int().min(-1_000_000).max(1_000_000).nullable().optional(),
  })
  .strict();

/** Validates a configuration change (JSON body of PATCH /workers/:id), with messages that name the field. */
export function parseConfigPatch(body: unknown): WorkerConfigPatch {
  if (typeof body !== 'object' || body === null || Array.isArray(body)) throw new ValidationError('send a JSON object, e.g. {"capacity": 4, "labels": {"zone": "a"}}');
  const r = workerConfigPatchSchema.safeParse(body);
  if (!r.success) throw new ValidationError(describeIssues(r.error, workerConfigPatchSchema));
  const { maxMemory, labels, ...rest } = r.data;
  if (labels) {
    const set = Object.fromEntries(Object.entries(labels).map(([k, v]) => [k, v ?? '']));
    const checked = labelsSchema.safeParse(set);
    if (!checked.success) throw new ValidationError(`labels: ${describeIssues(checked.error)}`);
  }
  const patch: WorkerConfigPatch = { ...rest, labels };
  if (maxMemory !== undefined) patch.maxMemory = maxMemory === null ? null : parseSize(maxMemory, 'maxMemory');
  return patch;
}

/** `config` with `patch` applied (labels merged key by key; null fields dropped). */
export function applyPatch(config: WorkerConfig, patch: WorkerConfigPatch): WorkerConfig {
  const out: Record<string, unknown> = { ...config };
  for (const [k, v] of Object.entries(patch)) {
    if (v === undefined) continue;
    if (v === null) delete out[k];
    else if (k === 'labels') out.labels = { ...config.labels, ...(v as Record<string, string | null>) };
    else out[k] = v;
  }
  return out as WorkerConfig;
}

/** What a stored configuration says, read leniently: a field of the wrong type is ignored. */
export function decodeConfig(value: string | undefined): WorkerConfig {
  if (!value) return {};
  try {
    const r = workerConfigPatchSchema.safeParse(JSON.parse(value));
    if (!r.success) return {};
    const out: WorkerConfig = {};
    for (const [k, v] of Object.entries(r.data)) if (v !== null && v !== undefined) (out as Record<string, unknown>)[k] = k === 'maxMemory' ? parseSize(v as number) : v;
    return out;
  } catch {
    return {};
  }
}

/** The settings in force: `defaults` (start-up flags) with `config` over them. */
export function inForce(defaults: { capacity: number; labels: Record<string, string>; priority?: number }, config: WorkerConfig): WorkerSettingsInForce {
  const labels = { ...defaults.labels };
  for (const [k, v] of Object.entries(config.labels ?? {})) {
    if (v === null) delete labels[k];
    else labels[k] = v;
  }
  return {
    capacity: config.capacity ?? defaults.capacity,
    labels,
    draining: config.draining ?? false,
    maxMemory: config.maxMemory,
    priority: config.priority ?? defaults.priority ?? 0,
  };
}

/** Reads worker `id`'s configuration ({} when none was set). */
export async function readWorkerConfig(store: Store, keys: Keys, id: string): Promise<WorkerConfig> {
  return decodeConfig((await store.get(keys.config(id)))?.value);
}

/** Applies `patch` to worker `id`'s configuration (a compare-and-swap, retried on a race); returns the result. */
export async function patchWorkerConfig(store: Store, keys: Keys, id: string, patch: WorkerConfigPatch): Promise<WorkerConfig> {
  const key = keys.config(id);
  for (;;) {
    const kv = await store.get(key);
    const next = applyPatch(decodeConfig(kv?.value), patch);
    const empty = Object.keys(next).length === 0 || (Object.keys(next).length === 1 && next.labels !== undefined && Object.keys(next.labels).length === 0);
    const r = await store.txn({
      compare: [kv ? { key, target: 'mod', op: '==', value: kv.modRevision } : { key, target: 'create', op: '==', value: 0 }],
      success: [empty ? { type: 'delete', key } : { type: 'put', key, value: JSON.stringify(next) }],
    });
    if (r.succeeded) return empty ? {} : next;
  }
}
