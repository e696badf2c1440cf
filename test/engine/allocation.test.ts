// Leader and agents in one process, on both backends: spread, rebalance, failover, update, delete.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Agent } from '../../src/engine/agent.js';
import { Keys } from '../../src/engine/keys.js';
import { Leader } from '../../src/engine/leader.js';
import { silentLogger } from '../../src/engine/log.js';
import type { Processor } from '../../src/engine/processors/types.js';
import type { Store } from '../../src/store/index.js';
import { forEachBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/processes.js';
import { fresh } from '../store/conformance.js';

interface Call {
  op: 'start' | 'update' | 'stop';
  worker: string;
  id: string;
  content: string;
  token: number;
  at: number;
}

/** A processor that writes down every call it gets. */
function recorder(calls: Call[]): Processor {
  const note = (op: Call['op']) => async (item: { id: string; content: string }, ctx: { workerId: string; fencingToken: number }) => {
    calls.push({ op, worker: ctx.workerId, id: item.id, content: item.content, token: ctx.fencingToken, at: performance.timeOrigin + performance.now() });
  };
  return { start: note('start'), update: note('update'), stop: note('stop') };
}

async function claims(store: Store, keys: Keys): Promise<Map<string, string>> {
  const r = await store.range(keys.active, { prefix: true });
  return new Map(r.kvs.map((kv) => [kv.key.slice(keys.active.length), kv.value]));
}

function loadsOf(owners: Map<string, string>): number[] {
  const n = new Map<string, number>();
  for (const w of owners.values()) n.set(w, (n.get(w) ?? 0) + 1);
  return [...n.values()].sort();
}

forEachBackend('allocation engine', (backend) => {
  it('spreads items, rebalances when workers join, fails over, updates and deletes', async () => {
    const store = await backend.open();
    const keys = new Keys(fresh());
    const calls: Call[] = [];
    const leader = new Leader({ store, keys, nodeId: 'node-a', log: silentLogger, ttl: 2, debounceMs: 20 });
    const agent = (id: string) => new Agent({ store, keys, workerId: id, processor: recorder(calls), log: silentLogger, ttl: 2 });
    const agents = [agent('w1')];
    leader.start();
    try {
      await agents[0].start();
      for (const [i, content] of ['testing=one', 'testing=two', 'testing=three', 'testing=four'].entries()) {
        await store.put(keys.item(`item-${i}`), content);
      }
      await waitFor(async () => (await claims(store, keys)).size === 4, 10_000, 'four claims');
      assert.deepEqual(loadsOf(await claims(store, keys)), [4]);

      agents.push(agent('w2'), agent('w3'));
      await Promise.all(agents.slice(1).map((a) => a.start()));
      await waitFor(async () => loadsOf(await claims(store, keys)).join() === '1,1,2', 10_000, 'loads 2/1/1');
      await waitFor(() => agents.reduce((n, a) => n + a.items.length, 0) === 4, 5000, 'four running processors');

      // A crashed worker's items are claimed elsewhere within TTL + 1 s.
      const victim = agents.find((a) => a.items.length === 1)!;
      const orphan = victim.items[0];
      const crashedAt = Date.now();
      await victim.crash();
      await waitFor(async () => {
        const c = await claims(store, keys);
        return c.get(orphan) !== undefined && c.get(orphan) !== victim.id;
      }, 10_000, 'the orphan to be claimed elsewhere');
      const took = Date.now() - crashedAt;
      assert.ok(took <= 3000, `failover took ${took} ms with TTL 2 s`);
      const survivors = agents.filter((a) => a !== victim);

      // An update reaches the owner's processor.
      const owner = (await claims(store, keys)).get('item-1')!;
      await store.put(keys.item('item-1'), 'testing=twotwo');
      await waitFor(() => calls.some((c) => c.op === 'update' && c.id === 'item-1' && c.content === 'testing=twotwo' && c.worker === owner), 5000, 'the update');

      // A delete stops it and the rest stays balanced.
      await store.delete(keys.item('item-1'));
      await waitFor(() => calls.some((c) => c.op === 'stop' && c.id === 'item-1'), 5000, 'the stop');
      await waitFor(async () => loadsOf(await claims(store, keys)).join() === '1,2', 10_000, 'loads 2/1 after the delete');
      assert.equal((await claims(store, keys)).has('item-1'), false);

      // Never two processors on one item at once.
      assertNoOverlap(calls);
      await Promise.all(survivors.map((a) => a.stop()));
      assert.equal((await claims(store, keys)).size, 0, 'a clean stop releases every claim at once');
    } finally {
      for (const a of agents) await a.stop();
      await leader.stop();
    }
  });
}, { timeout: 90_000 });

/** For each item, start..stop intervals of different workers never overlap. */
export function assertNoOverlap(calls: Call[]): void {
  const open = new Map<string, Call>();
  for (const c of [...calls].sort((a, b) => a.at - b.at)) {
    const key = c.id;
    if (c.op === 'start') {
      const other = open.get(key);
      assert.ok(!other || other.worker === c.worker, `${c.id} started on ${c.worker} (token ${c.token}) while ${other?.worker} (token ${other?.token}) ran it`);
      open.set(key, c);
    } else if (c.op === 'stop' && open.get(key)?.worker === c.worker) {
      open.delete(key);
    }
  }
}
