// Peer calls come over the network: their metadata is checked before a copy acts on it (a NaN
// epoch promised, or a made-up worker to copy from, would damage a partition).
import type { PeerRequest } from './cache-peers.js';

/** What is wrong with a peer call's metadata (a hostile or broken caller), if anything. */
export function invalidPeerCall({ op, meta: m }: PeerRequest): string | undefined {
  const whole = (v: unknown) => Number.isSafeInteger(v) && (v as number) >= 0;
  const name = (v: unknown) => typeof v === 'string' && v.length > 0 && v.length <= 128;
  const needs: Record<string, (v: unknown) => boolean> = {};
  if (['write', 'prepare', 'sync', 'ready'].includes(op) || (op === 'snapshot' && m.learner !== undefined)) needs.epoch = whole;
  if (op === 'write') Object.assign(needs, { seq: whole, writeId: name, op: (v: unknown) => v === 'set' || v === 'append' });
  if (op === 'ready' || (op === 'snapshot' && m.learner !== undefined)) needs.learner = name;
  if (op === 'sync') {
    const same = m.same as { synced?: unknown; seq?: unknown } | undefined;
    if (m.from === undefined && (typeof same !== 'object' || same === null || !Number.isSafeInteger(same.synced) || !Number.isSafeInteger(same.seq))) return 'sync needs from (a worker) or same ({synced, seq})';
    if (m.from !== undefined) needs.from = name;
  }
  if ((op === 'set' || op === 'append') && m.writeId !== undefined) needs.writeId = name;
  for (const [field, ok] of Object.entries(needs)) if (!ok(m[field])) return `${op}: ${field} is missing or malformed`;
  return undefined;
}
