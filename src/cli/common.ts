// What `rota up` and `rota node` share: logging, processors, the API, and shutting down cleanly.
import fs from 'node:fs';
import net from 'node:net';
import type { Command } from 'commander';
import { StoreClient } from '../client/store-client.js';
import type { Keys } from '../engine/keys.js';
import { createLogger, type Logger, type LogLevel } from '../engine/log.js';
import { parseLabels } from '../engine/model.js';
import { parsePlacement, type Placement } from '../engine/fleet/placement.js';
import { parseSize } from '../engine/fleet/worker-config.js';
import type { RotaNode, WorkerSettings } from '../engine/node.js';
import { execProcessor } from '../engine/processors/exec-processor.js';
import { handlerProcessor } from '../engine/processors/handler-processor.js';
import { logProcessor } from '../engine/processors/log-processor.js';
import { parseAge, parseCount, type RetentionPolicy } from '../engine/retention/policy.js';
import { buildServer, type LocalWorkers } from '../server/app.js';
import { CacheDirectory } from '../engine/caches/cache-directory.js';
import { CachePeers } from '../engine/caches/cache-peers.js';
import { CacheRouter } from '../engine/caches/cache-router.js';
import type { HealthCheck } from '../server/routes/health.js';
import type { Store } from '../store/index.js';

/** Options both `up` and `node` take. */
export interface ServeOptions {
  port: string;
  host: string;
  prefix: string;
  ttl: string;
  capacity: string;
  labels?: string;
  exec?: string;
  handler?: string;
  token?: string;
  insecure?: boolean;
  allowHost: string[];
  maxStreams: string;
  /** GET /metrics answers without the token (for scrapers). */
  metricsPublic?: boolean;
  api: boolean;
  logFormat: 'text' | 'json';
  logLevel: LogLevel;
  retainResults: string;
  retainCount: string;
  priority: string;
  placement: string;
  cpus?: string;
  mem?: string;
}

/** Adds the options both `up` and `node` take. */
export function addServeOptions(cmd: Command, defaultPort: string): Command {
  return cmd
    .option('--port <port>', 'port of the HTTP API (0 = any free port)', defaultPort)
    .option('--host <address>', 'address the HTTP API listens on', '127.0.0.1')
    .option('--prefix <prefix>', 'key prefix in the store, so pools can share one etcd', '/work/')
    .option('--ttl <seconds>', 'lease TTL: a dead worker is noticed within this time', '5')
    .option('--capacity <n>', "this worker's share of the load", '1')
    .option('--labels <k=v,...>', 'labels that item selectors match')
    .option('--priority <n>', 'rank in the leader election: the live node with the highest leads (ties: the oldest)', '0')
    .option('--placement <strategy>', 'how services share the fleet unless an item says: capacity, nodes, cpu or memory (the leader\'s counts)', 'capacity')
    .option('--cpus <n>', 'CPUs this worker reports (default: detected)')
    .option('--mem <size>', 'memory this worker reports, e.g. 8GiB (default: detected; fixes the available memory too)')
    .option('--exec <command>', 'run each item as this command (sh -c), item in ROTA_WORK_ID, ROTA_WORK_CONTENT, ROTA_FENCING_TOKEN and stdin')
    .option('--handler <file>', 'run each item with this module: export start/update/stop(item, ctx)')
    .option('--token <token>', 'require Authorization: Bearer <token> on the API (default: $ROTA_TOKEN)')
    .option('--insecure', 'serve the API on a non-loopback --host without a token (anyone who reaches it can run commands here)')
    .option('--allow-host <names>', 'more Host names the API answers to, comma-separated (".example.com": a domain and its subdomains; "*": any); localhost, IP addresses and --host always', (v: string, all: string[]) => [...all, ...v.split(',').map((s) => s.trim()).filter(Boolean)], [] as string[])
    .option('--max-streams <n>', 'most event streams (SSE and WebSocket) the API serves at once', '256')
    .option('--metrics-public', 'serve GET /metrics without the token (for a Prometheus scraper; it shows counts, never content)')
    .option('--no-api', 'serve no HTTP API')
    .option('--log-format <format>', 'text or json', 'text')
    .option('--log-level <level>', 'debug, info, warn or error', 'info')
    .option('--retain-results <age>', 'delete finished tasks and jobs (results, attempts and all) older than this: 7d, 12h, 30m; 0 keeps them', '7d')
    .option('--retain-count <n>', 'keep at most this many finished tasks, newest first (a job counts as its tasks and goes whole); 0 = no limit', '10000')
    .hook('preAction', (_cmd, action) => checkExposure(action.opts() as ServeOptions));
}

/** The retention policy of --retain-results and --retain-count (applied by whichever node leads). */
export function retentionPolicy(opts: ServeOptions): RetentionPolicy {
  return { maxAgeMs: parseAge(opts.retainResults), maxCount: parseCount(opts.retainCount) };
}

/** Whether `host` is a loopback address, reachable from this machine only. */
export function isLoopback(host: string): boolean {
  const h = host.replace(/^\[|\]$/g, '').toLowerCase();
  if (h === 'localhost' || h === '::1') return true;
  const v4 = h.startsWith('::ffff:') ? h.slice(7) : h;
  return net.isIPv4(v4) && v4.startsWith('127.');
}

