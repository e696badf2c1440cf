// A job spec, JSON or YAML, as users know it from CI matrices: a command template, named axes,
// exclude and include rules. Parsed with positions, so every refusal points at its line.
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { ValidationError } from '../model.js';

/** A spec that cannot become a job; `line` is 1-based when known. */
export class JobSpecError extends ValidationError {
  constructor(
    message: string,
    readonly line?: number,
  ) {
    super(line ? `line ${line}: ${message}` : message);
    this.name = 'JobSpecError';
  }
}

const scalar = z.union([z.string(), z.number(), z.boolean()]).transform(String);
const stringMap = z.record(z.string(), scalar);
// No '.': task ids are <job>.<n>, and one job's prefix must not cover another's tasks.
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;

const schema = z
  .object({
    name: z.string().regex(ID_RE, 'use 1-64 letters, digits, "_" or "-", starting with a letter or digit'),
    id: z.string().regex(ID_RE, 'use 1-64 letters, digits, "_" or "-", starting with a letter or digit').optional(),
    command: z.array(scalar).min(1, 'give at least the program'),
    matrix: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]*$/, 'axis names are letters, digits and "_"'), z.array(scalar).min(1, 'an axis needs at least one value')).optional(),
    exclude: z.array(stringMap).optional(),
    include: z.array(stringMap).optional(),
    env: stringMap.optional(),
    selector: stringMap.optional(),
    labels: z.record(z.string(), z.record(z.string(), stringMap)).optional(),
    timeoutMs: z.number().int().positive().optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoffMs: z.number().int().min(0).optional(),
  })
  .strict();

export type JobSpec = z.infer<typeof schema>;

/** One task of a job, fully expanded. */
export interface ExpandedTask {
  index: number;
  /** Value of each axis (and include field) for this task. */
  values: Record<string, string>;
  /** argv: template fields become whole elements, never parts of a shell string. */
  command: string[];
  env: Record<string, string>;
  selector: Record<string, string>;
}

/** Most tasks one job may expand to. */
export const MAX_TASKS = 50_000;

/** Parses JSON or YAML text into a checked spec. */
export function parseJobSpec(text: string): JobSpec {
  const lines = new LineCounter();
  const doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
  if (doc.errors.length > 0) {
    const e = doc.errors[0];
    throw new JobSpecError(`the spec does not parse: ${e.message.split('\n')[0]}`, lines.linePos(e.pos[0]).line);
  }
  const lineOf = (path: Array<string | number>) => nodeLine(doc, lines, path);
  const r = schema.safeParse(doc.toJS());
  if (!r.success) {
    const issue = r.error.issues[0];
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    if (issue.code === 'unrecognized_keys') path.push(issue.keys[0]); // point at the key itself
    const what = path.length ? path.join('.') : 'spec';
    throw new JobSpecError(`${what}: ${issue.message}`, lineOf(path));
  }
  const spec = r.data;
  const axes = Object.keys(spec.matrix ?? {});
  for (const rule of ['exclude', 'include'] as const) {
    (spec[rule] ?? []).forEach((entry, i) => {
      for (const key of Object.keys(entry)) {
        if (rule === 'exclude' && !axes.includes(key)) {
          throw new JobSpecError(`exclude[${i}] names axis "${key}", which the matrix does not have (axes: ${axes.join(', ') || 'none'})`, lineOf([rule, i, key]));
        }
      }
    });
  }
  for (const [axis, byValue] of Object.entries(spec.labels ?? {})) {
    if (!axes.includes(axis)) throw new JobSpecError(`labels names axis "${axis}", which the matrix does not have`, lineOf(['labels', axis]));
    for (const value of Object.keys(byValue)) {
      if (!spec.matrix![axis].includes(value)) throw new JobSpecError(`labels.${axis} names value "${value}", which axis ${axis} does not have`, lineOf(['labels', axis, value]));
    }
  }
  const fields = new Set([...axes, ...(spec.include ?? []).flatMap((e) => Object.keys(e))]);
  const check = (text: string, path: Array<string | number>) => {
    for (const m of text.matchAll(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g)) {
      if (!fields.has(m[1])) throw new JobSpecError(`{${m[1]}} is not an axis (axes: ${[...fields].join(', ') || 'none'})`, lineOf(path));
    }
  };
  spec.command.forEach((arg, i) => check(arg, ['command', i]));
  for (const [k, v] of Object.entries(spec.env ?? {})) check(v, ['env', k]);
  for (const [k, v] of Object.entries(spec.selector ?? {})) check(v, ['selector', k]);
  return spec;
}

/** The tasks of a job, in a fixed order: the first axis varies slowest; includes come last. */
export function expandJob(spec: JobSpec): ExpandedTask[] {
  const axes = Object.entries(spec.matrix ?? {});
  let combos: Array<Record<string, string>> = [{}];
  for (const [axis, values] of axes) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [axis]: v })));
  if (axes.length === 0) combos = spec.include?.length ? [] : [{}];
  const matches = (combo: Record<string, string>, rule: Record<string, string>) => Object.entries(rule).every(([k, v]) => combo[k] === v);
  combos = combos.filter((c) => !(spec.exclude ?? []).some((rule) => matches(c, rule)));
  for (const extra of spec.include ?? []) {
    const same = combos.find((c) => axes.every(([axis]) => c[axis] === extra[axis]));
    if (same) Object.assign(same, extra); // extends an existing combination with extra fields
    else combos.push({ ...extra });
  }
  if (combos.length > MAX_TASKS) throw new JobSpecError(`the matrix expands to ${combos.length} tasks; the limit is ${MAX_TASKS}`);
  return combos.map((values, index) => {
    const fill = (t: string) => t.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.env ?? {})) env[k] = fill(v);
    for (const [k, v] of Object.entries(values)) env[`ROTA_MATRIX_${k.toUpperCase()}`] = v;
    const selector: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.selector ?? {})) selector[k] = fill(v);
    for (const [axis, byValue] of Object.entries(spec.labels ?? {})) Object.assign(selector, byValue[values[axis]] ?? {});
    return { index, values, command: spec.command.map(fill), env, selector };
  });
}

/** The 1-based line of the node at `path`, or of its nearest existing parent. */
function nodeLine(doc: Document, lines: LineCounter, path: Array<string | number>): number | undefined {
  for (let n = path.length; n >= 0; n--) {
    const node = n === 0 ? doc.contents : doc.getIn(path.slice(0, n), true);
    const range = (node as { range?: [number, number, number] } | undefined)?.range;
    if (range) return lines.linePos(range[0]).line;
  }
  return undefined;
}
