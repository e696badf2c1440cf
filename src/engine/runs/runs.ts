// Runs: multi-party state machines with barriers (DESIGN "Runs"). Each participant (node/index)
// reports the current state done; the last report advances the run and re-arms every participant.
// A report is one transaction that deletes the participant's pending key, guarded by the run's
// revision, and counts who is left; the one that leaves nobody advances the run — the new state,
// and every participant pending again, in one transaction guarded by the same revision, so a run
// advances exactly once per round however many report at once. A report for another state, or
// from someone who is not a participant, is refused and changes nothing.
import { listPrefix, type KeyValue, type Store, type TxnOp } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { z } from 'zod';
import { checkId, describeIssues, ValidationError } from '../model.js';
import { decodeJson } from '../tasks/task-model.js';

/** runs/<id>/run: the run record. */
export interface RunRecord {
  id: string;
  /** Ordered states (the last one is final), or… */
  states?: string[];
  /** …each state's successor (cycles allowed; a state without one is final). */
  transitions?: Record<string, string>;
  /** node → participant indices. */
  participants: Record<string, number[]>;
  state: string;
  /** Rises by one on every advance. */
  round: number;
  history: Array<{ state: string; round: number; at: number }>;
  createdAt: number;
  /** Parameter defaults for every participant. */
  defaults: Record<string, string>;
}

/** A run as users see it: its record plus who has not reported the current state yet. */
export interface RunView extends RunRecord {
  pending: string[];
  /** Whether the current state is final. */
  final: boolean;
}

/** The run does not exist. */
export class RunNotFoundError extends Error {
  constructor(id: string) {
    super(`run ${id} does not exist`);
    this.name = 'RunNotFoundError';
  }
}

/** A report that does not fit the run: wrong state, or not a participant. Nothing was changed. */
export class RunRefusedError extends Error {
  constructor(message: string) {
    super(message);
    this.name = 'RunRefusedError';
  }
}

export interface CreateRun {
  id: string;
  participants: Record<string, number[]>;
  states?: string[];
  transitions?: Record<string, string>;
  defaults?: Record<string, string>;
  /** Initial parameter values: node → index → name → value. */
  params?: Record<string, Record<string, Record<string, string>>>;
}

export const DEFAULT_STATES = ['init', 'provisioning', 'executing', 'ready'];

const runKey = (keys: Keys, id: string) => `${keys.runs}${id}/run`;
const pendingPrefix = (keys: Keys, id: string) => `${keys.runs}${id}/pending/`;
const pendingKey = (keys: Keys, id: string, p: string) => `${pendingPrefix(keys, id)}${p}`;
/** runs/<id>/params/<node>/<index>/<name>. */
export const paramKey = (keys: Keys, id: string, node: string, index: number, name: string) => `${keys.runs}${id}/params/${node}/${index}/${name}`;

/** "node/index" of every participant. */
export function participantsOf(run: Pick<RunRecord, 'participants'>): string[] {
  return Object.entries(run.participants).flatMap(([node, indices]) => indices.map((i) => `${node}/${i}`));
}

/** The state after `state`, or undefined if it is final. */
export function nextState(run: Pick<RunRecord, 'states' | 'transitions'>, state: string): string | undefined {
  if (run.transitions) return run.transitions[state];
  const states = run.states ?? DEFAULT_STATES;
  const i = states.indexOf(state);
  return i >= 0 && i < states.length - 1 ? states[i + 1] : undefined;
}

