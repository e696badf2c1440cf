// Bounds on everything a user sends, each checked before the work it bounds (a matrix is measured
// before it is expanded, a body's nesting before it is parsed), and each refusal naming its limit.

/** Input that cannot become an item, a job or a setting; the message says what is wrong. */
export class ValidationError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'ValidationError';
  }
}

/** Input over one of the LIMITS; the message names what was measured, its size and the limit. */
export class LimitError extends ValidationError {
  constructor(
    readonly limit: keyof typeof LIMITS,
    what: string,
    value: number | string,
  ) {
    super(`${what}: ${value}, over the limit of ${LIMITS[limit]} (${limit})`);
    this.name = 'LimitError';
  }
}

/** Every input limit. Sizes are in bytes (UTF-8). */
export const LIMITS = {
  /** Nesting of objects and arrays in any JSON body. */
  jsonDepth: 32,
  /** Members of one object or array in any JSON body. */
  jsonEntries: 10_000,
  /** Values in one JSON body, all levels together. */
  jsonValues: 100_000,
  /** Characters of an id (item, worker, run, node, parameter). */
  idLength: 128,
  /** Entries of a selector or a label set. */
  labels: 32,
  /** Size of a label value. */
  labelValue: 256,
  /** Arguments of a command. */
  commandArgs: 256,
  /** Size of a command, all arguments together. */
  commandBytes: 64 * 1024,
  /** Variables of an env. */
  envVars: 256,
  /** Size of an env, names and values together. */
  envBytes: 64 * 1024,
  /** Longest task timeout and retry backoff (what a timer can hold: about 24.8 days). */
  durationMs: 2 ** 31 - 1,
  /** Size of a job spec (JSON or YAML text). */
  specBytes: 256 * 1024,
  /** YAML tokens of a job spec: parsing costs per token. */
  specTokens: 50_000,
  /** Anchors and aliases in a YAML job spec. */
  specAliases: 100,
  /** Nesting in a job spec. */
  specDepth: 16,
  /** Axes of a matrix. */
  matrixAxes: 16,
  /** Values of one axis (one axis alone may make a job of the most tasks). */
  axisValues: 50_000,
  /** Size of an axis name, a matrix value, or an include/exclude value. */
  matrixValue: 256,
  /** Entries of include, and of exclude. */
  matrixRules: 256,
  /** Items of one bulk `POST /work` (a JSON array): all or nothing. */
  bulkItems: 1000,
  /** Tasks one job may expand to: the product of the axes' sizes, plus includes. */
  jobTasks: 50_000,
  /** One cache write (set or append), in bytes. */
  cacheValueBytes: 64 * 1024 * 1024,
  /** What one job may write to the store, estimated before expansion: tasks × the largest task. */
  jobBytes: 128 * 1024 * 1024,
} as const;

/** Keys that would reach an object's prototype if copied with assignment: refused everywhere. */
export const FORBIDDEN_KEYS = new Set(['__proto__', 'constructor', 'prototype']);

/** UTF-8 size of a string. */
export const bytes = (s: string) => Buffer.byteLength(s);

/** Throws LimitError when `value` is over `LIMITS[limit]`; `what` names the thing measured ("arguments of command"). */
export function checkLimit(limit: keyof typeof LIMITS, value: number, what: string): void {
  if (value > LIMITS[limit]) throw new LimitError(limit, what, value);
}

/**
 * The deepest nesting of objects and arrays in JSON text, counted without parsing it (strings are
 * skipped), stopping as soon as it passes `max`: so a body of a million '[' costs one scan, no stack.
 */
export function jsonDepth(text: string, max: number = LIMITS.jsonDepth): number {
  let depth = 0;
  let deepest = 0;
  for (let i = 0; i < text.length; i++) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      for (i++; i < text.length; i++) {
        const d = text.charCodeAt(i);
        if (d === 0x5c /* \ */) i++;
        else if (d === 0x22) break;
      }
    } else if (c === 0x5b /* [ */ || c === 0x7b /* { */) {
      depth++;
      if (depth > deepest) deepest = depth;
      if (deepest > max) return deepest;
    } else if (c === 0x5d /* ] */ || c === 0x7d /* } */) {
      depth--;
    }
  }
  return deepest;
}

/**
 * Checks parsed data (from JSON or YAML) against the shape limits: nesting (`depthLimit`), members
 * per object or array, values in all, and no key that could reach a prototype. Walks without
 * recursion, so no input can exhaust the stack.
 */
export function checkShape(data: unknown, depthLimit: 'jsonDepth' | 'specDepth' = 'jsonDepth', root = 'body', entriesLimit: 'jsonEntries' | 'axisValues' = 'jsonEntries'): void {
  const stack: Array<{ value: unknown; depth: number; path: string }> = [{ value: data, depth: 0, path: root }];
  let values = 0;
  while (stack.length > 0) {
    const { value, depth, path } = stack.pop()!;
    if (++values > LIMITS.jsonValues) throw new LimitError('jsonValues', `values in the ${root}`, `more than ${LIMITS.jsonValues}`);
    if (value === null || typeof value !== 'object') continue;
    if (depth + 1 > LIMITS[depthLimit]) throw new LimitError(depthLimit, `nesting at ${path}`, depth + 1);
    const keys = Array.isArray(value) ? undefined : Object.getOwnPropertyNames(value);
    const size = keys ? keys.length : (value as unknown[]).length;
    if (size > LIMITS[entriesLimit]) throw new LimitError(entriesLimit, `members of ${path}`, size);
    if (keys) {
      for (const key of keys) {
        // JSON.parse and YAML make "__proto__" an own key; a later Object.assign or spread would set a prototype.
        if (FORBIDDEN_KEYS.has(key)) throw new ValidationError(`${path}: the key "${key}" is not allowed`);
        stack.push({ value: (value as Record<string, unknown>)[key], depth: depth + 1, path: `${path}.${key}` });
      }
    } else {
      (value as unknown[]).forEach((v, i) => stack.push({ value: v, depth: depth + 1, path: `${path}[${i}]` }));
    }
  }
}
