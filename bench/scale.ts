// npm run bench:scale — how rota scales with the fleet: W workers spread over P `rota node`
// processes (`--workers W/P` each) plus one leader process with no worker, × N items on one etcd
// (fsync on). Per row: the time until every item is claimed after a bulk insert through the client
// library; the time until a worker that joins runs its share; the failover of one worker process
// (SIGKILL: its guard releases its leases); etcd's watch events per item; and the RSS of the
// leader's process and of a worker process. Rows (SCALE_ROWS, default "100x100000,1000x100000").
import fs from 'node:fs';
import os from 'node:os';
import { ConflictError } from '../src/client/errors.js';
import { StoreClient } from '../src/client/store-client.js';
import { Keys } from '../src/engine/keys.js';
import { EtcdStore, type Store } from '../src/store/index.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { waitFor } from '../test/helpers/processes.js';
import { startRota, type RotaProcess } from '../test/helpers/rota-process.js';
import { printTable, round, writeResults } from './lib.js';

const PROCESSES = Number(process.env.SCALE_PROCESSES ?? 10);
const TTL = 5;
const ETCD_NICE = Number(process.env.SCALE_ETCD_NICE ?? -10);
/** How long a phase (join, failover) may take before it is reported as not converged. */
const PHASE_MS = 300_000;
const rows = (process.env.SCALE_ROWS ?? '100x100000,1000x100000').split(',').map((r) => r.split('x').map(Number) as [number, number]);
const keys = new Keys('/work/');

const rssMiB = (pid: number) => Math.round(Number(/VmRSS:\s+(\d+)/.exec(fs.readFileSync(`/proc/${pid}/status`, 'utf8'))?.[1] ?? NaN) / 1024);
const count = async (store: Store, prefix: string) => (await store.range(prefix, { prefix: true, countOnly: true })).count;
const elapsed = (t: number) => round((performance.now() - t) / 1000, 1);

