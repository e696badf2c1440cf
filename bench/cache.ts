// npm run bench:cache — the cache in one run on this machine, against Redis:
// 1. codecs: ratio and MB/s of what node:zlib offers, on record-like values (the choice in the README);
// 2. set/get/append ops/s and p50/p99 with 1 KiB and 64 KiB values from 4 client processes × 8 in
//    flight: Redis (no persistence, ioredis) against rota on etcd with 2 `rota node` processes, one
//    copy of each id (as Redis keeps) and two (the default: acknowledged once both hold it), the
//    library client sending each call to the id's owner;
// 3. migration: a third worker joins a 2-worker cache holding 512 MiB (2 copies): time until its
//    share has moved, MB/s, and what 4 appenders saw meanwhile (longest stall, refused writes).
import { spawn } from 'node:child_process';
import net from 'node:net';
import zlib from 'node:zlib';
import { cache, EtcdStore } from '../src/index.js';
import { startEtcd } from '../test/helpers/etcd.js';
import { freePort, spawnTracked, stopChild, tempDir, waitFor } from '../test/helpers/processes.js';
import { startRota, type RotaProcess } from '../test/helpers/rota-process.js';
import { benchValue } from './cache-values.js';
import { percentiles, printTable, round, writeResults } from './lib.js';

const SECONDS = Number(process.env.BENCH_CACHE_SECONDS ?? 3);
const CLIENTS = 4;
const CONCURRENCY = Number(process.env.BENCH_CACHE_CONCURRENCY ?? 8);
const IDS = 1000;
const MIGRATION_MIB = Number(process.env.BENCH_CACHE_MIB ?? 512);
const MIB = 2 ** 20;

function codecs() {
  const data = Buffer.concat(Array.from({ length: 16 }, (_, i) => benchValue(2 * MIB, i)));
  const rows: Array<{ codec: string; ratio: number; compressMBs: number; decompressMBs: number }> = [];
  const time = (f: () => void, bytes: number) => {
    const t = performance.now();
    f();
    return round(bytes / MIB / ((performance.now() - t) / 1000), 0);
  };
  const cases: Array<[string, (b: Buffer) => Buffer, (b: Buffer) => Buffer, number]> = [
    ['gzip-1 (chosen)', (b) => zlib.gzipSync(b, { level: 1 }), (b) => zlib.gunzipSync(b), data.length],
    ['gzip-6', (b) => zlib.gzipSync(b, { level: 6 }), (b) => zlib.gunzipSync(b), data.length],
    ['brotli-1', (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 1 } }), (b) => zlib.brotliDecompressSync(b), data.length],
    ['brotli-4', (b) => zlib.brotliCompressSync(b, { params: { [zlib.constants.BROTLI_PARAM_QUALITY]: 4 } }), (b) => zlib.brotliDecompressSync(b), data.length],
    // Brotli's default quality (11) on 2 MiB only: it runs at about 1 MB/s.
    ['brotli-11 (default)', (b) => zlib.brotliCompressSync(b), (b) => zlib.brotliDecompressSync(b), 2 * MIB],
  ];
  for (const [codec, compress, decompress, bytes] of cases) {
    const input = data.subarray(0, bytes);
    let packed: Buffer = Buffer.alloc(0);
    const compressMBs = time(() => (packed = compress(input)), bytes);
    rows.push({ codec, ratio: round(bytes / packed.length, 2), compressMBs, decompressMBs: time(() => decompress(packed), bytes) });
  }
  console.log('\n## Codecs (node:zlib, 32 MiB of record-like text; Node 20 has no zstd)\n');
  const table = printTable(['codec', 'ratio', 'compress MB/s', 'decompress MB/s'], rows.map((r) => [r.codec, `${r.ratio}×`, r.compressMBs, r.decompressMBs]));
  return { rows, table };
}

