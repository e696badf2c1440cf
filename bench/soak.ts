// npm run bench:soak — does etcd's database stay bounded while rota runs tasks for a long time?
// A real etcd with auto-compaction (periodic, SOAK_COMPACTION, default 1m) and its default 2 GiB
// quota; two `rota node` processes with retention (--retain-count SOAK_RETAIN, default 10,000);
// no-op tasks fed as fast as they finish, with a bounded backlog, up to SOAK_TASKS (200,000) or
// SOAK_SECONDS (900). Every 10 s it prints etcd's own figures from /metrics — the database file
// (etcd_mvcc_db_total_size_in_bytes) and the part of it in use (…_in_use_in_bytes) — and rota's
// key counts; at the end it defragments once to show the real footprint, and writes
// bench/results/soak.json.
import fs from 'node:fs';
import path from 'node:path';
import { randomUUID } from 'node:crypto';
import { spawnSync } from 'node:child_process';
import { Keys } from '../src/engine/keys.js';
import { encodeSpec, specOf } from '../src/engine/model.js';
import { EtcdStore } from '../src/store/index.js';
import { freePort, spawnTracked, stopChild, tempDir, waitFor } from '../test/helpers/processes.js';
import { startRota, type RotaProcess } from '../test/helpers/rota-process.js';
import { printTable, round, writeResults } from './lib.js';

const TASKS = Number(process.env.SOAK_TASKS ?? 200_000);
const SECONDS = Number(process.env.SOAK_SECONDS ?? 900);
const RETAIN = Number(process.env.SOAK_RETAIN ?? 10_000);
const COMPACTION = process.env.SOAK_COMPACTION ?? '1m';
const BACKLOG = 4000;
const DRAIN_MS = Number(process.env.SOAK_DRAIN_MS ?? 120_000);
const keys = new Keys('/work/');
const spec = encodeSpec(specOf({ kind: 'task' }))!;

interface Sample {
  seconds: number;
  finished: number;
  tasksPerSec: number;
  dbTotalMiB: number;
  dbInUseMiB: number;
  revision: number;
  keys: { registry: number; results: number; attempts: number; requests: number; all: number };
}

/** etcd with auto-compaction and production fsync; returns its URL and a stop. */
async function startEtcd() {
  const tmp = tempDir('soak-etcd');
  const [client, peer] = [await freePort(), await freePort()];
  const url = `http://127.0.0.1:${client}`;
  const log = fs.openSync(path.join(tmp.dir, 'etcd.log'), 'a');
  const child = spawnTracked('etcd', [
    '--name', 's1', '--data-dir', path.join(tmp.dir, 'data'),
    '--listen-client-urls', url, '--advertise-client-urls', url,
    '--listen-peer-urls', `http://127.0.0.1:${peer}`, '--initial-advertise-peer-urls', `http://127.0.0.1:${peer}`,
    '--initial-cluster', `s1=http://127.0.0.1:${peer}`,
    '--auto-compaction-mode', 'periodic', '--auto-compaction-retention', COMPACTION,
    '--logger', 'zap', '--log-level', 'warn',
  ], { stdio: ['ignore', log, log] });
  fs.closeSync(log);
  await waitFor(async () => (JSON.parse(await (await fetch(`${url}/health`)).text()) as { health: string }).health === 'true', 20_000, 'etcd healthy');
  return { url, stop: async () => (await stopChild(child), tmp.remove()) };
}

async function metric(url: string, name: string): Promise<number> {
  const text = await (await fetch(`${url}/metrics`)).text();
  const line = text.split('\n').find((l) => l.startsWith(`${name} `));
  return line ? Number(line.split(' ')[1]) : NaN;
}

