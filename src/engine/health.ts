// Whether a node can do its job right now, and if not, why — for /healthz and for operators. It
// reads state the node already keeps (the store's last answer, its sessions); it never calls the
// store, so it answers at once even while the store hangs.
import type { Store } from '../store/index.js';

/** A node's health: ok, or the reasons it is not. */
export interface Health {
  ok: boolean;
  /** Why not ok, one sentence each (empty when ok). */
  reasons: string[];
}

/** A store that can tell whether it answered lately (the etcd store can; the embedded one is always there). */
interface TellsReachability {
  reachability(): { ok: true } | { ok: false; since: number; message: string };
}

/** Why the store cannot be reached, or undefined when it answered its last call. */
export function storeTrouble(store: Store): string | undefined {
  const probe = (store as Partial<TellsReachability>).reachability;
  if (typeof probe !== 'function') return undefined;
  const r = probe.call(store);
  return r.ok ? undefined : r.message;
}

/** Health from its parts: each part ok, or with a reason. */
export function combineHealth(parts: Array<{ ok: boolean; reason?: string } | string | undefined>): Health {
  const reasons: string[] = [];
  for (const p of parts) {
    if (typeof p === 'string') reasons.push(p);
    else if (p && !p.ok) reasons.push(p.reason ?? 'not ok');
  }
  return { ok: reasons.length === 0, reasons };
}
