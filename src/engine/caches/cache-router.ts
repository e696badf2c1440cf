// A client's way to a partition's data: it follows the placements (a CacheDirectory) and sends
// each read or write to the partition's owner, here or over HTTP. Told "moved" or "taking over",
// or finding the owner gone, it waits for the next placement and sends again — a write with the
// same id, so a write that landed before the answer was lost is answered, never applied twice.
import { randomUUID } from 'node:crypto';
import type { CacheDirectory } from './cache-directory.js';
import { PeerUnreachableError, type CachePeers, type PeerOp, type PeerReply } from './cache-peers.js';

/** How long an id with no holder is waited for before the call is refused. */
const NOT_PLACED_MS = 2000;

/** A cache operation refused, with the status and code an HTTP face answers with. */
export class CacheOpError extends Error {
  constructor(
    readonly status: number,
    readonly code: string,
    message: string,
  ) {
    super(message);
    this.name = 'CacheOpError';
  }
}

export interface CacheRouterOptions {
  /** How long an operation may wait for its partition to be served (default 20 s: a lease TTL and a take-over). */
  timeoutMs?: number;
}

/** Reads and writes cache partitions at their owners. */
export class CacheRouter {
  constructor(
    private readonly dir: CacheDirectory,
    private readonly peers: CachePeers,
    private readonly options: CacheRouterOptions = {},
  ) {}

  /** Replaces the value of `id`; resolves with its length once every holder has it. */
  async set(cache: string, id: string, data: Buffer): Promise<number> {
    return Number((await this.send('set', cache, id, data)).meta.length);
  }

  /** Appends to the value of `id`; resolves with the new length once every holder has it. */
  async append(cache: string, id: string, data: Buffer): Promise<number> {
    return Number((await this.send('append', cache, id, data)).meta.length);
  }

  /** The value of `id`, as its owner holds it. */
  async get(cache: string, id: string): Promise<Buffer> {
    return (await this.send('get', cache, id)).body;
  }

  private async send(op: PeerOp, cache: string, id: string, body?: Buffer): Promise<PeerReply> {
    const writeId = randomUUID();
    const timeout = this.options.timeoutMs ?? 20_000;
    const deadline = Date.now() + timeout;
    let why = 'no owner yet';
    for (;;) {
      const placed = await this.dir.lookup(cache, id);
      if (!placed) {
        throw new CacheOpError(404, 'not_found', (await this.dir.cacheExists(cache)) ? `id ${id} of cache ${cache} does not exist; add it with POST /caches {"name": "${cache}", "ids": ["${id}"]}` : `cache ${cache} does not exist; create it with POST /caches`);
      }
      if (!this.dir.ready) await this.dir.followWorkers();
      const { holders, epoch } = placed.placement;
      const owner = holders[0];
      // Not placed: at once when no worker is there to hold it, else after a moment (a new id is placed within ~100 ms).
      if (!owner && (this.dir.workerCount === 0 || Date.now() > deadline - timeout + NOT_PLACED_MS)) {
        throw new CacheOpError(409, 'not_placed', `id ${id} of cache ${cache} is on no worker yet${this.dir.workerCount === 0 ? ': no worker is running (start one: rota node, or rota up with --workers)' : ': the leader has not placed it (is a leader running?)'}`);
      }
      if (owner) {
        try {
          const r = await this.peers.call(owner, this.dir.api(owner), { op, cache, id, meta: { writeId }, body }, Math.max(1000, deadline - Date.now()));
          if (r.status === 200) return r;
          if (r.status === 507 || r.status === 413 || r.status === 400) throw new CacheOpError(r.status, String(r.meta.error ?? 'refused'), String(r.meta.message ?? 'refused'));
          why = `owner ${owner} answered ${r.status} ${String(r.meta.error ?? '')}`.trim();
        } catch (err) {
          if (!(err instanceof PeerUnreachableError)) throw err;
          why = err.message;
        }
      }
      if (Date.now() > deadline) throw new CacheOpError(503, 'unavailable', `id ${id} of cache ${cache} could not be served within ${this.options.timeoutMs ?? 20_000} ms (${why}); try again`);
      await this.dir.changed(cache, id, epoch, 100);
    }
  }
}
