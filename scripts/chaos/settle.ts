// The end check: once everything is restored, every node must be registered as a worker and every
// item the registry holds must run exactly once — its claim in active/ and one live process set,
// under that claim's fencing token — within TTL + 3 s; and no item that left the registry may
// still run.
import { setTimeout as delay } from 'node:timers/promises';
import type { Sampler } from './sampler.js';
import { claims, registryIds, workerIds, type Claim } from './store-view.js';

/** Why an item does not run exactly once, by kind. */
export type Reason = 'worker not registered' | 'no claim, not running' | 'runs without a claim' | 'claimed, not running' | 'runs more than once' | 'runs under a stale token' | 'deleted, still runs';

/** What is wrong at one instant: item id (or "worker <id>") → the kind of wrong and its details. */
export type Problems = Map<string, { reason: Reason; detail: string }>;

const sameClaims = (a: Map<string, Claim>, b: Map<string, Claim>) => a.size === b.size && [...a].every(([id, c]) => b.get(id)?.token === c.token);
const sameIds = (a: Set<string>, b: Set<string>) => a.size === b.size && [...a].every((id) => b.has(id));

/**
 * Compares the registry and the claims with the processes running. The store is read before and
 * after the processes, and again until both reads agree, so a handover between the reads is not
 * mistaken for a fault.
 */
export async function check(etcdUrl: string, sampler: Sampler, nodes: () => string[]): Promise<{ registry: Set<string>; problems: Problems }> {
  for (let attempt = 0; ; attempt++) {
    const [registry, held, workers] = await Promise.all([registryIds(etcdUrl), claims(etcdUrl), workerIds(etcdUrl)]);
    const { snapshot: running } = await sampler.sample();
    const [registry2, held2] = await Promise.all([registryIds(etcdUrl), claims(etcdUrl)]);
    if (attempt < 10 && !(sameIds(registry, registry2) && sameClaims(held, held2))) continue;
    const problems: Problems = new Map();
    const add = (id: string, reason: Reason, detail: string) => problems.set(id, { reason, detail });
    for (const id of nodes()) if (!workers.has(id)) add(`worker ${id}`, 'worker not registered', 'its node runs');
    for (const id of registry) {
      const claim = held.get(id);
      const runs = running.get(id);
      const tokens = [...(runs?.keys() ?? [])].join(',');
      if (!claim && !runs) add(id, 'no claim, not running', '');
      else if (!claim) add(id, 'runs without a claim', `token ${tokens}`);
      else if (!runs) add(id, 'claimed, not running', `claimed by ${claim.worker}, token ${claim.token}`);
      else if (runs.size > 1) add(id, 'runs more than once', `tokens ${tokens}, claim ${claim.token}`);
      else if (!runs.has(claim.token)) add(id, 'runs under a stale token', `token ${tokens}, claim ${claim.token}`);
    }
    for (const [id, runs] of running) {
      if (!registry.has(id)) add(id, 'deleted, still runs', `token ${[...runs.keys()].join(',')}`);
    }
    return { registry, problems };
  }
}

/** The outcome of waiting for the fleet to settle. */
export interface Settled {
  /** When the fleet first was right (ms after the start), if it was within the watch. */
  settledMs?: number;
  /** Items wrong in every check of the second after the deadline (none if settled in time). */
  persistent: Problems;
  registry: Set<string>;
}

/**
 * Polls until every node (ids from `nodes`) is a registered worker, every registry item runs exactly
 * once and nothing else runs. If that has not happened
 * by `deadlineMs`, the items still wrong throughout the next second are the figure, and it watches
 * on up to `laterMs` to say how late the fleet settles, if it does.
 */
export async function awaitSettled(etcdUrl: string, sampler: Sampler, nodes: () => string[], deadlineMs: number, laterMs: number): Promise<Settled> {
  const t0 = Date.now();
  let persistent: Problems | undefined;
  let registry = new Set<string>();
  for (;;) {
    const elapsed = Date.now() - t0;
    let problems: Problems;
    try {
      ({ registry, problems } = await check(etcdUrl, sampler, nodes));
    } catch (err) {
      problems = new Map([['(store)', { reason: 'claimed, not running', detail: `etcd did not answer: ${(err as Error).message}` }]]);
    }
    if (problems.size === 0) return { settledMs: elapsed, persistent: elapsed <= deadlineMs + 1000 ? new Map() : (persistent ?? new Map()), registry };
    if (elapsed > deadlineMs && elapsed <= deadlineMs + 1000) {
      // Keep only what stays wrong: a handover under way at one instant is not a fault.
      persistent = persistent ? new Map([...persistent].filter(([id]) => problems.has(id))) : problems;
    }
    if (elapsed > laterMs) return { persistent: persistent ?? problems, registry };
    await delay(100);
  }
}

/** How many items are wrong for each reason. */
export function byReason(problems: Problems): Partial<Record<Reason, number>> {
  const out: Partial<Record<Reason, number>> = {};
  for (const { reason } of problems.values()) out[reason] = (out[reason] ?? 0) + 1;
  return out;
}
