// npm run chaos -- [--seconds N] [--nodes K] [--seed S] [--ttl T] [--keep]
// A black-box chaos run of rota on a real etcd: K `rota node --exec` processes, item churn through
// the HTTP API, and faults chosen from the seed (nodes, guards and process groups killed, nodes
// frozen past their TTL or terminated, etcd stopped and started again, one node's network to etcd
// cut), while a sampler reading /proc counts double runs. Then every fault is undone and the fleet
// must run every item exactly once within TTL + 3 s, lose no acknowledged item, and leave no
// process behind once stopped. Prints one JSON line of figures; exits 1 on any violation, 2 when
// the runner itself could not run.
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { setTimeout as delay } from 'node:timers/promises';
import { fileURLToPath } from 'node:url';
import { parseArgs } from 'node:util';
import { TcpProxy } from '../../test/helpers/tcp-proxy.js';
import { Churn } from './churn.js';
import { EtcdServer } from './etcd.js';
import { FAULT_KINDS, Faults } from './faults.js';
import { NodeSlot } from './nodes.js';
import { newSeed, Random } from './random.js';
import { violations, type Figures } from './report.js';
import { itemsOf, Sampler } from './sampler.js';
import { awaitSettled, byReason } from './settle.js';
import { registryIds } from './store-view.js';
import { killEverything, stopEverything } from './teardown.js';

const { values: args } = parseArgs({
  options: {
    seconds: { type: 'string', default: '60' },
    nodes: { type: 'string', default: '3' },
    seed: { type: 'string' },
    ttl: { type: 'string', default: '2' },
    run: { type: 'string' },
    keep: { type: 'boolean', default: false },
  },
});
const seconds = Number(args.seconds);
const K = Number(args.nodes);
const ttl = Number(args.ttl);
const seed = args.seed !== undefined ? Number(args.seed) >>> 0 : newSeed();
if (!(seconds > 0) || !Number.isInteger(K) || K < 2 || !(ttl >= 2)) {
  console.error('usage: chaos [--seconds N>0] [--nodes K>=2] [--seed S] [--ttl T>=2] [--run ID] [--keep]');
  process.exit(2);
}
/** Tags every process of this run (ROTA_CHAOS_RUN), so only they are counted and cleaned up. */
const tag = args.run ?? `chaos-${randomBytes(4).toString('hex')}`;
const here = path.dirname(fileURLToPath(import.meta.url));
const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'rota-chaos-'));
const t0 = Date.now();
const log = (line: string) => process.stderr.write(`[chaos ${((Date.now() - t0) / 1000).toFixed(1).padStart(6)}s] ${line}\n`);

const slots: NodeSlot[] = [];
let etcd: EtcdServer | undefined;
let done = false;
const cleanup = () => {
  if (done) return;
  done = true;
  killEverything(tag, slots, etcd);
  // The logs may be kept to read; etcd's data never (it can reach hundreds of MB).
  fs.rmSync(args.keep ? path.join(dir, 'etcd-data') : dir, { recursive: true, force: true });
};
process.on('exit', cleanup);
for (const sig of ['SIGINT', 'SIGTERM', 'SIGHUP'] as const) {
  process.on(sig, () => {
    log(`${sig}: killing every process of the run`);
    cleanup();
    process.exit(130);
  });
}

