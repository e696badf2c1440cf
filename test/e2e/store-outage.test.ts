// The fleet comes back by itself after etcd is frozen (SIGSTOP) or stopped and restarted for longer
// than the TTL: every worker re-registers and every item runs again, once, within TTL + 3 s of
// etcd answering again, and /healthz says not ok while etcd is away.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { scrape, sumOf } from '../helpers/prometheus.js';
import { useEtcdFleet, type EtcdFleet } from '../helpers/fleet.js';
import { assertNoOverlap, readRecords, RECORDER } from '../helpers/intervals.js';
import { isRunning, tempDir, waitFor } from '../helpers/processes.js';
import { api, startRota, type RotaProcess } from '../helpers/rota-process.js';

const TTL = 2;
const ITEMS = 6;
const sleep = (ms: number) => new Promise((r) => setTimeout(r, ms));

/** Per item, the pids of its children that run now (from the recorder's start records). */
function liveChildren(record: string): Map<string, Array<{ pid: number; token: number; worker: string }>> {
  const live = new Map<string, Array<{ pid: number; token: number; worker: string }>>();
  for (const r of readRecords(record)) {
    if (r.op !== 'start' || !isRunning(r.pid!)) continue;
    live.set(r.id, [...(live.get(r.id) ?? []), { pid: r.pid!, token: r.token, worker: r.worker }]);
  }
  return live;
}

/**
 * Whether the fleet is whole: each node's worker record is there on a live lease, every item is
 * claimed by one of them, and exactly one child per item runs, under that claim. Else why not.
 */
async function whole(fleet: EtcdFleet, nodes: RotaProcess[], record: string): Promise<string | true> {
  const workers = new Map((await fleet.store.range('/work/workers/', { prefix: true })).kvs.map((kv) => [kv.key.slice('/work/workers/'.length), kv]));
  const missing = nodes.filter((n) => !workers.has(n.id));
  if (missing.length) return `workers not registered: ${missing.map((n) => n.id).join(', ')}`;
  const claims = await fleet.claims();
  if (claims.size !== ITEMS) return `${claims.size} claims`;
  const live = liveChildren(record);
  for (const [id, claim] of claims) {
    if (claim.lease !== workers.get(claim.value)?.lease) return `the claim of ${id} is on a lease other than its worker's record`;
    const children = live.get(id) ?? [];
    if (children.length !== 1) return `${children.length} children of ${id} run`;
    if (children[0].token !== claim.createRevision) return `the child of ${id} runs under token ${children[0].token}, the claim is ${claim.createRevision}`;
  }
  return true;
}

