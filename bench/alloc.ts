// npm run bench:alloc — the allocation engine with 10,000 items and 10 workers: first full
// assignment, an 11th worker joining (moves vs the minimum), and failover vs TTL — of a node process
// SIGKILLed (its guard survives it and releases its lease), and of a lost host (node and guard
// killed: the lease must expire). On etcd with 10 `rota node` processes, and beside it the embedded
// store with 10 in-process workers (a crashed worker there is a lost host: nothing releases it).
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { StoreClient } from '../src/client/store-client.js';
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
  /** Kills a worker's process (undefined: this fleet has no such failure), or its whole host. */
  killProcess?: (id: string) => Promise<void>;
  killHost(id: string): Promise<void>;
  close(): Promise<void>;
}

interface Result {
  fleet: string;
  insertSec: number;
  firstFullAssignmentSec: number;
  joinMoves: number;
  joinMinimumMoves: number;
  /** From starting the 11th worker until its record was in the store. */
  joinStartSec: number;
  /** From its record in the store until it ran its share. */
  joinSettledSec: number;
  processKilled?: Failover;
  hostLost: Failover;
}

interface Failover {
  items: number;
  /** From the kill until the worker's lease was gone (released or expired). */
  leaseGoneSec: number;
  /** From the kill until every item it held ran elsewhere. */
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
  // Through the client library, as a user would: bulks of 1,000, each all or nothing.
  const client = new StoreClient(fleet.store, keys);
  for (let i = 0; i < ITEMS; i += 1000) {
    await client.addWork(Array.from({ length: Math.min(1000, ITEMS - i) }, (_, j) => ({ id: `item-${String(i + j).padStart(6, '0')}`, content: `content ${i + j}` })));
  }
  const inserted = performance.now();
  await waitFor(() => claims.kvs.size === ITEMS, 300_000, 'every item claimed', 50);
  const firstFull = performance.now();

  // An 11th worker joins. Its share is timed from when it joined (its record appeared), apart from
  // the time its process took to start and register.
  const before = owners();
  const known = new Set(workers);
  let joinedAt = 0;
  const joins = fleet.store.watch(keys.workers, { prefix: true });
  joins.on('events', (b) => b.events.some((e) => e.type === 'put' && !known.has(e.kv.key.slice(keys.workers.length))) && (joinedAt ||= performance.now()));
  await joins.ready;
  const t1 = performance.now();
  const joiner = await fleet.addWorker();
  const quota = Math.floor(ITEMS / (WORKERS + 1));
  await waitFor(() => [...owners().values()].filter((w) => w === joiner).length >= quota && claims.kvs.size === ITEMS, 120_000, 'the joiner to get its share', 50);
  const joinSettled = performance.now();
  await joins.close();
  const after = owners();
  const moves = [...after].filter(([id, w]) => before.get(id) !== w).length;
  // The minimum: every item the joiner holds had to move; nothing else did.
  const minimum = [...after.values()].filter((w) => w === joiner).length;

  // A worker that is not the leader fails: its node process alone, then (another one) its whole host.
  const leader = await Election.leader(fleet.store, keys.leader);
  const victims = workers.filter((w) => w !== leader);
  const failover = async (victim: string, kill: (id: string) => Promise<void>): Promise<Failover> => {
    const orphans = [...owners()].filter(([, w]) => w === victim).map(([id]) => id);
    let leaseGone = 0;
    const members = fleet.store.watch(keys.worker(victim));
    members.on('events', (b) => b.events.some((e) => e.type === 'delete') && (leaseGone ||= performance.now()));
    await members.ready;
    const t = performance.now();
    await kill(victim);
    await waitFor(() => {
      const now = owners();
      return orphans.every((id) => now.has(id) && now.get(id) !== victim);
    }, 120_000, 'the orphans to run elsewhere', 20);
    const done = performance.now();
    await waitFor(() => leaseGone > 0, 30_000, 'the lease to go');
    await members.close();
    return { items: orphans.length, leaseGoneSec: round((leaseGone - t) / 1000), failoverSec: round((done - t) / 1000), failoverTtlRatio: round((done - t) / 1000 / TTL) };
  };
  const processKilled = fleet.killProcess ? await failover(victims[0], fleet.killProcess) : undefined;
  const hostLost = await failover(victims[1], (id) => fleet.killHost(id));
  await claims.close();
  return {
    fleet: fleet.name,
    insertSec: round((inserted - t0) / 1000),
    firstFullAssignmentSec: round((firstFull - t0) / 1000),
    joinMoves: moves,
    joinMinimumMoves: minimum,
    joinStartSec: round((joinedAt - t1) / 1000),
    joinSettledSec: round((joinSettled - joinedAt) / 1000),
    processKilled,
    hostLost,
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
    killProcess: async (id) => {
      await procs.get(id)!.kill();
      procs.delete(id);
    },
    killHost: async (id) => {
      // The node's children (its guard) die with it, as on a host that lost power.
      const node = procs.get(id)!;
      for (const pid of childrenOf(node.child.pid!)) process.kill(pid, 'SIGKILL');
      await node.kill();
      procs.delete(id);
    },
    close: async () => {
      await Promise.all([...procs.values()].map((p) => p.stop()));
      await store.close();
      await etcd.stop();
    },
  };
}

/** Pids whose parent is `pid` (from /proc). */
function childrenOf(pid: number): number[] {
  return fs.readdirSync('/proc').filter((d) => /^\d+$/.test(d)).filter((d) => {
    try {
      return Number(fs.readFileSync(`/proc/${d}/stat`, 'utf8').replace(/^.*\) /s, '').split(' ')[1]) === pid;
    } catch {
      return false;
    }
  }).map(Number);
}

async function embeddedFleet(): Promise<Fleet> {
  const store = await EmbeddedStore.open({});
  const node = new RotaNode({ store, keys, log: silentLogger, ttl: TTL, worker: { processor: () => logProcessor() } });
  await node.start(0);
  return {
    name: `embedded, ${WORKERS} in-process workers`,
    store,
    addWorker: async () => (await node.add()).id,
    killHost: async (id) => void (await node.remove(id, true)),
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
  ['fleet', 'insert s', 'first full assignment s', '11th joins: moves / minimum', '11th: process start to registered s', 'moved items running s (target ≤ 1 on etcd)'],
  results.map((r) => [r.fleet, r.insertSec, r.firstFullAssignmentSec, `${r.joinMoves} / ${r.joinMinimumMoves}`, r.joinStartSec, r.joinSettledSec]),
);
console.log('');
printTable(
  ['fleet', 'failure', 'items', 'lease gone s', 'all running elsewhere s', 'failover ÷ TTL'],
  results.flatMap((r) => [
    ...(r.processKilled ? [[r.fleet, 'node process SIGKILLed (guard releases)', r.processKilled.items, r.processKilled.leaseGoneSec, r.processKilled.failoverSec, r.processKilled.failoverTtlRatio]] : []),
    [r.fleet, 'host lost: the lease must expire', r.hostLost.items, r.hostLost.leaseGoneSec, r.hostLost.failoverSec, r.hostLost.failoverTtlRatio],
  ]),
);
const file = writeResults('alloc', { items: ITEMS, workers: WORKERS, ttl: TTL, results });
console.log(`\nwritten to ${file}`);
