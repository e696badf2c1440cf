// The limits of a job spec, measured before the work they bound: the text before it is parsed (the
// YAML parser's cost grows with tokens and nesting, and some shapes cost far more than their size),
// and the job's tasks and bytes before the matrix is expanded.
import { CST, Lexer } from 'yaml';
import { bytes, checkLimit, LimitError, LIMITS, ValidationError } from '../input-limits.js';
import { checkTaskLimits } from '../model.js';

/** What the size checks need of a spec (a subset of JobSpec, so this file does not import it). */
export interface SpecShape {
  /** argv, or a shell command line. */
  command: string[] | string;
  matrix?: Record<string, string[]>;
  exclude?: Array<Record<string, string>>;
  include?: Array<Record<string, string>>;
  env?: Record<string, string>;
  selector?: Record<string, string>;
  labels?: Record<string, Record<string, Record<string, string>>>;
}

/**
 * Refuses spec text the parser should not see: too large, too many tokens, nested too deep (flow
 * brackets, or "- - -" on one line), complex keys ("? "), or too many anchors and aliases. One
 * linear pass of YAML's lexer, which never recurses.
 */
export function checkSpecText(text: string): void {
  let tokens = 0;
  let depth = 0;
  let lineItems = 0;
  let aliases = 0;
  for (const token of new Lexer().lex(text)) {
    if (++tokens > LIMITS.specTokens) throw new LimitError('specTokens', 'YAML tokens of the job spec', `more than ${LIMITS.specTokens}`);
    if (token === '[' || token === '{') {
      if (++depth > LIMITS.specDepth) throw new LimitError('specDepth', 'nesting of the job spec', depth);
    } else if (token === ']' || token === '}') depth = Math.max(0, depth - 1);
    else if (token === '-') {
      if (++lineItems > LIMITS.specDepth) throw new LimitError('specDepth', 'nesting of "- " items on one line of the job spec', lineItems);
    } else if (token === '\n' || token === '\r\n') lineItems = 0;
    else if (token === '?') throw new ValidationError('the job spec uses a complex key ("? "); write plain keys');
    else {
      const type = CST.tokenType(token);
      if ((type === 'anchor' || type === 'alias') && ++aliases > LIMITS.specAliases) throw new LimitError('specAliases', 'anchors and aliases in the job spec', aliases);
    }
  }
}

/**
 * Checks the job's size before it is expanded: axes, values, rules, the template's command, env
 * and selector, the number of tasks (the product of the axes' sizes, so five axes of 50 values are
 * refused after five multiplications, not 312 million combinations), and the bytes it would write.
 */
export function checkJobSize(spec: SpecShape): number {
  const axes = Object.entries(spec.matrix ?? {});
  checkLimit('matrixAxes', axes.length, 'axes of the matrix');
  let longestValues = 0; // the largest values of one task, all axes together, with their names
  let longestValue = 0; // the largest single value
  for (const [axis, values] of axes) {
    checkLimit('axisValues', values.length, `values of axis ${axis}`);
    const longest = Math.max(...values.map(bytes));
    checkLimit('matrixValue', longest, `bytes of a value of axis ${axis}`);
    longestValues += bytes(axis) + longest;
    longestValue = Math.max(longestValue, longest);
  }
  for (const rule of ['exclude', 'include'] as const) {
    const entries = spec[rule] ?? [];
    checkLimit('matrixRules', entries.length, `entries of ${rule}`);
    entries.forEach((entry, i) => {
      checkLimit('labels', Object.keys(entry).length, `fields of ${rule}[${i}]`);
      for (const [k, v] of Object.entries(entry)) {
        checkLimit('matrixValue', Math.max(bytes(k), bytes(v)), `bytes of ${rule}[${i}].${k}`);
        longestValue = Math.max(longestValue, bytes(v));
      }
    });
  }
  const includeBytes = Math.max(0, ...(spec.include ?? []).map((e) => Object.entries(e).reduce((n, [k, v]) => n + bytes(k) + bytes(v), 0)));
  checkTaskLimits({ ...spec, command: typeof spec.command === 'string' ? ['sh', '-c', spec.command] : spec.command });
  for (const [axis, byValue] of Object.entries(spec.labels ?? {})) {
    for (const [value, labels] of Object.entries(byValue)) checkLimit('labels', Object.keys(labels).length, `entries of labels.${axis}.${value}`);
  }
  let combinations = 1;
  for (const [, values] of axes) {
    combinations *= values.length;
    if (combinations > LIMITS.jobTasks) {
      const sizes = axes.map(([, v]) => v.length).join(' × ');
      throw new LimitError('jobTasks', `tasks of the matrix (${sizes} combinations, before exclude)`, axes.reduce((n, [, v]) => n * v.length, 1));
    }
  }
  const includes = spec.include?.length ?? 0;
  const tasks = (axes.length ? combinations : includes ? 0 : 1) + includes;
  checkLimit('jobTasks', tasks, 'tasks of the job (combinations and includes)');
  // A task's stored spec: the templates with every {field} filled, plus its values three times
  // (registry content, spec, ROTA_MATRIX_* env) and the labels its values select.
  const templates = [...(typeof spec.command === 'string' ? ['sh', '-c', spec.command] : spec.command), ...Object.entries(spec.env ?? {}).flat(), ...Object.entries(spec.selector ?? {}).flat()];
  const fills = templates.reduce((n, t) => n + (t.match(/\{[A-Za-z_][A-Za-z0-9_]*\}/g)?.length ?? 0), 0);
  const labelBytes = Object.values(spec.labels ?? {}).reduce((n, byValue) => n + Math.max(0, ...Object.values(byValue).map((l) => JSON.stringify(l).length)), 0);
  const perTask = templates.reduce((n, t) => n + bytes(t), 0) + fills * longestValue + 3 * (longestValues + includeBytes) + labelBytes + 512;
  checkLimit('jobBytes', tasks * perTask, `bytes the job would write (${tasks} tasks of up to ${perTask} bytes)`);
  return tasks;
}
