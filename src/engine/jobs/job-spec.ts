// A job spec, JSON or YAML, as users know it from CI matrices: a command template, named axes,
// exclude and include rules. Parsed with positions, so every refusal points at its line.
import { LineCounter, parseDocument, type Document } from 'yaml';
import { z } from 'zod';
import { bytes, checkLimit, checkShape, jsonDepth, LimitError, LIMITS } from '../input-limits.js';
import { keysAt, ValidationError } from '../model.js';
import { unknownField } from '../input-hints.js';
import { shellTemplate, ShellTemplateError } from './shell-template.js';
import { checkJobSize, checkSpecText } from './spec-limits.js';

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
/** Text that becomes an argument or an env value: no NUL, which no argv or environment can carry. */
const argScalar = scalar.refine((s) => !s.includes('\0'), 'must not contain NUL characters');
const FIELD_RE = /^[A-Za-z_][A-Za-z0-9_]{0,63}$/;
const fieldMap = z.record(z.string().regex(FIELD_RE, 'field names are letters, digits and "_"'), scalar);
const labelMap = z.record(z.string().regex(/^[A-Za-z0-9][A-Za-z0-9._/-]{0,62}$/, 'label keys are letters, digits, ".", "_", "/" or "-"'), scalar);
// No '.': task ids are <job>.<n>, and one job's prefix must not cover another's tasks.
const ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
const duration = z.number().int().max(LIMITS.durationMs, `at most ${LIMITS.durationMs} ms`);

/** A job spec as a user writes it (POST /jobs, JSON or YAML). */
export const jobSpecSchema = z
  .object({
    name: z.string().regex(ID_RE, 'use 1-64 letters, digits, "_" or "-", starting with a letter or digit'),
    id: z.string().regex(ID_RE, 'use 1-64 letters, digits, "_" or "-", starting with a letter or digit').optional(),
    // A string is a shell command line (sh -c), as `rota task add --exec` takes it; {axis} in it
    // becomes a reference to $ROTA_MATRIX_AXIS (shell-template.ts): a matrix value is data, never code.
    command: z.union([z.array(argScalar).min(1, 'give at least the program'), z.string().min(1, 'give at least the program').refine((c) => !c.includes('\0'), 'must not contain NUL characters')]),
    matrix: z.record(z.string().regex(FIELD_RE, 'axis names are letters, digits and "_"'), z.array(scalar).min(1, 'an axis needs at least one value')).optional(),
    exclude: z.array(fieldMap).optional(),
    include: z.array(fieldMap).optional(),
    env: z.record(z.string().regex(/^[A-Za-z_][A-Za-z0-9_]{0,127}$/, 'env names are letters, digits and "_", not starting with a digit'), argScalar).optional(),
    selector: labelMap.optional(),
    labels: z.record(z.string(), z.record(z.string(), labelMap)).optional(),
    timeoutMs: duration.positive().optional(),
    maxAttempts: z.number().int().min(1).max(100).optional(),
    backoffMs: duration.min(0).optional(),
  })
  .strict();

export type JobSpec = z.infer<typeof jobSpecSchema>;

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
export const MAX_TASKS = LIMITS.jobTasks;

