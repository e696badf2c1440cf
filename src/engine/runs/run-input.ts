// What a run may be given, checked before any work: states, participants, indices and parameters
// are bounded, and a refusal names the limit it broke. The participant bound comes from the store:
// an advance re-arms every participant in one transaction, and etcd takes 128 operations in one.
import { z } from 'zod';
import { checkId, describeIssues, ValidationError } from '../model.js';

/** Participants (node/index pairs) of one run: the advance puts each one's pending key and the record in one transaction. */
export const MAX_PARTICIPANTS = 120;
/** States of one run (a list, or transitions). */
export const MAX_STATES = 100;
/** Length of a state name. */
export const MAX_STATE_NAME = 128;
/** Largest participant index. */
export const MAX_INDEX = 1_000_000;
/** One parameter value, in bytes. */
export const MAX_PARAM_BYTES = 64 * 1024;
/** Defaults plus initial parameters of a run, in bytes (they ride in the creating transaction). */
export const MAX_INITIAL_PARAM_BYTES = 512 * 1024;
/** Parameter defaults of a run. */
export const MAX_DEFAULTS = 100;

/** A run as a user writes it (JSON body of POST /runs). */
export interface CreateRun {
  id: string;
  participants: Record<string, number[]>;
  states?: string[];
  transitions?: Record<string, string>;
  defaults?: Record<string, string>;
  /** Initial parameter values: node → index → name → value. */
  params?: Record<string, Record<string, Record<string, string>>>;
}

/** A report: `node/index` finished `state` — of round `round` when given (retries of it are then safe). */
export interface RunReport {
  node: string;
  index: number;
  state: string;
  round?: number;
}

const stateName = z.string().min(1).max(MAX_STATE_NAME, `a state name has at most ${MAX_STATE_NAME} characters`);
const index = z.number().int().min(0).max(MAX_INDEX, `a participant index is at most ${MAX_INDEX}`);
const atMost = (n: number) => (r: Record<string, unknown>) => Object.keys(r).length <= n;

/** A run as a user creates it (JSON body of POST /runs). */
export const createRunSchema = z
  .object({
    id: z.string(),
    participants: z
      .record(z.string(), z.array(index).min(1).max(MAX_PARTICIPANTS, `at most ${MAX_PARTICIPANTS} participants per run`))
      .refine(atMost(MAX_PARTICIPANTS), `a run has at most ${MAX_PARTICIPANTS} participants`),
    states: z.array(stateName).min(1).max(MAX_STATES, `a run has at most ${MAX_STATES} states`).optional(),
    transitions: z.record(stateName, stateName).refine(atMost(MAX_STATES), `a run has at most ${MAX_STATES} states`).optional(),
    defaults: z.record(z.string(), z.string()).refine(atMost(MAX_DEFAULTS), `a run has at most ${MAX_DEFAULTS} parameter defaults`).optional(),
    params: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.string()))).optional(),
  })
  .strict();

/** Validates a run as a user writes it, every bound included. */
export function parseCreateRun(body: unknown): CreateRun {
  const r = createRunSchema.safeParse(body);
  if (!r.success) throw new ValidationError(describeIssues(r.error, createRunSchema));
  const input = r.data;
  checkId(input.id, 'run id');
  const participants = Object.entries(input.participants);
  if (participants.length === 0) throw new ValidationError('a run needs participants, e.g. {"node1": [1, 2, 4], "node2": [2]}');
  let count = 0;
  for (const [node, indices] of participants) {
    checkId(node, 'node name');
    count += new Set(indices).size;
  }
  if (count > MAX_PARTICIPANTS) throw new ValidationError(`a run has at most ${MAX_PARTICIPANTS} participants (node/index pairs); this one has ${count}`);
  if (input.states && input.transitions) throw new ValidationError('give states or transitions, not both');
  if (input.transitions && Object.keys(input.transitions).length === 0) throw new ValidationError('a run needs at least one state');
  let bytes = 0;
  let params = 0;
  for (const [name, value] of Object.entries(input.defaults ?? {})) {
    checkId(name, 'parameter name');
    bytes += checkValue(value);
  }
  for (const [node, byIndex] of Object.entries(input.params ?? {})) {
    checkId(node, 'node name');
    for (const [i, values] of Object.entries(byIndex)) {
      if (!/^\d+$/.test(i) || Number(i) > MAX_INDEX) throw new ValidationError(`params.${node}.${i}: an index is a whole number up to ${MAX_INDEX}`);
      for (const [name, value] of Object.entries(values)) {
        checkId(name, 'parameter name');
        bytes += checkValue(value);
        params++;
      }
    }
  }
  if (bytes > MAX_INITIAL_PARAM_BYTES) throw new ValidationError(`parameter defaults and initial values are ${bytes} bytes; the limit is ${MAX_INITIAL_PARAM_BYTES}`);
  // Created in one transaction: the record, a pending key per participant, each initial value, a marker.
  const room = 128 - 2 - count;
  if (params > room) throw new ValidationError(`a run with ${count} participants may have at most ${room} initial parameter values (the limit is 128 operations per transaction); set more with PUT /runs/:id/params/…`);
  return input;
}

/** Checks one parameter value; returns its size in bytes. */
export function checkValue(value: string): number {
  const size = Buffer.byteLength(value);
  if (size > MAX_PARAM_BYTES) throw new ValidationError(`a parameter value is ${size} bytes; the limit is ${MAX_PARAM_BYTES}`);
  return size;
}

/** Checks a participant index given outside a body (a path segment). */
export function checkIndex(i: number): number {
  if (!Number.isInteger(i) || i < 0 || i > MAX_INDEX) throw new ValidationError(`a participant index is a whole number from 0 to ${MAX_INDEX}`);
  return i;
}

/** A participant reporting a state done (JSON body of POST /runs/:id/complete). */
export const runReportSchema = z.object({ node: z.string().min(1), index, state: stateName, round: z.number().int().min(1).optional() }).strict();

/** Validates a report (JSON body of POST /runs/:id/complete). */
export function parseReport(body: unknown): RunReport {
  const r = runReportSchema.safeParse(body);
  if (!r.success) throw new ValidationError(describeIssues(r.error, runReportSchema));
  checkId(r.data.node, 'node name');
  return r.data;
}
