// Query strings and path parameters, checked before a handler runs: every route names the query
// parameters it takes and how each must look; an unknown, repeated or malformed one is a 400 that
// says which, instead of being ignored or streaming from a nonsense revision.
import type { FastifyRequest } from 'fastify';
import { checkId } from '../engine/model.js';
import { HttpError } from './errors.js';

/** Checks one value; returns what is wrong with it, or undefined. */
export type Check = (value: string) => string | undefined;

/** The query parameters a route takes, each with its check. */
export type QuerySpec = Record<string, Check>;

const bad = (name: string, problem: string) => new HttpError(400, 'invalid', `query parameter ${name}: ${problem}`);

/** A revision: a whole number from 1 up. */
export const revision: Check = (v) => (/^[0-9]{1,16}$/.test(v) && Number(v) >= 1 && Number.isSafeInteger(Number(v)) ? undefined : `"${v.slice(0, 40)}" is not a revision (a whole number from 1)`);

/** An id as checkId takes it. */
export const id =
  (what: string): Check =>
  (v) => {
    try {
      checkId(v, what);
      return undefined;
    } catch (err) {
      return (err as Error).message;
    }
  };

/** A job id: what a job spec's name or id may be. */
export const JOB_ID_RE = /^[A-Za-z0-9][A-Za-z0-9_-]{0,63}$/;
export const jobId: Check = (v) => (JOB_ID_RE.test(v) ? undefined : `job id "${v.slice(0, 80)}" is not valid: use 1-64 letters, digits, "_" or "-", starting with a letter or digit`);

/** A key prefix relative to rota's, e.g. "registry/". */
export const keyPrefix: Check = (v) => (/^[A-Za-z0-9._:/-]{0,256}$/.test(v) ? undefined : `"${v.slice(0, 80)}" is not a key prefix (up to 256 letters, digits, ".", "_", ":", "/" or "-")`);

/** One of a few words. */
export const oneOf =
  (...words: string[]): Check =>
  (v) => (words.includes(v) ? undefined : `"${v.slice(0, 40)}" is not one of ${words.join(', ')}`);

/** Any value (the bearer token of an event stream: compared, never stored). */
export const anything: Check = () => undefined;

/** Refuses a query that does not fit `spec` (unknown, repeated or malformed parameters). */
export function checkQuery(req: FastifyRequest, spec: QuerySpec, route: string): void {
  const query = (req.query ?? {}) as Record<string, unknown>;
  for (const [name, value] of Object.entries(query)) {
    const check = Object.hasOwn(spec, name) ? spec[name] : undefined;
    if (!check) {
      const known = Object.keys(spec);
      throw bad(name.slice(0, 40), `${route} takes ${known.length ? `only ${known.join(', ')}` : 'no query parameters'}`);
    }
    if (typeof value !== 'string') throw bad(name, 'give it once');
    const problem = check(value);
    if (problem) throw bad(name, problem);
  }
}

/** Path parameter `value` checked with `check` (a 400 naming it when it does not fit). */
export function param(value: string, check: Check, name = 'id'): string {
  const problem = check(value);
  if (problem) throw new HttpError(400, 'invalid', `path parameter ${name}: ${problem}`);
  return value;
}

/** A participant index in a path: a whole number from 0. */
export const index: Check = (v) => (/^[0-9]{1,9}$/.test(v) ? undefined : `"${v.slice(0, 40)}" is not an index (a whole number from 0)`);