const etcd = await startEtcd();
// Ctrl-C ends the soak cleanly: nodes and etcd stopped, nothing left running.
let interrupted = false;
for (const sig of ['SIGINT', 'SIGTERM'] as const) process.once(sig, () => void (interrupted = true));
const store = new EtcdStore({ endpoints: [etcd.url] });
const nodes: RotaProcess[] = [];
const samples: Sample[] = [];
try {
  for (let i = 0; i < 2; i++) {
    const id = randomUUID();
    nodes.push(await startRota(['node', '--etcd', etcd.url, '--id', id, '--capacity', '50', '--ttl', process.env.SOAK_TTL ?? '30', '--no-api', '--log-level', process.env.SOAK_LOG ?? 'warn', ...(RETAIN >= 0 ? ['--retain-count', String(RETAIN)] : [])], { expectWorker: false }));
    await waitFor(async () => (await store.get(keys.worker(id))) !== null, 20_000, 'worker registration');
  }
  // Finished = submitted − unfinished, and unfinished = items without a result (retention takes an
  // item and its result together). Counted, not watched: a watch that falls behind a compaction ends.
  let finished = 0;
  let submitted = 0;
  const poll = async () => {
    const sent = submitted; // before the read: a batch landing meanwhile only makes this lower
    const r = await store.txn({ success: [keys.registry, keys.results].map((key) => ({ type: 'range' as const, key, prefix: true, countOnly: true })) });
    const [items, results] = r.results.map((x) => (x.type === 'range' ? x.count : 0));
    finished = Math.max(finished, sent - (items - results));
  };
  const poller = setInterval(() => void poll().catch(() => undefined), 250);

  const started = performance.now();
  const elapsed = () => (performance.now() - started) / 1000;
  const count = async (prefix: string) => (await store.range(prefix, { prefix: true, countOnly: true })).count;
  const sample = async () => {
    const [dbTotal, dbInUse, registry, results, attempts, requests, all] = await Promise.all([
      metric(etcd.url, 'etcd_mvcc_db_total_size_in_bytes'),
      metric(etcd.url, 'etcd_mvcc_db_total_size_in_use_in_bytes'),
      count(keys.registry),
      count(keys.results),
      count(keys.attempts),
      count(keys.requests),
      count(keys.prefix),
    ]);
    const revision = (await store.range(keys.prefix, { prefix: true, countOnly: true })).revision;
    const s: Sample = {
      seconds: round(elapsed(), 1),
      finished,
      tasksPerSec: Math.round(finished / Math.max(1, elapsed())),
      dbTotalMiB: round(dbTotal / 2 ** 20, 1),
      dbInUseMiB: round(dbInUse / 2 ** 20, 1),
      revision,
      keys: { registry, results, attempts, requests, all },
    };
    samples.push(s);
    console.log(`${String(s.seconds).padStart(6)} s  finished ${String(finished).padStart(7)}  ${String(s.tasksPerSec).padStart(5)}/s  db ${s.dbTotalMiB} MiB (in use ${s.dbInUseMiB})  rev ${revision}  keys ${all} (results ${results}, attempts ${attempts}, registry ${registry})`);
  };
  const sampler = setInterval(() => void sample().catch((e) => console.error('sample failed:', (e as Error).message)), 10_000);

  // Feed: keep at most BACKLOG tasks waiting, as a steady producer would.
  while (submitted < TASKS && elapsed() < SECONDS && !interrupted) {
    if (submitted - finished >= BACKLOG) {
      await new Promise((r) => setTimeout(r, 20));
      continue;
    }
    const n = Math.min(60, TASKS - submitted);
    const ops = [];
    for (let i = 0; i < n; i++) {
      const id = `s${String(submitted + i).padStart(7, '0')}`;
      ops.push({ type: 'put' as const, key: keys.item(id), value: '' }, { type: 'put' as const, key: keys.spec(id), value: spec });
    }
    await store.txn({ success: ops });
    submitted += n;
  }
  const submitSeconds = elapsed();
  // The last ones; a fleet that stops making progress for DRAIN_MS is reported as such, not waited on.
  let last = finished;
  let lastMove = elapsed();
  while (finished < submitted && elapsed() - lastMove < DRAIN_MS / 1000 && !interrupted) {
    await new Promise((r) => setTimeout(r, 250));
    if (finished > last) [last, lastMove] = [finished, elapsed()];
  }
  const stalled = finished < submitted;
  if (stalled) console.log(`no progress for ${DRAIN_MS / 1000} s with ${submitted - finished} tasks unfinished`);
  const runSeconds = elapsed();
  // Retention catches up with the last results.
  if (RETAIN > 0) await waitFor(async () => (await count(keys.results)) <= RETAIN, 60_000, 'retention to catch up', 500).catch(() => undefined);
  clearInterval(sampler);
  await poll();
  clearInterval(poller);
  await sample();
  const beforeDefrag = samples[samples.length - 1];
  const defrag = spawnSync('etcdctl', ['--endpoints', etcd.url, 'defrag'], { encoding: 'utf8' });
  const afterDefragMiB = round((await metric(etcd.url, 'etcd_mvcc_db_total_size_in_bytes')) / 2 ** 20, 1);

  const rate = finished / runSeconds;
  const nodeExits = nodes.filter((n) => n.child.exitCode !== null || n.child.signalCode !== null).length;
  for (const n of nodes.filter((x) => x.child.exitCode !== null || x.child.signalCode !== null)) {
    console.log(`rota node ${n.id} exited (${n.child.exitCode ?? n.child.signalCode}) during the soak; its last lines:\n${n.lines.slice(-30).join('\n')}`);
  }
  // What a task costs etcd, from its own counters.
  const perTask: Record<string, number> = {};
  for (const m of ['etcd_mvcc_put_total', 'etcd_mvcc_delete_total', 'etcd_mvcc_txn_total', 'etcd_mvcc_range_total']) perTask[m.replace(/^etcd_mvcc_|_total$/g, '')] = round((await metric(etcd.url, m)) / finished, 1);
  console.log('etcd operations per task:', perTask);
  const peak = Math.max(...samples.map((s) => s.dbTotalMiB));
  console.log(`\nsoak: ${finished} no-op tasks in ${round(runSeconds, 1)} s (${Math.round(rate)} tasks/s), 2 rota nodes × 50 slots, retention ${RETAIN} finished tasks, etcd periodic compaction ${COMPACTION}\n`);
  printTable(
    ['finished', 'db total MiB (peak)', 'db total MiB (end)', 'db in use MiB (end)', 'after defrag MiB', 'results kept', 'keys (end)'],
    [[finished, peak, beforeDefrag.dbTotalMiB, beforeDefrag.dbInUseMiB, defrag.status === 0 ? afterDefragMiB : 'defrag failed', beforeDefrag.keys.results, beforeDefrag.keys.all]],
  );
  if (finished < TASKS) console.log(`\nstopped at ${SECONDS} s; at ${Math.round(rate)} tasks/s, ${TASKS} tasks take ${Math.round(TASKS / rate)} s`);
  const file = writeResults('soak', { tasks: finished, target: TASKS, seconds: round(runSeconds, 1), tasksPerSec: Math.round(rate), retainCount: RETAIN, compaction: `periodic ${COMPACTION}`, peakDbMiB: peak, endDbMiB: beforeDefrag.dbTotalMiB, endInUseMiB: beforeDefrag.dbInUseMiB, afterDefragMiB, perTask, stalled, nodeExits, submitSeconds: round(submitSeconds, 1), samples });
  console.log(`\nwritten to ${file}`);
} finally {
  await Promise.all(nodes.map((n) => n.stop()));
  await store.close();
  await etcd.stop();
}