async function main(): Promise<Figures> {
  log(`run ${tag}: seed ${seed}, ${K} nodes, TTL ${ttl} s, ${seconds} s of faults; files in ${dir}`);
  const random = new Random(seed);
  // One stream per actor, so one actor's timing does not change another's choices.
  const [faultRandom, churnRandom, nodeRandom] = [random.int(0, 2 ** 32 - 1), random.int(0, 2 ** 32 - 1), random.int(0, 2 ** 32 - 1)].map((s) => new Random(s));
  const problems: string[] = [];
  etcd = await EtcdServer.start(dir, tag);
  const proxy = await TcpProxy.start(etcd.port);
  const announceLog = path.join(dir, 'announce.log');
  fs.writeFileSync(announceLog, '');
  const config = { tag, announceLog, itemScript: path.join(here, 'item.sh'), ttl, logDir: dir, random: nodeRandom };
  const etcdUrl = etcd.url;
  for (let i = 0; i < K; i++) slots.push(new NodeSlot(i, () => (i === 0 ? proxy.url : etcdUrl), config));
  const sampler = new Sampler(tag);
  const ready = await Promise.all(slots.map((s) => s.start()));
  if (ready.includes(false)) throw new Error(`a node did not start; see ${dir}/node-*.log`);
  log(`${K} nodes up (slot 0 through a proxy at ${proxy.url})`);

  const churn = new Churn(churnRandom, () => slots, { min: 2 * K, max: 6 * K }, tag);
  const seeded = 4 * K;
  await Promise.race([churn.seed(seeded), delay(60_000).then(() => Promise.reject(new Error('could not add the first items within 60 s')))]);
  const nodeIds = () => slots.filter((s) => s.pid !== undefined).map((s) => s.id);
  const baseline = await awaitSettled(etcdUrl, sampler, nodeIds, 30_000, 30_000);
  if (baseline.settledMs === undefined) problems.push(`before any fault, the items did not all run within 30 s: ${JSON.stringify(byReason(baseline.persistent))}`);
  log(`${seeded} items run; faults and churn for ${seconds} s`);

  const faults = new Faults({ etcd, proxy, slots, ttl, random: faultRandom, log });
  const chaosEnd = Date.now() + seconds * 1000;
  let churnOps = 0;
  const churning = (async () => {
    while (Date.now() < chaosEnd) {
      if (churn.step()) churnOps++;
      await delay(churnRandom.int(150, 1000));
    }
  })();
  await faults.run(seconds * 1000);
  await churning;

  log('faults over: restoring everything');
  await faults.heal();
  await churn.drain();
  if (!etcd.running) await etcd.start();
  const back = await Promise.all(slots.map((s) => s.ready(60_000)));
  if (back.includes(false)) problems.push(`${back.filter((b) => !b).length} nodes did not answer within 60 s of the end of the faults`);
  log(`restored; every item must run exactly once within ${ttl + 3} s`);
  const deadlineMs = (ttl + 3) * 1000;
  const settled = await awaitSettled(etcdUrl, sampler, nodeIds, deadlineMs, 20_000);
  const count = (reason: string) => [...settled.persistent.values()].filter((p) => p.reason === reason).length;
  const stray = count('deleted, still runs');
  const unregistered = count('worker not registered');
  log(settled.settledMs !== undefined ? `settled after ${settled.settledMs} ms` : 'never settled');
  const registry = await registryIds(etcdUrl).catch(() => settled.registry);
  const lost = churn.acked().filter((id) => !registry.has(id));

  log('stopping every node and etcd');
  const leftovers = await stopEverything(tag, slots, etcd, proxy, 15_000);
  const sampled = await sampler.stop();
  problems.push(...faults.problems);

  const missingFaults = FAULT_KINDS.filter((k) => faults.counts[k] === 0);
  const figures: Omit<Figures, 'violations'> = {
    run: tag,
    seconds,
    seed,
    nodes: K,
    ttl,
    faults: { ...faults.counts, churn: churnOps },
    missingFaults,
    samples: sampled.samples,
    maxSampleGapMs: Math.round(sampled.maxGapMs),
    maxSampleListMs: Math.round(sampled.maxListMs),
    runsSeen: sampled.runsSeen.size,
    itemStarts: fs.readFileSync(announceLog, 'utf8').split('\n').filter(Boolean).length,
    doubleRunSamples: sampled.doubleRunSamples,
    doubleRunItems: itemsOf(sampled.doubleRuns),
    doubleRunPairs: sampled.doubleRuns.size,
    doubleRuns: [...sampled.doubleRuns].slice(0, 5).map(([k, v]) => `${k}: ${v}`),
    orphans: leftovers.orphans.length,
    orphanList: leftovers.orphans.slice(0, 10),
    unregistered,
    unclaimed: settled.persistent.size - stray - unregistered,
    stray,
    endReasons: byReason(settled.persistent),
    endProblems: [...settled.persistent].slice(0, 10).map(([id, p]) => `${id}: ${p.reason}${p.detail ? ` (${p.detail})` : ''}`),
    lost: lost.length,
    lostList: lost.slice(0, 10),
    settledMs: settled.settledMs ?? null,
    settleDeadlineMs: deadlineMs,
    items: {
      seeded,
      added: churn.figures.added - seeded,
      updated: churn.figures.updated,
      deleted: churn.figures.deleted,
      inRegistry: registry.size,
      failedCalls: churn.figures.failedCalls,
      largest: churn.figures.largest,
      oddAnswers: churn.figures.oddAnswers.slice(0, 10),
    },
    nodeStarts: slots.reduce((n, s) => n + s.starts, 0),
    portRaces: slots.reduce((n, s) => n + s.portRaces, 0),
    nodeCrashes: slots.flatMap((s) => s.crashes),
    nodesKilledAtEnd: leftovers.killedAtEnd,
    problems,
  };
  return { ...figures, violations: violations(figures) };
}

let code = 2;
try {
  const figures = await main();
  console.log(JSON.stringify(figures));
  code = figures.violations.length > 0 ? 1 : 0;
  for (const v of figures.violations) log(`VIOLATION ${v}`);
  if (code !== 0) args.keep = true;
} catch (err) {
  log(`the runner failed: ${(err as Error).stack ?? err}`);
  console.log(JSON.stringify({ run: tag, seed, error: (err as Error).message }));
  args.keep = true;
} finally {
  cleanup();
  if (args.keep) log(`logs kept in ${dir}`);
}
process.exit(code);
