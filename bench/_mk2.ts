import { EmbeddedStore } from '../src/store/index.js';
import { StoreClient } from '../src/client/store-client.js';
import { Keys } from '../src/engine/keys.js';
import { RotaNode } from '../src/engine/node.js';
import { logProcessor } from '../src/engine/processors/log-processor.js';
import type { Logger } from '../src/engine/log.js';
const keys = new Keys('/work/');
let seed = 42;
const durations = Array.from({ length: 400 }, () => { seed = (seed * 1103515245 + 12345) % 2 ** 31; return 50 + (seed % 201); });
const events: Array<[number, string, string]> = [];
const mk = (): Logger => ({ info: (m: string, f?: any) => { if (/Running task|Claimed a batch/.test(m)) events.push([performance.now(), m.split(' ')[0] + (m.includes('batch') ? ' batch' : ''), f?.worker ?? '']); }, warn: () => {}, error: () => {}, debug: () => {}, child(o: any) { const p = this; return { ...p, info: (m: string, f?: any) => p.info(m, { ...o, ...f }) } as any; } } as any);
const store = await EmbeddedStore.open({});
const node = new RotaNode({ store, keys, log: mk(), ttl: 5, worker: { processor: () => logProcessor(), capacity: 4 } });
await node.start(4);
const client = new StoreClient(store, keys);
const t0 = performance.now();
const items = await client.addWork(durations.map((d) => ({ content: '', kind: 'task' as const, command: ['sleep', String(d / 1000)] })));
const ids = items.map((i) => i.id);
for (;;) { const r = await store.range(keys.results, { prefix: true, countOnly: true }); if (r.count === 400) break; await new Promise((r) => setTimeout(r, 20)); }
const ms = performance.now() - t0;
const res = (await store.range(keys.results, { prefix: true })).kvs.map((kv) => JSON.parse(kv.value));
const byId = new Map((await store.range(keys.results, { prefix: true })).kvs.map((kv) => [kv.key.slice(keys.results.length), JSON.parse(kv.value)]));
let over = 0; ids.forEach((id, i) => (over += byId.get(id).durationMs - durations[i]));
const busy = res.reduce((a, r) => a + r.durationMs, 0);
console.log('makespan', Math.round(ms), 'ideal', Math.round(durations.reduce((a, b) => a + b, 0) / 16 + Math.max(...durations)), 'mean overhead inside slot ms', (over / 400).toFixed(1), 'slot utilisation', (busy / (ms * 16)).toFixed(3));
const batches = events.filter((e) => e[1].includes('batch'));
console.log('batches claimed', batches.length);
// idle: per worker, gaps when fewer than 4 running
await node.stop(); await store.close();
