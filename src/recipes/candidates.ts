// The line of election candidates: who they are, their priority, and the order they lead in.
import type { KeyValue } from '../store/index.js';

/** What a candidate's key holds. */
export interface Candidate {
  id: string;
  /** Higher leads first; ties go to the oldest candidate. */
  priority: number;
}

/** The office of the election under `prefix` (beside the candidates, not among them). */
export const officeKey = (prefix: string): string => `${prefix.replace(/\/$/, '')}-office`;

/** A candidate's key-value read: JSON {id, priority}, or (as older nodes wrote) the bare id. */
export function candidateOf(kv: KeyValue): Candidate {
  try {
    const v = JSON.parse(kv.value) as Partial<Candidate>;
    if (v && typeof v === 'object' && typeof v.id === 'string') return { id: v.id, priority: Number.isFinite(v.priority) ? Number(v.priority) : 0 };
  } catch {
    // not JSON: a bare id
  }
  return { id: kv.value, priority: 0 };
}

/** The candidates in the order they lead: highest priority first, then the oldest. */
export function ranked(kvs: KeyValue[]): Array<{ kv: KeyValue; candidate: Candidate }> {
  return kvs
    .map((kv) => ({ kv, candidate: candidateOf(kv) }))
    .sort((a, b) => b.candidate.priority - a.candidate.priority || a.kv.createRevision - b.kv.createRevision);
}
