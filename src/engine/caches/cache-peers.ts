// How workers reach each other's cache copies: one call shape (an operation on one partition of
// one worker, a little metadata and raw bytes each way), answered in this process when the worker
// lives here and over HTTP to its node's API otherwise (POST /internal/caches/…, the same token).
// Bulk data always travels in answers, so no request body is ever larger than one write.
import http from 'node:http';
import https from 'node:https';
import { PeerBatches } from './peer-batches.js';

/** What a worker's copies answer. */
export type PeerOp = 'write' | 'prepare' | 'sync' | 'snapshot' | 'ready' | 'set' | 'append' | 'get' | 'digest';
export const PEER_OPS: readonly PeerOp[] = ['write', 'prepare', 'sync', 'snapshot', 'ready', 'set', 'append', 'get', 'digest'];

/** An answer: an HTTP status, metadata and bytes. */
export interface PeerReply {
  status: number;
  meta: Record<string, unknown>;
  body: Buffer;
}

/** One call to a worker's copies. */
export interface PeerRequest {
  op: PeerOp;
  cache: string;
  id: string;
  meta: Record<string, unknown>;
  body?: Buffer;
}

/** The side of a worker that answers peer calls. */
export interface PeerHandler {
  handle(req: PeerRequest): Promise<PeerReply>;
}

/** Raised when a worker cannot be reached (no API known, connection refused, timed out). */
export class PeerUnreachableError extends Error {
  constructor(
    readonly worker: string,
    why: string,
  ) {
    super(`cannot reach worker ${worker}: ${why}`);
    this.name = 'PeerUnreachableError';
  }
}

/** Calls that ride together in one request when several go to one worker at once (small and many). */
export const BATCHED_OPS: readonly PeerOp[] = ['set', 'append', 'get', 'write'];
const BATCHED = new Set<PeerOp>(BATCHED_OPS);

/** The header that carries a call's (and an answer's) metadata, as JSON. */
export const META_HEADER = 'x-rota-meta';
const agentOptions = { keepAlive: true, maxSockets: 64 };

/**
 * Calls in three layers, each with connections of its own: a client's call (set, get) may wait on
 * control calls (a forwarded write, a sync), a sync waits on a bulk call (a snapshot), and a bulk
 * call waits on nothing. With one pool, 64 syncs each way, each waiting for a snapshot queued behind
 * the others, deadlocked two nodes; with a pool per layer no wait can come back round.
 */
export type Layer = 'client' | 'control' | 'bulk';
const LAYER: Record<PeerOp, Layer> = { set: 'client', append: 'client', get: 'client', write: 'control', prepare: 'control', sync: 'control', ready: 'control', snapshot: 'bulk', digest: 'bulk' };

/** The workers of this process, and the way to the others. */
export class CachePeers {
  private readonly local = new Map<string, PeerHandler>();
  private readonly agents = {
    http: { client: new http.Agent(agentOptions), control: new http.Agent(agentOptions), bulk: new http.Agent(agentOptions) },
    https: { client: new https.Agent(agentOptions), control: new https.Agent(agentOptions), bulk: new https.Agent(agentOptions) },
  };
  /** The API token, sent to other nodes (every node of a fleet shares it). */
  token?: string;

  constructor(token?: string) {
    this.token = token;
  }

  register(worker: string, handler: PeerHandler): void {
    this.local.set(worker, handler);
  }

  unregister(worker: string, handler: PeerHandler): void {
    if (this.local.get(worker) === handler) this.local.delete(worker);
  }

  /** The handler of a worker of this process (what the HTTP route calls). */
  localHandler(worker: string): PeerHandler | undefined {
    return this.local.get(worker);
  }

  /** Calls worker `worker`, here or at `api`; `timeoutMs` bounds the whole call. */
  async call(worker: string, api: string | undefined, req: PeerRequest, timeoutMs = 10_000): Promise<PeerReply> {
    const here = this.local.get(worker);
    // In this process: answered after pending I/O and timers (a loop of local calls must not starve them).
    if (here) return new Promise<void>((resolve) => setImmediate(resolve)).then(() => here.handle(req));
    if (!api) throw new PeerUnreachableError(worker, 'it serves no API (started with --no-api?)');
    if (BATCHED.has(req.op)) return this.batches.add(worker, api, LAYER[req.op], req, timeoutMs);
    const path = `/internal/caches/${encodeURIComponent(worker)}/${encodeURIComponent(req.cache)}/${encodeURIComponent(req.id)}/${req.op}`;
    return this.post(worker, api, path, LAYER[req.op], req.meta, req.body ?? Buffer.alloc(0), timeoutMs);
  }

  /** Several calls to one worker in one request (see peer-batches.ts). */
  private readonly batches = new PeerBatches((worker, api, layer, body, timeoutMs) => this.post(worker, api, `/internal/caches/${encodeURIComponent(worker)}/batch`, layer, {}, body, timeoutMs));

  private post(worker: string, api: string, path: string, layer: Layer, meta: Record<string, unknown>, body: Buffer, timeoutMs: number): Promise<PeerReply> {
    const url = new URL(path, api);
    const headers: http.OutgoingHttpHeaders = { 'content-type': 'application/octet-stream', 'content-length': body.length, [META_HEADER]: JSON.stringify(meta) };
    if (this.token) headers.authorization = `Bearer ${this.token}`;
    const lib = url.protocol === 'https:' ? https : http;
    return new Promise((resolve, reject) => {
      const agent = this.agents[url.protocol === 'https:' ? 'https' : 'http'][layer];
      const r = lib.request(url, { method: 'POST', headers, agent, timeout: timeoutMs }, (res) => {
        const parts: Buffer[] = [];
        res.on('data', (c: Buffer) => parts.push(c));
        res.on('error', (err) => reject(new PeerUnreachableError(worker, err.message)));
        res.on('end', () => {
          const raw = res.headers[META_HEADER];
          let meta: Record<string, unknown> = {};
          try {
            meta = typeof raw === 'string' ? (JSON.parse(raw) as Record<string, unknown>) : {};
          } catch {
            meta = {};
          }
          const data = Buffer.concat(parts);
          // An error from the API itself (auth, a 404 from an old node) comes as a JSON body.
          if (res.statusCode! >= 400 && !raw) {
            try {
              meta = JSON.parse(data.toString()) as Record<string, unknown>;
            } catch {
              meta = { message: data.toString().slice(0, 200) };
            }
          }
          resolve({ status: res.statusCode ?? 0, meta, body: data });
        });
      });
      r.on('timeout', () => r.destroy(new Error(`no answer within ${timeoutMs} ms`)));
      r.on('error', (err) => reject(new PeerUnreachableError(worker, err.message)));
      r.end(body);
    });
  }

  /** Closes idle connections. */
  close(): void {
    for (const kind of Object.values(this.agents)) for (const agent of Object.values(kind)) agent.destroy();
  }
}

/** An answer with metadata only. */
export function reply(status: number, meta: Record<string, unknown> = {}, body: Buffer = Buffer.alloc(0)): PeerReply {
  return { status, meta, body };
}