/** Parses JSON or YAML text into a checked spec, every limit checked before the job is expanded. */
export function parseJobSpec(text: string): JobSpec {
  checkLimit('specBytes', bytes(text), 'bytes of the job spec');
  // JSON (what programs send) is read by JSON.parse, whose cost is linear; anything else by YAML,
  // whose cost grows with tokens and nesting and is bounded first. Lines for errors come from YAML.
  let data = readJson(text);
  let doc: Document | undefined;
  const lines = new LineCounter();
  const parseYaml = () => {
    checkSpecText(text);
    doc = parseDocument(text, { lineCounter: lines, prettyErrors: false, uniqueKeys: true });
    return doc;
  };
  if (data === undefined) {
    const parsed = parseYaml();
    if (parsed.errors.length > 0) {
      const e = parsed.errors[0];
      throw new JobSpecError(`the spec does not parse: ${e.message.split('\n')[0]}`, lines.linePos(e.pos[0]).line);
    }
    try {
      data = parsed.toJS({ maxAliasCount: LIMITS.specAliases });
    } catch (err) {
      // yaml counts the nodes aliases expand to ("billion laughs") and stops at maxAliasCount.
      if (/alias/i.test((err as Error).message)) throw new LimitError('specAliases', 'alias expansions in the job spec', `more than ${LIMITS.specAliases}`);
      throw new JobSpecError(`the spec cannot be read: ${(err as Error).message}`);
    }
  }
  const lineOf = (path: Array<string | number>) => {
    try {
      return nodeLine(doc ?? parseYaml(), lines, path);
    } catch {
      return undefined; // too large to parse as YAML just for a line number
    }
  };
  checkShape(data, 'specDepth', 'spec', 'axisValues');
  const r = jobSpecSchema.safeParse(data);
  if (!r.success) {
    // An unknown field first: `comand:` also leaves `command` missing, and the slip is the news.
    const issue = r.error.issues.find((i) => i.code === 'unrecognized_keys') ?? r.error.issues[0];
    const path = issue.path.filter((p): p is string | number => typeof p !== 'symbol');
    const where = path.length ? path.join('.') : 'spec';
    if (issue.code === 'unrecognized_keys') {
      path.push(issue.keys[0]); // point at the key itself
      const known = keysAt(jobSpecSchema, issue.path);
      throw new JobSpecError(known ? `${where === 'spec' ? '' : `${where}: `}${unknownField(issue.keys[0], known)}` : `${where}: ${issue.message}`, lineOf(path));
    }
    throw new JobSpecError(`${where}: ${issue.message}`, lineOf(path));
  }
  const spec = r.data;
  const axes = Object.keys(spec.matrix ?? {});
  for (const rule of ['exclude', 'include'] as const) {
    (spec[rule] ?? []).forEach((entry, i) => {
      for (const key of Object.keys(entry)) {
        if (rule === 'exclude' && !axes.includes(key)) {
          throw new JobSpecError(`exclude[${i}] names axis "${key}", which the matrix does not have (axes: ${axes.join(', ') || 'none'})`, lineOf([rule, i, key]));
        }
        // An exclude that can match no task is a typo, not a rule: say so rather than run what it meant to skip.
        if (rule === 'exclude' && !spec.matrix![key].includes(entry[key])) {
          throw new JobSpecError(`exclude[${i}]: ${key} "${entry[key]}" matches no task (the values of ${key} are ${spec.matrix![key].join(', ')})`, lineOf([rule, i, key]));
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
  if (typeof spec.command === 'string') {
    check(spec.command, ['command']);
    try {
      shellTemplate(spec.command, fields);
    } catch (err) {
      if (err instanceof ShellTemplateError) throw new JobSpecError(`command: ${err.message}`, lineOf(['command']));
      throw err;
    }
  } else spec.command.forEach((arg, i) => check(arg, ['command', i]));
  // Each axis reaches the task as ROTA_MATRIX_<AXIS>: two axes that differ by case only would share one.
  const upper = new Map<string, string>();
  for (const f of fields) {
    const other = upper.get(f.toUpperCase());
    if (other !== undefined) throw new JobSpecError(`axes "${other}" and "${f}" differ by case only: both would be ROTA_MATRIX_${f.toUpperCase()}; rename one`, lineOf(['matrix']));
    upper.set(f.toUpperCase(), f);
  }
  for (const [k, v] of Object.entries(spec.env ?? {})) check(v, ['env', k]);
  for (const [k, v] of Object.entries(spec.selector ?? {})) check(v, ['selector', k]);
  checkJobSize(spec);
  return spec;
}

/** The tasks of a job, in a fixed order: the first axis varies slowest; includes come last. */
export function expandJob(spec: JobSpec): ExpandedTask[] {
  checkJobSize(spec); // never expand what the limits refuse, whoever calls this
  const axes = Object.entries(spec.matrix ?? {});
  let combos: Array<Record<string, string>> = [{}];
  for (const [axis, values] of axes) combos = combos.flatMap((c) => values.map((v) => ({ ...c, [axis]: v })));
  if (axes.length === 0) combos = spec.include?.length ? [] : [{}];
  const rules = (spec.exclude ?? []).map((rule) => Object.entries(rule));
  combos = combos.filter((c) => !rules.some((rule) => rule.every(([k, v]) => c[k] === v)));
  // An include whose axis values name an existing combination extends it; any other is a new task.
  const keyOf = (c: Record<string, string | undefined>) => JSON.stringify(axes.map(([axis]) => c[axis] ?? null));
  const byAxes = new Map(combos.map((c) => [keyOf(c), c]));
  for (const extra of spec.include ?? []) {
    const same = axes.length ? byAxes.get(keyOf(extra)) : undefined;
    if (same) {
      Object.assign(same, extra); // keys were checked: no "__proto__" can reach here
    } else {
      const added = { ...extra };
      combos.push(added);
      byAxes.set(keyOf(added), added);
    }
  }
  if (combos.length > MAX_TASKS) throw new JobSpecError(`the matrix expands to ${combos.length} tasks; the limit is ${MAX_TASKS} (jobTasks)`);
  return combos.map((values, index) => {
    const fill = (t: string) => t.replace(/\{([A-Za-z_][A-Za-z0-9_]*)\}/g, (whole, name: string) => values[name] ?? whole);
    const env: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.env ?? {})) env[k] = fill(v);
    for (const [k, v] of Object.entries(values)) env[`ROTA_MATRIX_${k.toUpperCase()}`] = v;
    const selector: Record<string, string> = {};
    for (const [k, v] of Object.entries(spec.selector ?? {})) selector[k] = fill(v);
    for (const [axis, byValue] of Object.entries(spec.labels ?? {})) Object.assign(selector, byValue[values[axis]] ?? {});
    const command = typeof spec.command === 'string' ? ['sh', '-c', shellTemplate(spec.command, new Set(Object.keys(values)))] : spec.command.map(fill);
    return { index, values, command, env, selector };
  });
}

/** `text` parsed as JSON when it is JSON (nesting bounded first), else undefined. */
function readJson(text: string): unknown {
  if (!/^\s*[[{]/.test(text)) return undefined;
  const depth = jsonDepth(text, LIMITS.specDepth);
  if (depth > LIMITS.specDepth) throw new LimitError('specDepth', 'nesting of the job spec', `${depth} or more`);
  try {
    return JSON.parse(text) as unknown;
  } catch {
    return undefined; // YAML flow style, or broken: YAML says where
  }
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
