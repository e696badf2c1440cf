// shoveling's shuffle, as a check: writers append numbered records to random cache ids while the
// fleet changes under them; at the end every acknowledged record is in its id exactly once, each
// writer's records in the order it wrote them, nothing there that no writer sent, and every holder's
// copy of each id is the same bytes as its owner's.
import assert from 'node:assert/strict';
import { createHash } from 'node:crypto';

/** What the writers did: per id, the records acknowledged; the records whose fate is unknown (an error came back). */
export interface ShuffleLog {
  acked: Map<string, string[]>;
  unknown: Set<string>;
  appends: number;
  errors: string[];
}

/** Starts `writers` loops appending `w<k>.<n>;` to random ids until stop() is called. */
export function startWriters(writers: number, ids: string[], append: (id: string, record: string) => Promise<unknown>): { log: ShuffleLog; stop: () => Promise<ShuffleLog> } {
  const log: ShuffleLog = { acked: new Map(ids.map((id) => [id, []])), unknown: new Set(), appends: 0, errors: [] };
  let stopped = false;
  const loops = Array.from({ length: writers }, async (_, k) => {
    for (let n = 0; !stopped; n++) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      const record = `w${k}.${n};`;
      try {
        await append(id, record);
        log.acked.get(id)!.push(record);
        log.appends++;
      } catch (err) {
        log.unknown.add(record);
        if (log.errors.length < 10) log.errors.push((err as Error).message);
      }
    }
  });
  return { log, stop: async () => ((stopped = true), await Promise.all(loops), log) };
}

/** Checks one id's value against what the writers were told. */
export function checkValue(id: string, value: string, log: ShuffleLog): void {
  const found = value.split(';').filter(Boolean).map((r) => `${r};`);
  const acked = log.acked.get(id) ?? [];
  const seen = new Set<string>();
  const last = new Map<string, number>();
  for (const r of found) {
    assert.ok(!seen.has(r), `${id}: record ${r} appears twice`);
    seen.add(r);
    assert.ok(acked.includes(r) || log.unknown.has(r), `${id}: record ${r} was never written to it`);
    const [, w, n] = /^w(\d+)\.(\d+);$/.exec(r)!;
    assert.ok((last.get(w) ?? -1) < Number(n), `${id}: writer ${w}'s records out of order (${r} after ${last.get(w)})`);
    last.set(w, Number(n));
  }
  for (const r of acked) assert.ok(seen.has(r), `${id}: acknowledged record ${r} is missing`);
}

export const sha256 = (b: Buffer) => createHash('sha256').update(b).digest('hex');

/** A placement as stored. */
export type StoredPlacement = { holders: string[]; epoch: number; next?: string[]; prev?: string[] };

/** Whether every placement is settled on `live`: `copies` holders each, all live, nothing moving, each worker within one of its share. */
export function settled(placements: StoredPlacement[], live: string[], copies: number): boolean {
  const holds = new Map(live.map((w) => [w, 0]));
  for (const p of placements) for (const h of p.holders) holds.set(h, (holds.get(h) ?? 0) + 1);
  const share = (copies * placements.length) / live.length;
  return placements.every((p) => p.holders.length === copies && p.holders.every((h) => live.includes(h)) && !p.next && !p.prev) && [...holds.values()].every((n) => Math.abs(n - share) < 1);
}
