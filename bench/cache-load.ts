// One client process of bench:cache: runs one operation (set, get or append) on random ids of a
// cache for a while, `concurrency` calls in flight, against rota (the library client, which routes
// to each id's owner) or Redis (ioredis), and prints its counts and latencies as one JSON line.
// argv: system (rota|redis) target (etcd endpoint | redis port) cache op size seconds concurrency ids
import { Redis } from 'ioredis';
import { cache, EtcdStore } from '../src/index.js';
import { benchValue } from './cache-values.js';

const [system, target, name, op, sizeArg, secondsArg, concurrencyArg, idsArg] = process.argv.slice(2);
const size = Number(sizeArg);
const ids = Array.from({ length: Number(idsArg) }, (_, i) => `id-${i}`);
const value = benchValue(size, process.pid);

type Ops = { set(id: string): Promise<unknown>; get(id: string): Promise<unknown>; append(id: string): Promise<unknown>; close(): Promise<void> };

async function open(): Promise<Ops> {
  if (system === 'redis') {
    const r = new Redis({ host: '127.0.0.1', port: Number(target), lazyConnect: true, enableAutoPipelining: false });
    await r.connect();
    return { set: (id) => r.set(`${name}:${id}`, value), get: (id) => r.getBuffer(`${name}:${id}`), append: (id) => r.append(`${name}:${id}`, value), close: async () => void r.disconnect() };
  }
  const store = new EtcdStore({ endpoints: [target] });
  const c = await cache({ store });
  return { set: (id) => c.set(name, id, value), get: (id) => c.get(name, id), append: (id) => c.append(name, id, value), close: async () => (await c.close(), await store.close()) };
}

const ops = await open();
const run = ops[op as 'set' | 'get' | 'append'];
const latencies: number[] = [];
let errors = 0;
const until = performance.now() + Number(secondsArg) * 1000;
const started = performance.now();
await Promise.all(
  Array.from({ length: Number(concurrencyArg) }, async () => {
    while (performance.now() < until) {
      const id = ids[Math.floor(Math.random() * ids.length)];
      const t = performance.now();
      try {
        await run(id);
        latencies.push(Math.round((performance.now() - t) * 100) / 100);
      } catch {
        errors++;
      }
    }
  }),
);
const seconds = (performance.now() - started) / 1000;
await ops.close();
process.stdout.write(`${JSON.stringify({ ops: latencies.length, errors, seconds, latencies })}\n`);