/** Checks and writes a new run in its first state, every participant pending. */
export async function createRun(store: Store, keys: Keys, input: CreateRun, now: number): Promise<RunView> {
  checkId(input.id, 'run id');
  const participants = Object.entries(input.participants ?? {});
  if (participants.length === 0) throw new ValidationError('a run needs participants, e.g. {"node1": [1, 2, 4], "node2": [2]}');
  for (const [node, indices] of participants) {
    checkId(node, 'node name');
    if (!Array.isArray(indices) || indices.length === 0 || !indices.every((i) => Number.isInteger(i) && i >= 0)) {
      throw new ValidationError(`participants.${node} must be a list of whole numbers, e.g. [1, 2, 4]`);
    }
  }
  if (input.states && input.transitions) throw new ValidationError('give states or transitions, not both');
  const first = input.transitions ? Object.keys(input.transitions)[0] : (input.states ?? DEFAULT_STATES)[0];
  if (!first) throw new ValidationError('a run needs at least one state');
  const record: RunRecord = {
    id: input.id,
    states: input.transitions ? undefined : (input.states ?? DEFAULT_STATES),
    transitions: input.transitions,
    participants: Object.fromEntries(participants.map(([n, ix]) => [n, [...new Set(ix)].sort((a, b) => a - b)])),
    state: first,
    round: 1,
    history: [{ state: first, round: 1, at: now }],
    createdAt: now,
    defaults: input.defaults ?? {},
  };
  const ops: TxnOp[] = [{ type: 'put', key: runKey(keys, record.id), value: JSON.stringify(record) }];
  for (const p of participantsOf(record)) ops.push({ type: 'put', key: pendingKey(keys, record.id, p), value: '1' });
  for (const [node, byIndex] of Object.entries(input.params ?? {})) {
    for (const [index, values] of Object.entries(byIndex)) {
      for (const [name, value] of Object.entries(values)) ops.push({ type: 'put', key: paramKey(keys, record.id, node, Number(index), name), value: String(value) });
    }
  }
  if (ops.length > 128) throw new ValidationError(`a run may have at most ${127} participants and initial parameters together`);
  const r = await store.txn({ compare: [{ key: runKey(keys, record.id), target: 'create', op: '==', value: 0 }], success: ops });
  if (!r.succeeded) throw new RunRefusedError(`run ${record.id} already exists`);
  return { ...record, pending: participantsOf(record), final: nextState(record, first) === undefined };
}

/** A run with its pending participants (finishing an advance that a crashed reporter left undone). */
export async function getRun(store: Store, keys: Keys, id: string, now = Date.now()): Promise<RunView> {
  for (;;) {
    const r = await store.txn({ success: [{ type: 'range', key: runKey(keys, id) }, { type: 'range', key: pendingPrefix(keys, id), prefix: true, keysOnly: true }] });
    const [rec, pending] = r.results;
    const kv = rec.type === 'range' ? rec.kvs[0] : undefined;
    const record = decodeJson<RunRecord>(kv?.value);
    if (!kv || !record) throw new RunNotFoundError(id);
    const left = pending.type === 'range' ? pending.kvs.map((p) => p.key.slice(pendingPrefix(keys, id).length)) : [];
    const final = nextState(record, record.state) === undefined;
    if (left.length === 0 && !final && (await advanceIfDone(store, keys, id, kv, record, now))) continue;
    return { ...record, pending: left, final };
  }
}

/** Every run. */
export async function listRuns(store: Store, keys: Keys): Promise<RunRecord[]> {
  const { kvs } = await listPrefix(store, keys.runs);
  return kvs.filter((kv) => kv.key.endsWith('/run') && kv.key.split('/').length === keys.runs.split('/').length + 1).flatMap((kv) => decodeJson<RunRecord>(kv.value) ?? []);
}

/** Outcome of a report. */
export interface Completion {
  run: RunView;
  /** False when this participant had already reported the current state (nothing changed). */
  recorded: boolean;
  /** True when this report was the last and moved the run on. */
  advanced: boolean;
}

/** `node/index` reports `state` done. */
export async function completeRun(store: Store, keys: Keys, id: string, node: string, index: number, state: string, now: number): Promise<Completion> {
  for (;;) {
    const kv = await store.get(runKey(keys, id));
    const run = decodeJson<RunRecord>(kv?.value);
    if (!kv || !run) throw new RunNotFoundError(id);
    const me = `${node}/${index}`;
    if (!participantsOf(run).includes(me)) {
      const list = Object.entries(run.participants).map(([n, ix]) => `${n} [${ix.join(' ')}]`).join(', ');
      throw new RunRefusedError(`${me} is not a participant of run ${id} (participants: ${list})`);
    }
    if (run.state !== state) {
      throw new RunRefusedError(`run ${id} is in state "${run.state}" (round ${run.round}); ${me} cannot complete "${state}"`);
    }
    const guard = { key: runKey(keys, id), target: 'mod' as const, op: '==' as const, value: kv.modRevision };
    const r = await store.txn({
      compare: [guard, { key: pendingKey(keys, id, me), target: 'create', op: '>', value: 0 }],
      success: [
        { type: 'delete', key: pendingKey(keys, id, me) },
        { type: 'range', key: pendingPrefix(keys, id), prefix: true, countOnly: true },
      ],
      failure: [{ type: 'range', key: runKey(keys, id) }],
    });
    if (!r.succeeded) {
      const current = r.results[0].type === 'range' ? r.results[0].kvs[0] : undefined;
      if (current?.modRevision !== kv.modRevision) continue; // the run moved on meanwhile: look again
      // Already reported in this round: idempotent. (If nobody is left, a crash stopped the advance.)
      const advanced = await advanceIfDone(store, keys, id, kv, run, now);
      return { run: await getRun(store, keys, id), recorded: false, advanced };
    }
    const left = r.results[1];
    const last = left.type === 'range' && left.count === 0;
    // The last report moves the run on (a reader may have finished that for it a moment earlier).
    if (last) await advanceIfDone(store, keys, id, kv, run, now);
    const after = await getRun(store, keys, id);
    return { run: after, recorded: true, advanced: last && after.round > run.round };
  }
}