/** Runs the 4 load processes of one phase and merges what they saw. */
async function load(system: 'rota' | 'redis', target: string, name: string, op: string, size: number) {
  const runs = await Promise.all(
    Array.from({ length: CLIENTS }, () => {
      const child = spawn(process.execPath, ['--import', 'tsx', new URL('./cache-load.ts', import.meta.url).pathname, system, target, name, op, String(size), String(SECONDS), String(CONCURRENCY), String(IDS)], { stdio: ['ignore', 'pipe', 'inherit'] });
      let out = '';
      child.stdout.on('data', (c) => (out += c));
      return new Promise<{ ops: number; errors: number; seconds: number; latencies: number[] }>((resolve, reject) => child.on('exit', (code) => (code === 0 ? resolve(JSON.parse(out)) : reject(new Error(`${system} ${op} load exited ${code}`)))));
    }),
  );
  const seconds = Math.max(...runs.map((r) => r.seconds));
  return { opsPerSec: Math.round(runs.reduce((n, r) => n + r.ops, 0) / seconds), errors: runs.reduce((n, r) => n + r.errors, 0), ...percentiles(runs.flatMap((r) => r.latencies)) };
}

async function startRedis() {
  const tmp = tempDir('redis');
  const port = await freePort();
  const child = spawnTracked('redis-server', ['--bind', '127.0.0.1', '--port', String(port), '--save', '', '--appendonly', 'no', '--dir', tmp.dir], { stdio: 'ignore' });
  await waitFor(() => new Promise<boolean>((resolve) => { const s = net.connect(port, '127.0.0.1', () => resolve(s.end() && true)); s.on('error', () => resolve(false)); }), 10_000, 'redis to listen');
  return { port, stop: async () => (await stopChild(child), tmp.remove()) };
}

type Placement = { holders: string[]; next?: string[]; prev?: string[] };

