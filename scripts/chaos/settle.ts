// The end check: once everything is restored, every item the registry holds must run exactly once
// — its claim in active/ and one live process set, under that claim's fencing token — within
// TTL + 3 s; and no item that left the registry may still run.
import { setTimeout as delay } from 'node:timers/promises';
import type { Sampler } from './sampler.js';
import { claims, registryIds } from './store-view.js';

/** What is wrong with the fleet at one instant: item id → why it does not run exactly once. */
export type Problems = Map<string, string>;

/** Compares the store's registry and claims with the processes running now. */
export async function check(etcdUrl: string, sampler: Sampler): Promise<{ registry: Set<string>; problems: Problems; stray: Problems }> {
  const registry = await registryIds(etcdUrl);
  const held = await claims(etcdUrl);
  const { snapshot: running } = await sampler.sample();
  const problems: Problems = new Map();
  for (const id of registry) {
    const claim = held.get(id);
    const runs = running.get(id);
    if (!claim) problems.set(id, runs ? `runs (token ${[...runs.keys()].join(',')}) with no claim` : 'no claim, not running');
    else if (!runs) problems.set(id, `claimed by ${claim.worker} (token ${claim.token}) but not running`);
    else if (runs.size > 1) problems.set(id, `runs under ${runs.size} tokens: ${[...runs.keys()].join(',')}`);
    else if (!runs.has(claim.token)) problems.set(id, `runs under token ${[...runs.keys()][0]}, its claim is token ${claim.token}`);
  }
  const stray: Problems = new Map();
  for (const [id, runs] of running) {
    if (!registry.has(id)) stray.set(id, `deleted, still runs (token ${[...runs.keys()].join(',')})`);
  }
  return { registry, problems, stray };
}

/** The outcome of waiting for the fleet to settle. */
export interface Settled {
  /** Items not running exactly once at the deadline. */
  unclaimed: Problems;
  /** Items out of the registry still running at the deadline. */
  stray: Problems;
  /** When the fleet first was right (ms after the start), if it was within `laterMs`. */
  settledMs?: number;
  registry: Set<string>;
}

/**
 * Polls until every registry item runs exactly once and nothing else runs. The figures are taken
 * at `deadlineMs`; it keeps watching up to `laterMs` to say how late a fleet settles, if it does.
 */
export async function awaitSettled(etcdUrl: string, sampler: Sampler, deadlineMs: number, laterMs: number): Promise<Settled> {
  const t0 = Date.now();
  let atDeadline: Settled | undefined;
  let last: Awaited<ReturnType<typeof check>> | undefined;
  for (;;) {
    const elapsed = Date.now() - t0;
    try {
      last = await check(etcdUrl, sampler);
    } catch (err) {
      // etcd not answering counts against the fleet: keep the last view.
      last ??= { registry: new Set(), problems: new Map([['(store)', (err as Error).message]]), stray: new Map() };
    }
    const right = last.problems.size === 0 && last.stray.size === 0;
    if (right && elapsed <= deadlineMs) return { unclaimed: new Map(), stray: new Map(), settledMs: elapsed, registry: last.registry };
    if (!atDeadline && elapsed > deadlineMs) atDeadline = { unclaimed: last.problems, stray: last.stray, registry: last.registry };
    if (atDeadline && (right || elapsed > laterMs)) return { ...atDeadline, settledMs: right ? elapsed : undefined };
    await delay(100);
  }
}