/** If nobody is pending in the round `kv` describes, moves the run to its next state and re-arms everyone. */
async function advanceIfDone(store: Store, keys: Keys, id: string, kv: KeyValue, run: RunRecord, now: number): Promise<boolean> {
  const next = nextState(run, run.state);
  if (next === undefined) return false; // final state: it stays
  const record: RunRecord = {
    ...run,
    state: next,
    round: run.round + 1,
    history: [...run.history, { state: next, round: run.round + 1, at: now }].slice(-1000),
  };
  const r = await store.txn({
    compare: [
      { key: runKey(keys, id), target: 'mod', op: '==', value: kv.modRevision },
      // Nobody left: the count is re-checked inside the transaction.
      ...participantsOf(run).map((p) => ({ key: pendingKey(keys, id, p), target: 'create' as const, op: '==' as const, value: 0 })),
    ],
    success: [
      { type: 'put', key: runKey(keys, id), value: JSON.stringify(record) },
      ...participantsOf(run).map((p) => ({ type: 'put' as const, key: pendingKey(keys, id, p), value: String(record.round) })),
    ],
  });
  return r.succeeded;
}

/** Sets a participant's parameter. */
export async function setParam(store: Store, keys: Keys, id: string, node: string, index: number, name: string, value: string): Promise<void> {
  checkId(name, 'parameter name');
  const r = await store.txn({
    compare: [{ key: runKey(keys, id), target: 'create', op: '>', value: 0 }],
    success: [{ type: 'put', key: paramKey(keys, id, node, index, name), value }],
  });
  if (!r.succeeded) throw new RunNotFoundError(id);
}

/** A participant's parameter, or its default; undefined when neither exists. */
export async function getParam(store: Store, keys: Keys, id: string, node: string, index: number, name: string): Promise<string | undefined> {
  const [kv, run] = await Promise.all([store.get(paramKey(keys, id, node, index, name)), store.get(runKey(keys, id))]);
  if (!run) throw new RunNotFoundError(id);
  return kv?.value ?? decodeJson<RunRecord>(run.value)?.defaults[name];
}

/** Deletes a run with its pending set and parameters. */
export async function deleteRun(store: Store, keys: Keys, id: string): Promise<void> {
  const r = await store.txn({
    compare: [{ key: runKey(keys, id), target: 'create', op: '>', value: 0 }],
    success: [{ type: 'delete', key: `${keys.runs}${id}/`, prefix: true }],
  });
  if (!r.succeeded) throw new RunNotFoundError(id);
}

const createSchema = z
  .object({
    id: z.string(),
    participants: z.record(z.string(), z.array(z.number().int().min(0)).min(1)),
    states: z.array(z.string().min(1)).min(1).optional(),
    transitions: z.record(z.string(), z.string()).optional(),
    defaults: z.record(z.string(), z.string()).optional(),
    params: z.record(z.string(), z.record(z.string(), z.record(z.string(), z.string()))).optional(),
  })
  .strict();

/** Validates a run as a user writes it (JSON body of POST /runs). */
export function parseCreateRun(body: unknown): CreateRun {
  const r = createSchema.safeParse(body);
  if (!r.success) throw new ValidationError(describeIssues(r.error));
  return r.data;
}

const reportSchema = z.object({ node: z.string().min(1), index: z.number().int().min(0), state: z.string().min(1) }).strict();

/** Validates a report (JSON body of POST /runs/:id/complete). */
export function parseReport(body: unknown): { node: string; index: number; state: string } {
  const r = reportSchema.safeParse(body);
  if (!r.success) throw new ValidationError(describeIssues(r.error));
  return r.data;
}
