// Runs: multi-party state machines with barriers (DESIGN "Runs"). Each participant (node/index)
// reports the current state done; the last report advances the run and re-arms every participant.
// A report names the round it completes (the round current when it first arrives, unless the
// caller names one): it deletes the participant's pending key only if that key is armed for this
// round, so a retried report never counts in a later round, even when a state follows itself.
// The report that leaves nobody pending advances the run — the new state and every participant
// pending again, in one transaction that re-checks that nobody is pending — so a run advances
// exactly once per round. If that reporter dies before its advance, the round is complete with
// nobody pending: the next reader, the next report (of the next state too) or a waiter's event
// stream finishes the advance, once the round has stayed so for REPAIR_GRACE_MS (a live reporter
// is not raced, so the report that advanced is the one that says so). States of a list are addressed by position, so a list may name a
// state twice ([a, b, a, c]). A report for another state, or from someone who is not a
// participant, is refused and changes nothing. Inputs are bounded in run-input.ts.
import { listPrefix, sleep, systemClock, type Clock, type KeyValue, type Store, type TxnOp } from '../../store/index.js';
import type { Keys } from '../keys.js';
import { checkId } from '../model.js';
import { decodeJson } from '../tasks/task-model.js';
import type { WriteOnce } from '../write-once.js';
import { checkIndex, checkValue, parseCreateRun, type CreateRun, type RunReport } from './run-input.js';

export { parseCreateRun, parseReport, type CreateRun, type RunReport } from './run-input.js';

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
  /** With `states`: the position of `state` in it (a list may name a state twice). */
  position?: number;
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

/** The state after the run's current one (with its position in a list), or undefined if it is final. */
export function nextOf(run: Pick<RunRecord, 'states' | 'transitions' | 'state' | 'position'>): { state: string; position?: number } | undefined {
  if (run.transitions) {
    const next = run.transitions[run.state];
    return next === undefined ? undefined : { state: next };
  }
  const states = run.states ?? DEFAULT_STATES;
  const at = run.position ?? states.indexOf(run.state); // records written before positions existed
  return at >= 0 && at < states.length - 1 ? { state: states[at + 1], position: at + 1 } : undefined;
}