describe('store outage: the fleet comes back by itself', { timeout: process.env.ROTA_OUTAGES ? 3_600_000 : 180_000 }, () => {
  const fleet = useEtcdFleet();
  const { nodes } = fleet;
  const tmp = tempDir('outage');
  const record = path.join(tmp.dir, 'runs.jsonl');
  after(() => tmp.remove());
  /** When each child was last seen alive (for children SIGKILLed before they could note their stop). */
  const diedAt = new Map<number, number>();
  let poll: NodeJS.Timeout | undefined;
  after(() => clearInterval(poll));

  it('starts two nodes with six items', async () => {
    for (let i = 0; i < 2; i++) {
      nodes.push(await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--ttl', String(TTL), '--exec', RECORDER], { env: { ROTA_RECORD_FILE: record } }));
    }
    for (let i = 0; i < ITEMS; i++) await api(nodes[0].api!, 'POST', '/work', `item ${i}`);
    await waitFor(async () => (await whole(fleet, nodes, record)) === true, 15_000, 'six items running');
    poll = setInterval(() => {
      for (const r of readRecords(record)) if (r.op === 'start' && !diedAt.has(r.pid!) && !isRunning(r.pid!)) diedAt.set(r.pid!, Date.now());
    }, 20);
  });

  // ROTA_OUTAGES=freeze:60000,restart:30000 measures other outages (the figures in the README).
  const outages: Array<{ kind: 'freeze' | 'restart'; ms: number }> = process.env.ROTA_OUTAGES
    ? process.env.ROTA_OUTAGES.split(',').map((o) => ({ kind: o.split(':')[0] as 'freeze' | 'restart', ms: Number(o.split(':')[1]) }))
    : [
        { kind: 'freeze', ms: 5000 },
        { kind: 'restart', ms: 5000 },
        { kind: 'freeze', ms: 1000 },
        { kind: 'restart', ms: 1000 },
      ];
  for (const { kind, ms } of outages) {
    it(`etcd ${kind === 'freeze' ? 'frozen (SIGSTOP)' : 'stopped (SIGTERM) and restarted'} for ${ms / 1000} s: back within TTL + 3 s`, async () => {
      const member = fleet.etcd.members[0];
      const health = nodes[0].api!;
      if (kind === 'freeze') member.child.kill('SIGSTOP');
      else await member.stop();
      const downAt = Date.now();
      // /healthz tells the truth while etcd is away (once the node has noticed).
      let seen: unknown;
      const sick = await waitFor(async () => {
        const res = await fetch(`${health}/healthz`, { signal: AbortSignal.timeout(1000) });
        seen = await res.json();
        return res.status === 503 && (seen as { reasons: string[] }).reasons.some((r) => r.includes('cannot reach etcd')) ? (seen as { ok: boolean; reasons: string[] }) : undefined;
      }, ms - 300, 'healthz to answer 503, naming etcd', 100).catch((err: Error) => new Error(`${err.message}; last answer ${JSON.stringify(seen)}`));
      await sleep(Math.max(0, downAt + ms - Date.now()));
      if (kind === 'freeze') member.child.kill('SIGCONT');
      else await member.restart();
      const backAt = Date.now();
      let why: string | true = '';
      await waitFor(async () => (why = await whole(fleet, nodes, record)) === true, 30_000, 'the fleet to be whole again').catch((err: Error) => {
        throw new Error(`${err.message} (${why})`);
      });
      const took = Date.now() - backAt;
      console.log(`# etcd ${kind} for ${ms} ms: every item claimed and running ${took} ms after etcd answered again`);
      assert.ok(took <= (TTL + 3) * 1000, `the fleet was whole ${took} ms after etcd came back (limit ${(TTL + 3) * 1000} ms)`);
      if (ms > TTL * 1000) {
        assert.ok(!(sick instanceof Error), `healthz during the outage: ${sick instanceof Error ? sick.message : ''}`);
        assert.equal(sick.ok, false);
        assert.ok(sick.reasons.some((r) => r.startsWith(`cannot reach etcd at ${fleet.etcd.endpoints[0]}`)), `reasons: ${JSON.stringify(sick.reasons)}`);
      }
      await waitFor(async () => (await fetch(`${health}/healthz`)).status === 200, 5000, 'healthz 200 again');
      for (const n of nodes) assert.equal(n.child.exitCode, null, `node ${n.id} is still running`);
    });
  }

  it('says so in /metrics: workers fenced themselves, every item runs one child under the guard', async () => {
    const scraped = await Promise.all(nodes.map((n) => scrape(n.api!)));
    const fenced = scraped.reduce((n, m) => n + sumOf(m, 'rota_self_fencings_total'), 0);
    if (outages.some((o) => o.ms > TTL * 1000)) assert.ok(fenced >= 1, `self-fencings: ${fenced}`);
    assert.equal(scraped.reduce((n, m) => n + sumOf(m, 'rota_guarded_children'), 0), ITEMS);
    // Counted by whichever node leads, from its planner: a term begun in the last outage counts once it has planned.
    const running = async () => (await Promise.all(nodes.map((n) => scrape(n.api!)))).reduce((n, m) => n + sumOf(m, 'rota_items', 'kind="service",state="running"'), 0);
    await waitFor(async () => (await running()) === ITEMS, 10_000, 'the leader to count them running');
  });

  it('never ran an item twice at once', async () => {
    await sleep(500);
    const { runs } = assertNoOverlap(readRecords(record), (r) => diedAt.get(r.pid!));
    assert.ok(runs >= ITEMS * (1 + outages.filter((o) => o.ms > TTL * 1000).length), `runs recorded: ${runs}`);
  });
});
