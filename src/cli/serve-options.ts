// The options `rota up` and `rota node` share, and the checks on them that need no engine: kept
// apart from common.ts so that the CLI loads the server and the engine only for up and node.
import net from 'node:net';
import { Option, type Command } from 'commander';
import type { LogLevel } from '../engine/log.js';

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
export function addServeOptions(cmd: Command, defaultPort: string, store: 'embedded' | 'etcd'): Command {
  // One embedded store holds one pool: --prefix is for etcd, where pools share one cluster.
  const prefix = new Option('--prefix <prefix>', 'key prefix in etcd, so pools can share one cluster').default('/work/');
  return cmd
    .option('--port <port>', 'port of the HTTP API (0 = any free port)', defaultPort)
    .option('--host <address>', 'address the HTTP API listens on', '127.0.0.1')
    .addOption(store === 'etcd' ? prefix : prefix.hideHelp())
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

/** Parses a positive whole number option or exits with a message. */
export function positiveInt(value: string, name: string): number {
  const n = Number(value);
  if (!Number.isInteger(n) || n < 0) throw new Error(`${name} must be a whole number, got "${value}"`);
  return n;
}