/** Writes a new run (checked by parseCreateRun) in its first state, every participant pending. */
export async function createRun(w: WriteOnce, keys: Keys, given: CreateRun, now: number): Promise<RunView> {
  const input = parseCreateRun(given);
  const first = input.transitions ? Object.keys(input.transitions)[0] : (input.states ?? DEFAULT_STATES)[0];
  const record: RunRecord = {
    id: input.id,
    states: input.transitions ? undefined : (input.states ?? DEFAULT_STATES),
    transitions: input.transitions,
    participants: Object.fromEntries(Object.entries(input.participants).map(([n, ix]) => [n, [...new Set(ix)].sort((a, b) => a - b)])),
    state: first,
    position: input.transitions ? undefined : 0,
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
  const r = await w.txn({ compare: [{ key: runKey(keys, record.id), target: 'create', op: '==', value: 0 }], success: ops });
  if (!r.succeeded) throw new RunRefusedError(`run ${record.id} already exists`);
  return view(record, participantsOf(record));
}

function view(record: RunRecord, pending: string[]): RunView {
  return { ...record, pending, final: nextOf(record) === undefined };
}

/** How long a complete round may wait for its last reporter's advance before others finish it. */
export const REPAIR_GRACE_MS = 1000;

interface RunRead {
  kv: KeyValue;
  record: RunRecord;
  pending: string[];
}

/** The run record and who is pending, read at one revision. */
async function readRun(store: Store, keys: Keys, id: string): Promise<RunRead> {
  const r = await store.txn({ success: [{ type: 'range', key: runKey(keys, id) }, { type: 'range', key: pendingPrefix(keys, id), prefix: true, keysOnly: true }] });
  const [rec, pending] = r.results;
  const kv = rec.type === 'range' ? rec.kvs[0] : undefined;
  const record = decodeJson<RunRecord>(kv?.value);
  if (!kv || !record) throw new RunNotFoundError(id);
  return { kv, record, pending: pending.type === 'range' ? pending.kvs.map((p) => p.key.slice(pendingPrefix(keys, id).length)) : [] };
}

/** Every report of the round is in, yet the run has not moved on. */
const stalled = (r: RunRead) => r.pending.length === 0 && nextOf(r.record) !== undefined;

/**
 * Finishes an advance that a reporter left undone: if the round is complete but not advanced, and
 * still so after REPAIR_GRACE_MS, advances it. True if this call advanced the run.
 */
export async function repairRun(w: WriteOnce, keys: Keys, id: string, clock: Clock = systemClock): Promise<boolean> {
  const first = await readRun(w.store, keys, id);
  if (!stalled(first)) return false;
  await sleep(clock, REPAIR_GRACE_MS);
  const again = await readRun(w.store, keys, id);
  if (!stalled(again) || again.kv.modRevision !== first.kv.modRevision) return false;
  return advance(w, keys, again.kv, again.record, clock.now());
}

/** A run with its pending participants (finishing an advance that a crashed reporter left undone). */
export async function getRun(w: WriteOnce, keys: Keys, id: string, clock: Clock = systemClock): Promise<RunView> {
  for (;;) {
    const r = await readRun(w.store, keys, id);
    if (!stalled(r)) return view(r.record, r.pending);
    await repairRun(w, keys, id, clock);
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
  /** False when this participant had already reported that round (nothing changed). */
  recorded: boolean;
  /** True when this report was the last and moved the run on. */
  advanced: boolean;
}

/** `node/index` reports `state` done (of `report.round`, or of the round current when it arrives). */
export async function completeRun(w: WriteOnce, keys: Keys, id: string, report: RunReport, clock: Clock = systemClock): Promise<Completion> {
  const me = `${report.node}/${report.index}`;
  let round = report.round;
  for (;;) {
    const read = await readRun(w.store, keys, id);
    const { record, pending } = read;
    if (!participantsOf(record).includes(me)) {
      const list = Object.entries(record.participants).map(([n, ix]) => `${n} [${ix.join(' ')}]`).join(', ');
      throw new RunRefusedError(`${me} is not a participant of run ${id} (participants: ${list})`);
    }
    // A round complete but not advanced (its last reporter died?): see it finished, then look again.
    if (stalled(read)) {
      await repairRun(w, keys, id, clock);
      continue;
    }
    const refuse = () => new RunRefusedError(`run ${id} is in state "${record.state}" (round ${record.round}); ${me} cannot complete "${report.state}"${round ? ` of round ${round}` : ''}`);
    if (round === undefined) {
      if (record.state !== report.state) throw refuse();
      round = record.round; // from here on this report is about this round only
    }
    // That round is over: it could not end without this participant, so its report was in it.
    if (round < record.round) return { run: view(record, pending), recorded: false, advanced: false };
    if (round > record.round || record.state !== report.state) throw refuse();
    if (!pending.includes(me)) return { run: view(record, pending), recorded: false, advanced: false };
    const r = await w.txn({
      compare: [{ key: pendingKey(keys, id, me), target: 'value', op: '==', value: String(round) }],
      success: [
        { type: 'delete', key: pendingKey(keys, id, me) },
        { type: 'range', key: pendingPrefix(keys, id), prefix: true, countOnly: true },
      ],
    });
    if (!r.succeeded) continue; // reported meanwhile, or the round moved on: look again
    const left = r.results[1];
    // A replayed report does not know who is left; the advance checks that itself.
    const last = r.replayed || (left?.type === 'range' && left.count === 0);
    const advanced = last && (await advance(w, keys, read.kv, record, clock.now()));
    const after = await readRun(w.store, keys, id);
    return { run: view(after.record, after.pending), recorded: true, advanced };
  }
}

/** If nobody is pending in the round `kv` holds, moves the run to its next state and re-arms everyone. */
async function advance(w: WriteOnce, keys: Keys, kv: KeyValue, run: RunRecord, now: number): Promise<boolean> {
  const next = nextOf(run);
  if (next === undefined) return false; // final state: it stays
  const round = run.round + 1;
  const record: RunRecord = { ...run, state: next.state, position: next.position, round, history: [...run.history, { state: next.state, round, at: now }].slice(-1000) };
  const everyone = participantsOf(run);
  const r = await w.txn({
    compare: [
      { key: kv.key, target: 'mod', op: '==', value: kv.modRevision },
      // Nobody left: re-checked inside the transaction.
      ...everyone.map((p) => ({ key: pendingKey(keys, run.id, p), target: 'create' as const, op: '==' as const, value: 0 })),
    ],
    success: [{ type: 'put', key: kv.key, value: JSON.stringify(record) }, ...everyone.map((p) => ({ type: 'put' as const, key: pendingKey(keys, run.id, p), value: String(round) }))],
  });
  return r.succeeded;
}

/** Sets a participant's parameter. */
export async function setParam(store: Store, keys: Keys, id: string, node: string, index: number, name: string, value: string): Promise<void> {
  checkId(node, 'node name');
  checkIndex(index);
  checkId(name, 'parameter name');
  checkValue(value);
  // Puts the same value again when retried: no marker needed.
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
export async function deleteRun(w: WriteOnce, keys: Keys, id: string): Promise<void> {
  const r = await w.txn({
    compare: [{ key: runKey(keys, id), target: 'create', op: '>', value: 0 }],
    success: [{ type: 'delete', key: `${keys.runs}${id}/`, prefix: true }],
  });
  if (!r.succeeded) throw new RunNotFoundError(id);
}