async function etcdCounter(url: string, name: string): Promise<number> {
  const text = await waitFor(async () => (await fetch(`${url}/metrics`, { signal: AbortSignal.timeout(5000) })).text(), 60_000, 'etcd metrics');
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

/**
 * The fleet's claims, followed by one watch (item → worker): the benchmark must not load etcd
 * itself. (It used to read all 100,000 claims twice a second while waiting: 10 MB a read, enough
 * to push a loaded etcd past its keepalive deadlines.)
 */
async function followClaims(store: Store) {
  const owner = new Map<string, string>();
  const first = await store.range(keys.active, { prefix: true, limit: 1 });
  let after: string | undefined;
  for (;;) {
    const r = await store.range(after ? `${after}\0` : keys.active, { end: `${keys.active.slice(0, -1)}0`, limit: 20_000, revision: first.revision });
    for (const kv of r.kvs) owner.set(kv.key, kv.value);
    if (!r.more) break;
    after = r.kvs[r.kvs.length - 1].key;
  }
  const held = new Map<string, number>();
  const add = (w: string | undefined, n: number) => w !== undefined && held.set(w, (held.get(w) ?? 0) + n);
  for (const w of owner.values()) add(w, 1);
  let events = 0;
  const watch = store.watch(keys.active, { prefix: true, fromRevision: first.revision + 1 });
  watch.on('events', (b) => {
    for (const e of b.events) {
      events++;
      add(owner.get(e.kv.key), -1);
      if (e.type === 'put') (owner.set(e.kv.key, e.kv.value), add(e.kv.value, 1));
      else owner.delete(e.kv.key);
    }
  });
  // A watch that fails leaves the figures frozen: say so rather than wait for them.
  let failed: Error | undefined;
  watch.on('error', (err) => (failed = err));
  await watch.ready;
  const check = () => {
    if (failed) throw new Error(`the benchmark's watch of the claims failed: ${failed.message}`);
  };
  return {
    total: () => (check(), owner.size),
    /** How many items `worker` holds. */
    of: (worker: string) => (check(), held.get(worker) ?? 0),
    /** Watch events this follower was sent (etcd counts them too). */
    events: () => events,
    close: () => watch.close(),
  };
}

async function row(workers: number, items: number) {
  const etcd = await startEtcd({ fsync: true });
  // etcd gets the CPU first, as on a machine of its own: on these 2 cores, at equal priority, 1,000
  // workers' processes take the CPU etcd needs to apply writes; etcd 3.4 answers a keepalive only
  // once its applies have caught up, so leases expired and the fleet churned (SCALE_ETCD_NICE=0 shows it).
  os.setPriority(etcd.members[0].child.pid!, ETCD_NICE);
  const url = etcd.endpoints[0];
  // The benchmark's own client waits long: a loaded etcd answering slowly must not end the run.
  const store = new EtcdStore({ endpoints: etcd.endpoints, callTimeoutMs: 60_000, attemptTimeoutMs: 10_000 });
  const procs: RotaProcess[] = [];
  let closeClaims = async () => undefined as unknown;
  const node = (args: string[]) => startRota(['node', '--etcd', url, '--ttl', String(TTL), '--no-api', '--log-level', 'warn', ...args], { expectWorker: false });
  try {
    // SCALE_LEADER_LOG=info shows the leader's rounds (with ROTA_TEST_VERBOSE=1 to print them).
    procs.push(await node(['--no-worker', '--log-level', process.env.SCALE_LEADER_LOG ?? 'warn']));
    const per = Math.ceil(workers / PROCESSES);
    const t0 = performance.now();
    for (let left = workers; left > 0; left -= per) procs.push(await node(['--no-lead', '--workers', String(Math.min(per, left))]));
    await waitFor(async () => (await count(store, keys.workers)) === workers, 300_000, `${workers} workers registered`, 250);
    const startSec = elapsed(t0);

    const claims = await followClaims(store);
    closeClaims = () => claims.close();
    const events0 = await etcdCounter(url, 'etcd_debugging_mvcc_events_total');
    const ownEvents0 = claims.events();
    const client = new StoreClient(store, keys);
    const t1 = performance.now();
    for (let i = 0; i < items; i += 1000) {
      const bulk = Array.from({ length: Math.min(1000, items - i) }, (_, j) => ({ id: `item-${i + j}`, content: `item ${i + j}` }));
      // As a user would: a bulk that timed out is sent again; "already there" means it went in.
      for (let tries = 1; ; tries++) {
        try {
          await client.addWork(bulk);
          break;
        } catch (err) {
          if (err instanceof ConflictError) break;
          if (tries >= 10) throw err;
          console.error(`  bulk at ${i}: ${(err as Error).message}; sending it again`);
        }
      }
    }
    const insertSec = elapsed(t1);
    await waitFor(() => claims.total() === items, 600_000, 'every item claimed', 100);
    const claimedSec = elapsed(t1);
    console.error(`  ${workers} workers × ${items} items: inserted in ${insertSec} s, all claimed ${claimedSec} s after the insert began`);
    // The fleet's watch events, the benchmark's own (its watch of the claims) left out.
    const eventsPerItem = round(((await etcdCounter(url, 'etcd_debugging_mvcc_events_total')) - events0 - (claims.events() - ownEvents0)) / items, 1);
    const rss = { leaderMiB: rssMiB(procs[0].child.pid!), workerProcessMiB: rssMiB(procs[1].child.pid!) };

    // A phase that does not converge is reported as such (with how far it got), not thrown: the
    // table is printed whatever happens.
    const phase = async (what: string, done: () => boolean | Promise<boolean>, progress: () => Promise<string>): Promise<number | string> => {
      const t = performance.now();
      try {
        await waitFor(done, PHASE_MS, what, 100);
        return elapsed(t);
      } catch {
        return `> ${PHASE_MS / 1000} (${await progress()})`;
      }
    };
    const workersNow = async () => {
      try {
        return await count(store, keys.workers);
      } catch {
        return NaN;
      }
    };

    // One more worker joins: its share is about items / (workers + 1).
    const share = Math.floor(items / (workers + 1));
    const joinerId = `joiner-${workers}`;
    const t2 = performance.now();
    procs.push(await node(['--no-lead', '--workers', '1', '--id', joinerId]));
    const joined = await phase('the new worker to run its share', () => claims.of(joinerId) >= share, async () => `it runs ${claims.of(joinerId)} of ${share}`);
    const joinSec = typeof joined === 'number' ? elapsed(t2) : joined;
    console.error(`  the joiner runs its share ${joinSec} s after its process started`);

    // One worker process is SIGKILLed: its guard releases its leases, the rest take its items.
    const victim = procs[1];
    victim.child.kill('SIGKILL');
    const failoverSec = await phase(
      'every item claimed again after the kill',
      async () => claims.total() === items && (await workersNow()) === workers + 1 - per,
      async () => `claims ${claims.total()} of ${items}, workers ${await workersNow()} of ${workers + 1 - per}`,
    );
    console.error(`  ${workers} workers × ${items} items: claimed in ${claimedSec} s, join ${joinSec} s, failover ${failoverSec} s`);
    return { workers, items, processes: PROCESSES, startSec, insertSec, claimedSec, joinSec, failoverSec, eventsPerItem, ...rss };
  } finally {
    await closeClaims();
    await Promise.all(procs.map((p) => p.stop()));
    await store.close();
    await etcd.stop();
  }
}

const results = [];
for (const [w, n] of rows) results.push(await row(w, n));
console.log(`\nscale: W workers over ${PROCESSES} rota node processes (+1 leader process), N items, one etcd with fsync at nice ${ETCD_NICE}, TTL ${TTL} s\n`);
printTable(
  ['workers', 'items', 'workers up s', 'bulk insert s', 'all claimed s (from insert)', 'joiner runs its share s', 'failover of a process s', 'etcd watch events / item', 'leader RSS MiB', 'worker process RSS MiB'],
  results.map((r) => [r.workers, r.items, r.startSec, r.insertSec, r.claimedSec, r.joinSec, r.failoverSec, r.eventsPerItem, r.leaderMiB, r.workerProcessMiB]),
);
const big = results.find((r) => r.workers === 1000);
const small = results.find((r) => r.workers === 100);
if (big && small) console.log(`\ntargets: 1,000 workers claimed within 60 s (${big.claimedSec} s) and within 1.5× the 100-worker row (${round(Number(big.claimedSec) / Number(small.claimedSec))}×); leader RSS ≤ 1 GB at 100,000 items (${big.leaderMiB} MiB)`);
const file = writeResults('scale', { processes: PROCESSES, ttl: TTL, etcdNice: ETCD_NICE, rows: results });
console.log(`\nwritten to ${file}`);
