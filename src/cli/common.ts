// What `rota up` and `rota node` share: logging, processors, the API, and shutting down cleanly.
import fs from 'node:fs';
import { StoreClient } from '../client/store-client.js';
import type { Keys } from '../engine/keys.js';
import { createLogger, type Logger } from '../engine/log.js';
import { checkExposure, isLoopback, positiveInt, type ServeOptions } from './serve-options.js';
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

/** The retention policy of --retain-results and --retain-count (applied by whichever node leads). */
export function retentionPolicy(opts: ServeOptions): RetentionPolicy {
  return { maxAgeMs: parseAge(opts.retainResults), maxCount: parseCount(opts.retainCount) };
}

/** The leader's --priority and --placement. */
export function leaderSettings(opts: ServeOptions): { priority: number; placement: Placement } {
  const priority = Number(opts.priority);
  if (!Number.isInteger(priority)) throw new Error(`--priority must be a whole number, got "${opts.priority}"`);
  return { priority, placement: parsePlacement(opts.placement, '--placement') };
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
export async function startApi(store: Store, keys: Keys, opts: ServeOptions, log: Logger, about: { store: string; local?: LocalWorkers; health?: HealthCheck }) {
  const { local, health } = about;
  if (!opts.api) return undefined;
  checkExposure(opts);
  const token = opts.token || process.env.ROTA_TOKEN || undefined;
  if (!token && !isLoopback(opts.host)) log.warn(`--insecure: the API on ${opts.host} needs no token; anyone who reaches it can run commands on this machine`);
  if (opts.allowHost.includes('*')) log.warn('--allow-host *: the API answers to any Host name, so a web page could reach it by DNS rebinding');
  const peers = new CachePeers(token);
  const directory = new CacheDirectory(store, keys);
  // Not awaited: with etcd not up yet the API answers meanwhile (lookups read the store until the view has loaded).
  void directory.start().catch((err: Error) => log.warn('could not follow the cache placements', { error: err.message }));
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
    storeName: about.store,
  });
  app.addHook('onClose', async () => (await directory.close(), peers.close()));
  try {
    await app.listen({ port: positiveInt(opts.port, '--port'), host: opts.host });
  } catch (err) {
    await app.close().catch(() => undefined);
    const code = (err as NodeJS.ErrnoException).code;
    if (code === 'EADDRINUSE') throw new Error(`port ${opts.port} on ${opts.host} is taken (another rota, or another program): choose another with --port (rota up --port 3001; with npm: npm start -- --port 3001), or --port 0 for any free one`);
    if (code === 'EADDRNOTAVAIL') throw new Error(`${opts.host} is not an address of this machine: give --host one of its addresses (or 0.0.0.0 for all, with --token)`);
    if (code === 'EACCES') throw new Error(`port ${opts.port} needs privileges on this machine: choose one above 1023 with --port`);
    throw err;
  }
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