/**
 * Protected mode (as Redis has it): an API on an address other machines can reach must require a
 * token, because it can start processes; --insecure says the network is trusted. Throws the reason.
 */
export function checkExposure(opts: Pick<ServeOptions, 'api' | 'host' | 'token' | 'insecure'>): void {
  if (!opts.api || isLoopback(opts.host) || opts.token || process.env.ROTA_TOKEN || opts.insecure) return;
  throw new Error(
    `refusing to serve the API on ${opts.host} without a token (protected mode): anyone who can reach that address could run commands on this machine. ` +
      'Give --token <secret> (or ROTA_TOKEN), listen on 127.0.0.1 (the default), or pass --insecure if every machine on that network is trusted.',
  );
}

/** The leader's --priority and --placement. */
export function leaderSettings(opts: ServeOptions): { priority: number; placement: Placement } {
  const priority = Number(opts.priority);
  if (!Number.isInteger(priority)) throw new Error(`--priority must be a whole number, got "${opts.priority}"`);
  return { priority, placement: parsePlacement(opts.placement, '--placement') };
}

/** Parses a positive whole number option or exits with a message. */
export function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got "${value}"`);
  return n;
}

export function loggerFor(opts: ServeOptions): Logger {
  return createLogger({ format: opts.logFormat, level: opts.logLevel });
}

/** Worker settings from --exec / --handler / --capacity / --labels. */
export function workerSettings(opts: ServeOptions): WorkerSettings {
  if (opts.exec && opts.handler) throw new Error('give --exec or --handler, not both');
  if (opts.handler && !fs.existsSync(opts.handler)) throw new Error(`handler file ${opts.handler} does not exist`);
  const exec = opts.exec;
  const handler = opts.handler;
  return {
    processor: () => (exec ? execProcessor(exec) : handler ? handlerProcessor(handler) : logProcessor()),
    taskExec: exec,
    capacity: Math.max(1, positiveInt(opts.capacity, '--capacity')),
    labels: opts.labels ? parseLabels(opts.labels) : {},
    resources: {
      cpus: opts.cpus === undefined ? undefined : Math.max(1, positiveInt(opts.cpus, '--cpus')),
      memory: opts.mem === undefined ? undefined : parseSize(opts.mem, '--mem'),
    },
  };
}

/** Starts the API (unless --no-api); returns its URL. */
export async function startApi(store: Store, keys: Keys, opts: ServeOptions, log: Logger, local?: LocalWorkers, health?: HealthCheck) {
  if (!opts.api) return undefined;
  checkExposure(opts);
  const token = opts.token || process.env.ROTA_TOKEN || undefined;
  if (!token && !isLoopback(opts.host)) log.warn(`--insecure: the API on ${opts.host} needs no token; anyone who reaches it can run commands on this machine`);
  if (opts.allowHost.includes('*')) log.warn('--allow-host *: the API answers to any Host name, so a web page could reach it by DNS rebinding');
  const peers = new CachePeers(token);
  const directory = new CacheDirectory(store, keys);
  await directory.start();
  const app = await buildServer({
    cacheData: { router: new CacheRouter(directory, peers), peers },
    client: new StoreClient(store, keys),
    token,
    local,
    events: { store, keys },
    listenHost: opts.host,
    allowHosts: opts.allowHost,
    maxStreams: Math.max(1, positiveInt(opts.maxStreams, '--max-streams')),
    metricsPublic: opts.metricsPublic,
    // The charts' sampling interval: 5 s; tests shorten it to see points without waiting.
    seriesEveryMs: process.env.ROTA_SERIES_MS ? positiveInt(process.env.ROTA_SERIES_MS, 'ROTA_SERIES_MS') : undefined,
    health,
  });
  app.addHook('onClose', async () => (await directory.close(), peers.close()));
  await app.listen({ port: positiveInt(opts.port, '--port'), host: opts.host });
  const addr = app.server.address();
  const port = typeof addr === 'object' && addr ? addr.port : opts.port;
  const url = `http://${opts.host.includes(':') ? `[${opts.host}]` : opts.host}:${port}`;
  log.info(`API listening on ${url}`);
  return { app, url, peers };
}

/**
 * On SIGINT or SIGTERM: stop the node (releasing its items), the API and the store, then exit.
 * A second signal exits at once: the guard, in a session of its own, sees this process go and
 * stops every child (SIGTERM, SIGKILL 300 ms later, a stop under way included), and only once their
 * process groups are gone revokes the leases. Returns the stop.
 */
export function stopOnSignals(log: Logger, parts: { node: RotaNode; api?: { app: { close(): Promise<unknown> } }; store: Store }): (why: string) => Promise<void> {
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      log.warn(`${signal} again: exiting at once; the guard stops the children (SIGKILL within 300 ms) before releasing the leases`);
      process.exit(1);
    }
    stopping = true;
    log.info(`${signal}: stopping (releasing work, revoking leases)`);
    try {
      await parts.node.stop();
      await parts.api?.app.close();
      await parts.store.close();
      log.info('stopped');
      process.exit(0);
    } catch (err) {
      log.error('could not stop cleanly', { error: (err as Error).message });
      process.exit(1);
    }
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  return stop;
}
