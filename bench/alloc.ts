// npm run bench:alloc — the allocation engine with 10,000 items and 10 workers: first full
// assignment, an 11th worker joining (moves vs the minimum), and a worker killed (failover vs TTL).
// On etcd with 10 `rota node` processes, and beside it the embedded store with 10 in-process workers.
import { randomUUID } from 'node:crypto';
import { Keys } from '../src/engine/keys.js';
import { silentLogger } from '../src/engine/log.js';
import { RotaNode } from '../src/engine/node.js';
import { logProcessor } from '../src/engine/processors/log-processor.js';
import { Election } from '../src/recipes/election.js';
import { PrefixView } from '../src/recipes/prefix-view.js';
import { EmbeddedStore, EtcdStore, type Store } from '../src/store/index.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { waitFor } from '../test/helpers/processes.js';
import { startRota, type RotaProcess } from '../test/helpers/rota-process.js';
import { printTable, round, writeResults } from './lib.js';

const ITEMS = Number(process.env.BENCH_ITEMS ?? 10_000);
const WORKERS = Number(process.env.BENCH_WORKERS ?? 10);
const TTL = Number(process.env.BENCH_TTL ?? 5);
const keys = new Keys('/work/');

/** What the scenario needs from a fleet, whatever runs it. */
interface Fleet {
  name: string;
  store: Store;
  addWorker(): Promise<string>;
  killWorker(id: string): Promise<void>;
  close(): Promise<void>;
}

interface Result {
  fleet: string;
  insertSec: number;
  firstFullAssignmentSec: number;
  joinMoves: number;
  joinMinimumMoves: number;
  joinSettledSec: number;
  killedItems: number;
  /** From SIGKILL until the store expired the worker's lease. */
  leaseExpiredSec: number;
  failoverSec: number;
  failoverTtlRatio: number;
}

async function scenario(fleet: Fleet): Promise<Result> {
  const claims = new PrefixView(fleet.store, keys.active);
  await claims.start();
  const owners = () => {
    const m = new Map<string, string>();
    for (const kv of claims.kvs.values()) m.set(kv.key.slice(keys.active.length), kv.value);
    return m;
  };
  const workers: string[] = [];
  for (let i = 0; i < WORKERS; i++) workers.push(await fleet.addWorker());

  const t0 = performance.now();
  for (let i = 0; i < ITEMS; i += 100) {
    await fleet.store.txn({
      success: Array.from({ length: Math.min(100, ITEMS - i) }, (_, j) => ({ type: 'put' as const, key: keys.item(`item-${String(i + j).padStart(6, '0')}`), value: `content ${i + j}` })),
    });
  }
  const inserted = performance.now();
  await waitFor(() => claims.kvs.size === ITEMS, 300_000, 'every item claimed', 50);
  const firstFull = performance.now();

  // An 11th worker joins.
  const before = owners();
  const t1 = performance.now();
  const joiner = await fleet.addWorker();
  const quota = Math.floor(ITEMS / (WORKERS + 1));
  await waitFor(() => [...owners().values()].filter((w) => w === joiner).length >= quota && claims.kvs.size === ITEMS, 120_000, 'the joiner to get its share', 50);
  const joinSettled = performance.now();
  const after = owners();
  const moves = [...after].filter(([id, w]) => before.get(id) !== w).length;
  // The minimum: every item the joiner holds had to move; nothing else did.
  const minimum = [...after.values()].filter((w) => w === joiner).length;

  // One worker (not the leader) is killed.
  const leader = await Election.leader(fleet.store, keys.leader);
  const victim = workers.find((w) => w !== leader)!;
  const orphans = [...after].filter(([, w]) => w === victim).map(([id]) => id);
  let leaseGone = 0;
  const members = fleet.store.watch(keys.worker(victim));
  members.on('events', (b) => b.events.some((e) => e.type === 'delete') && (leaseGone ||= performance.now()));
  await members.ready;
  const t2 = performance.now();
  await fleet.killWorker(victim);
  await waitFor(() => {
    const now = owners();
    return orphans.every((id) => now.has(id) && now.get(id) !== victim);
  }, 120_000, 'the orphans to run elsewhere', 20);
  const failover = performance.now();
  await members.close();
  await claims.close();
  return {
    fleet: fleet.name,
    insertSec: round((inserted - t0) / 1000),
    firstFullAssignmentSec: round((firstFull - t0) / 1000),
    joinMoves: moves,
    joinMinimumMoves: minimum,
    joinSettledSec: round((joinSettled - t1) / 1000),
    killedItems: orphans.length,
    leaseExpiredSec: round((leaseGone - t2) / 1000),
    failoverSec: round((failover - t2) / 1000),
    failoverTtlRatio: round((failover - t2) / 1000 / TTL),
  };
}

async function etcdFleet(): Promise<Fleet> {
  const etcd = await startEtcd({ fsync: true });
  const store = new EtcdStore({ endpoints: etcd.endpoints });
  const procs = new Map<string, RotaProcess>();
  return {
    name: `etcd, ${WORKERS} rota node processes`,
    store,
    addWorker: async () => {
      // Quiet logs (10,000 items): the worker is ready when its record is in etcd.
      const id = randomUUID();
      const p = await startRota(['node', '--etcd', etcd.endpoints[0], '--ttl', String(TTL), '--log-level', 'warn', '--no-api', '--id', id], { expectWorker: false });
      await waitFor(async () => (await store.get(keys.worker(id))) !== null, 20_000, `worker ${id} to register`);
      procs.set(id, p);
      return id;
    },
    killWorker: async (id) => {
      await procs.get(id)!.kill();
      procs.delete(id);
    },
    close: async () => {
      await Promise.all([...procs.values()].map((p) => p.stop()));
      await store.close();
      await etcd.stop();
    },
  };
}

async function embeddedFleet(): Promise<Fleet> {
  const store = await EmbeddedStore.open({});
  const node = new RotaNode({ store, keys, log: silentLogger, ttl: TTL, worker: { processor: () => logProcessor() } });
  await node.start(0);
  return {
    name: `embedded, ${WORKERS} in-process workers`,
    store,
    addWorker: async () => (await node.add()).id,
    killWorker: async (id) => void (await node.remove(id, true)),
    close: async () => {
      await node.stop();
      await store.close();
    },
  };
}

const results: Result[] = [];
for (const make of [etcdFleet, embeddedFleet]) {
  const fleet = await make();
  try {
    console.error(`running: ${fleet.name}`);
    results.push(await scenario(fleet));
  } finally {
    await fleet.close();
  }
}
console.log(`\nallocation benchmark: ${ITEMS} items, ${WORKERS} workers, TTL ${TTL} s\n`);
printTable(
  ['fleet', 'insert s', 'first full assignment s', '11th joins: moves / minimum', 'moved items running s', 'killed worker items', 'lease expired s', 'all running elsewhere s', 'failover ÷ TTL'],
  results.map((r) => [r.fleet, r.insertSec, r.firstFullAssignmentSec, `${r.joinMoves} / ${r.joinMinimumMoves}`, r.joinSettledSec, r.killedItems, r.leaseExpiredSec, r.failoverSec, r.failoverTtlRatio]),
);
const file = writeResults('alloc', { items: ITEMS, workers: WORKERS, ttl: TTL, results });
console.log(`\nwritten to ${file}`);
