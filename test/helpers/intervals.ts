// Checks that no item ever ran on two workers at once, from start/stop records.
import assert from 'node:assert/strict';
import fs from 'node:fs';

export interface RunRecord {
  op: 'start' | 'stop';
  id: string;
  worker: string;
  token: number;
  /** Epoch ms. */
  at: number;
  pid?: number;
}

/**
 * An `--exec` command whose children note their start, and their stop when asked (SIGTERM), in
 * $ROTA_RECORD_FILE; ids come from the environment rota gives them.
 */
export const RECORDER = [
  'rec() { printf \'{"op":"%s","id":"%s","worker":"%s","token":%s,"pid":%s,"at":%s}\\n\' "$1" "$ROTA_WORK_ID" "$ROTA_WORKER_ID" "$ROTA_FENCING_TOKEN" $$ $(($(date +%s%N)/1000000)) >> "$ROTA_RECORD_FILE"; }',
  "trap 'rec stop; exit 0' TERM",
  'rec start',
  'while :; do sleep 0.05; done',
].join('\n');

/** Reads JSON-lines records. */
export function readRecords(file: string): RunRecord[] {
  if (!fs.existsSync(file)) return [];
  return fs.readFileSync(file, 'utf8').split('\n').filter(Boolean).map((l) => JSON.parse(l) as RunRecord);
}

/** Per item, every run (start → stop, or → `endOf` when it has no stop) is disjoint from the others. */
export function assertNoOverlap(records: RunRecord[], endOf: (r: RunRecord) => number | undefined = () => undefined): { runs: number } {
  const runs = new Map<string, Array<{ worker: string; token: number; from: number; to: number }>>();
  const open = new Map<string, RunRecord>();
  const key = (r: RunRecord) => `${r.id}\0${r.worker}\0${r.token}`;
  for (const r of [...records].sort((a, b) => a.at - b.at)) {
    if (r.op === 'start') open.set(key(r), r);
    else {
      const s = open.get(key(r));
      if (!s) continue;
      open.delete(key(r));
      runs.set(r.id, [...(runs.get(r.id) ?? []), { worker: s.worker, token: s.token, from: s.at, to: r.at }]);
    }
  }
  for (const s of open.values()) runs.set(s.id, [...(runs.get(s.id) ?? []), { worker: s.worker, token: s.token, from: s.at, to: endOf(s) ?? Infinity }]);
  let total = 0;
  for (const [id, list] of runs) {
    list.sort((a, b) => a.from - b.from);
    total += list.length;
    for (let i = 1; i < list.length; i++) {
      const a = list[i - 1];
      const b = list[i];
      assert.ok(a.to <= b.from, `${id}: ${b.worker} (token ${b.token}) started ${(a.to - b.from).toFixed(1)} ms before ${a.worker} (token ${a.token}) stopped`);
      const sameRun = b.token === a.token && b.worker === a.worker; // a restart under the same claim
      assert.ok(b.token > a.token || sameRun, `${id}: fencing tokens must grow (${a.token} then ${b.token})`);
    }
  }
  return { runs: total };
}
