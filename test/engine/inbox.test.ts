// Who follows what (DESIGN "Data flow"): a worker reads and watches only its own inbox and the keys
// of items assigned to it — never the registry, the claims or other workers' assignments — so its
// work per change does not grow with the fleet; an item's update reaches its owner and nobody else.
import assert from 'node:assert/strict';
import { it } from 'node:test';
import { Agent } from '../../src/engine/agent.js';
import { Keys } from '../../src/engine/keys.js';
import { Leader } from '../../src/engine/leader.js';
import { silentLogger } from '../../src/engine/log.js';
import type { Processor } from '../../src/engine/processors/types.js';
import { forEachBackend } from '../helpers/backends.js';
import { waitFor } from '../helpers/processes.js';
import { tracedStore, type Trace } from '../helpers/traced-store.js';
import { fresh } from '../store/conformance.js';

const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Every key `trace` touched that a worker following only its own work would not: empty when it is so. */
function strayKeys(keys: Keys, worker: string, trace: Trace): string[] {
  const inbox = keys.inbox(worker);
  // The items this worker was ever assigned: what it saw in its inbox, listed or watched.
  const mine = new Set([...trace.events, ...trace.returned].filter((k) => k.startsWith(inbox)).map((k) => k.slice(inbox.length)));
  const itemSections = [keys.registry, keys.specs, keys.active, keys.results, keys.attempts, keys.status, keys.assign];
  const itemOf = (key: string) => {
    if (key.startsWith(inbox)) return key.slice(inbox.length);
    const section = itemSections.find((s) => key.startsWith(s));
    return section === undefined || section === keys.assign ? undefined : key.slice(section.length).split('/')[0];
  };
  const ok = (key: string, prefix: boolean) => {
    if (key.startsWith(inbox)) return true;
    if (prefix) return key === keys.attempt(itemOf(key) ?? '\0') && mine.has(itemOf(key)!); // a task's own attempts
    if (key === keys.worker(worker) || (key === keys.config(worker) && !prefix)) return true; // its record and its own configuration
    const id = itemOf(key);
    return id !== undefined && mine.has(id);
  };
  return [
    ...trace.reads.filter((r) => !ok(r.key, r.prefix)).map((r) => `read ${r.key}${r.prefix ? ' (prefix)' : ''}`),
    ...trace.watches.filter((w) => !ok(w.key, w.prefix)).map((w) => `watch ${w.key}${w.prefix ? ' (prefix)' : ''}`),
    ...trace.events.filter((k) => !ok(k, false)).map((k) => `event ${k}`),
  ];
}

forEachBackend('workers follow only their own work', (backend) => {
  it('each worker reads and watches only its inbox and its own items; an update reaches its owner alone', async () => {
    const inner = await backend.open();
    const keys = new Keys(fresh());
    const updates: Array<{ worker: string; id: string; content: string }> = [];
    const processor: Processor = {
      start: async () => undefined,
      update: async (item, ctx) => void updates.push({ worker: ctx.workerId, id: item.id, content: item.content }),
      stop: async () => undefined,
    };
    const workers = ['w1', 'w2', 'w3'].map((id) => ({ id, ...tracedStore(inner) }));
    const leader = new Leader({ store: inner, keys, nodeId: 'n', log: silentLogger, ttl: 2, debounceMs: 20 });
    const agents = workers.map((w) => new Agent({ store: w.store, keys, workerId: w.id, processor, log: silentLogger, ttl: 2, relistMs: 300 }));
    leader.start();
    try {
      await Promise.all(agents.map((a) => a.start()));
      for (let i = 0; i < 30; i++) await inner.put(keys.item(`item-${i}`), `content ${i}`);
      const owners = async () => new Map((await inner.range(keys.active, { prefix: true })).kvs.map((kv) => [kv.key.slice(keys.active.length), kv.value]));
      await waitFor(async () => (await owners()).size === 30, 15_000, 'thirty claims');
      await waitFor(() => agents.every((a) => a.items.length === 10), 10_000, 'ten items on each worker');
      await sleep(800); // a few relists and claim checks

      const owner = (await owners()).get('item-7')!;
      const eventsBefore = workers.map((w) => w.trace.events.length);
      await inner.put(keys.item('item-7'), 'new content');
      await waitFor(() => updates.some((u) => u.id === 'item-7'), 5000, 'the update to reach the owner');
      await sleep(300);
      assert.deepEqual(updates, [{ worker: owner, id: 'item-7', content: 'new content' }]);
      workers.forEach((w, i) => {
        if (w.id !== owner) assert.equal(w.trace.events.length, eventsBefore[i], `${w.id} heard of an item it does not run`);
      });

      // Nobody read or watched beyond its own work (the registry, the claims, others' inboxes).
      for (const w of workers) {
        assert.ok(w.trace.watches.some((x) => x.key === keys.inbox(w.id) && x.prefix), `${w.id} follows its inbox`);
        assert.deepEqual(strayKeys(keys, w.id, w.trace), [], `${w.id} touched keys outside its own work`);
      }
    } finally {
      await Promise.all(agents.map((a) => a.stop()));
      await leader.stop();
    }
  });
});