async function main() {
  const codec = codecs();
  const etcd = await startEtcd({ fast: false });
  const store = new EtcdStore({ endpoints: etcd.endpoints });
  const nodes: RotaProcess[] = [];
  const redis = await startRedis();
  const c = await cache({ store });
  const placements = async (name: string) => (await store.range(`/work/caches/${name}/`, { prefix: true })).kvs.map((kv) => JSON.parse(kv.value) as Placement);
  const settledOn = async (name: string, live: string[], copies: number) => {
    const ps = await placements(name);
    const holds = new Map(live.map((w) => [w, 0]));
    for (const p of ps) for (const h of p.holders) holds.set(h, (holds.get(h) ?? 0) + 1);
    return ps.every((p) => p.holders.length === copies && !p.next && !p.prev) && [...holds.values()].every((n) => Math.abs(n - (copies * ps.length) / live.length) < 1);
  };
  try {
    for (const id of ['n1', 'n2']) nodes.push(await startRota(['node', '--etcd', etcd.endpoints[0], '--id', id, '--ttl', '5']));
    const ids = Array.from({ length: IDS }, (_, i) => `id-${i}`);
    await c.init('r1', ids, { replicas: 1 });
    await c.init('r2', ids, { replicas: 2 });
    await waitFor(async () => (await settledOn('r1', ['n1', 'n2'], 1)) && (await settledOn('r2', ['n1', 'n2'], 2)), 30_000, 'the caches placed');

    const opsRows: Array<Record<string, unknown>> = [];
    for (const size of [1024, 64 * 1024]) {
      for (const op of ['set', 'get', 'append']) {
        const r = await load('redis', String(redis.port), 'b', op, size);
        const r1 = await load('rota', etcd.endpoints[0], 'r1', op, size);
        const r2 = await load('rota', etcd.endpoints[0], 'r2', op, size);
        opsRows.push({ op, size, redis: r, rota1: r1, rota2: r2 });
        console.log(`# ${op} ${size / 1024} KiB: redis ${r.opsPerSec}/s, rota ×1 ${r1.opsPerSec}/s, rota ×2 ${r2.opsPerSec}/s`);
      }
    }
    console.log(`\n## Operations: 4 client processes × ${CONCURRENCY} in flight, ${SECONDS} s each, ${IDS} ids; rota on 2 node processes (per node = total / 2); target ≥ 0.5× Redis per node\n`);
    const perNode = (x: { opsPerSec: number }, redisOps: number) => round(x.opsPerSec / 2 / redisOps, 2);
    const opsTable = printTable(
      ['op', 'value', 'Redis ops/s (p50/p99 ms)', 'rota 1 copy ops/s (p50/p99)', 'per node ×Redis', 'rota 2 copies ops/s (p50/p99)', 'per node ×Redis', 'target'],
      opsRows.map((row) => {
        const [r, r1, r2] = [row.redis, row.rota1, row.rota2] as Array<{ opsPerSec: number; p50: number; p99: number; errors: number }>;
        const fmt = (x: typeof r) => `${x.opsPerSec} (${x.p50}/${x.p99})${x.errors ? ` ${x.errors} errors` : ''}`;
        return [String(row.op), `${(row.size as number) / 1024} KiB`, fmt(r), fmt(r1), `${perNode(r1, r.opsPerSec)}×`, fmt(r2), `${perNode(r2, r.opsPerSec)}×`, '≥ 0.5×'];
      }),
    );

    // Migration: the load caches go; a 2-worker cache of MIGRATION_MIB MiB in 1 MiB values; a third worker joins.
    await c.delete('r1');
    await c.delete('r2');
    const migIds = Array.from({ length: MIGRATION_MIB }, (_, i) => `m-${i}`);
    await c.init('mig', migIds, { replicas: 2 });
    await waitFor(() => settledOn('mig', ['n1', 'n2'], 2), 30_000, 'the migration cache placed');
    const loadStart = performance.now();
    let next = 0;
    await Promise.all(Array.from({ length: 8 }, async () => { while (next < migIds.length) { const i = next++; await c.set('mig', migIds[i], benchValue(MIB, i)); } }));
    const loadSeconds = (performance.now() - loadStart) / 1000;
    console.log(`# loaded ${MIGRATION_MIB} MiB (2 copies) in ${round(loadSeconds)} s`);
    const latencies: number[] = [];
    let refused = 0;
    let writing = true;
    const small = benchValue(1024, 7);
    const appenders = Array.from({ length: 4 }, async () => {
      while (writing) {
        const t = performance.now();
        try {
          await c.append('mig', migIds[Math.floor(Math.random() * migIds.length)], small);
          latencies.push(performance.now() - t);
        } catch {
          refused++;
        }
      }
    });
    await new Promise((r) => setTimeout(r, 500));
    const before = latencies.length;
    const t0 = performance.now();
    nodes.push(await startRota(['node', '--etcd', etcd.endpoints[0], '--id', 'n3', '--ttl', '5']));
    await waitFor(() => settledOn('mig', ['n1', 'n2', 'n3'], 2), 600_000, 'the third worker to take its share', 50);
    const seconds = (performance.now() - t0) / 1000;
    writing = false;
    await Promise.all(appenders);
    const during = latencies.slice(before);
    const moved = (await placements('mig')).filter((p) => p.holders.includes('n3')).length;
    const movedMiB = moved; // 1 MiB values (plus the appends, a few KiB each)
    const migration = { cacheMiB: MIGRATION_MIB, copiesMoved: moved, movedMiB, seconds: round(seconds), mbPerSec: round(movedMiB / seconds, 1), wireMbPerSec: round(movedMiB / seconds / (codec.rows[0].ratio || 1), 1), appends: during.length, refused, longestStallMs: round(Math.max(0, ...during)), ...percentiles(during), loadSeconds: round(loadSeconds) };
    console.log(`\n## Migration: a third worker joins a 2-worker cache of ${MIGRATION_MIB} MiB (2 copies); 4 appenders of 1 KiB meanwhile; targets ≥ 100 MB/s, longest write stall < 100 ms\n`);
    const migrationTable = printTable(
      ['copies moved', 'MiB moved', 'seconds', 'MB/s (data)', 'MB/s (on the wire, compressed)', 'appends meanwhile', 'refused', 'p50/p99 ms', 'longest stall ms', 'targets'],
      [[moved, movedMiB, migration.seconds, migration.mbPerSec, migration.wireMbPerSec, during.length, refused, `${migration.p50}/${migration.p99}`, migration.longestStallMs, '≥ 100 MB/s, < 100 ms']],
    );
    const file = writeResults('cache', { codecs: codec.rows, ops: opsRows, migration, tables: [codec.table, opsTable, migrationTable] });
    console.log(`\nwritten to ${file}`);
  } finally {
    await c.close();
    await Promise.all(nodes.map((n) => n.stop()));
    await store.close();
    await etcd.stop();
    await redis.stop();
  }
}


await main();
