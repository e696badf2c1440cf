// Calls to one worker issued in the same moment travel in one HTTP request (as Redis clients
// pipeline): an HTTP exchange costs far more than a small cache write, so under load a node sends a
// few requests carrying many calls instead of one request each. The body frames the calls: a 4-byte
// length, a JSON array of each call's op, partition, metadata and body length, then the bodies; the
// answer is framed the same way. The members of a batch are answered together, when the last is.
import type { Layer, PeerOp, PeerReply, PeerRequest } from './cache-peers.js';

/** Calls in one batch at most, and bytes of their bodies. */
const MAX_CALLS = 256;
const MAX_BYTES = 4 * 1024 * 1024;

interface Waiting {
  req: PeerRequest;
  timeoutMs: number;
  resolve: (r: PeerReply) => void;
  reject: (e: unknown) => void;
}

/** Sends a framed batch; answers with the framed answers. */
export type BatchPost = (worker: string, api: string, layer: Layer, body: Buffer, timeoutMs: number) => Promise<PeerReply>;

/** Gathers the calls of one moment per worker and sends them as batches. */
export class PeerBatches {
  private readonly queues = new Map<string, { worker: string; api: string; layer: Layer; items: Waiting[] }>();

  constructor(private readonly post: BatchPost) {}

  add(worker: string, api: string, layer: Layer, req: PeerRequest, timeoutMs: number): Promise<PeerReply> {
    const key = `${layer}\0${worker}\0${api}`;
    return new Promise((resolve, reject) => {
      let q = this.queues.get(key);
      if (!q) {
        this.queues.set(key, (q = { worker, api, layer, items: [] }));
        setImmediate(() => this.flush(key));
      }
      q.items.push({ req, timeoutMs, resolve, reject });
    });
  }

  private flush(key: string): void {
    const q = this.queues.get(key)!;
    this.queues.delete(key);
    let batch: Waiting[] = [];
    let bytes = 0;
    for (const item of q.items) {
      const n = item.req.body?.length ?? 0;
      if (batch.length && (batch.length >= MAX_CALLS || bytes + n > MAX_BYTES)) (void this.send(q, batch), (batch = []), (bytes = 0));
      batch.push(item);
      bytes += n;
    }
    if (batch.length) void this.send(q, batch);
  }

  private async send(q: { worker: string; api: string; layer: Layer }, items: Waiting[]): Promise<void> {
    try {
      const body = encodeFrames(items.map(({ req }) => ({ head: { op: req.op, cache: req.cache, id: req.id, meta: req.meta }, body: req.body ?? Buffer.alloc(0) })));
      const r = await this.post(q.worker, q.api, q.layer, body, Math.max(...items.map((i) => i.timeoutMs)));
      // Refused whole (the worker is not there, a bad token): each call gets that answer.
      if (r.status !== 200) return items.forEach((i) => i.resolve({ status: r.status, meta: r.meta, body: Buffer.alloc(0) }));
      const answers = decodeFrames(r.body);
      if (answers.length !== items.length) throw new Error(`a batch of ${items.length} calls got ${answers.length} answers`);
      items.forEach((item, i) => {
        const head = answers[i].head as { status?: unknown; meta?: unknown };
        item.resolve({ status: Number(head.status), meta: (head.meta ?? {}) as Record<string, unknown>, body: answers[i].body });
      });
    } catch (err) {
      items.forEach((i) => i.reject(err));
    }
  }
}

/** One framed entry: JSON-able head and bytes. */
export interface Frame {
  head: unknown;
  body: Buffer;
}

/** Frames entries: [4-byte length of the heads][JSON heads with each body's length][bodies]. */
export function encodeFrames(frames: Frame[]): Buffer {
  const heads = Buffer.from(JSON.stringify(frames.map((f) => ({ ...(f.head as object), length: f.body.length }))));
  const size = Buffer.alloc(4);
  size.writeUInt32BE(heads.length);
  return Buffer.concat([size, heads, ...frames.map((f) => f.body)]);
}

/** Reads framed entries; throws on anything malformed (the bytes come over the network). */
export function decodeFrames(buf: Buffer, maxFrames = 1024): Frame[] {
  if (buf.length < 4) throw new Error('a batch is at least 4 bytes');
  const size = buf.readUInt32BE(0);
  if (4 + size > buf.length) throw new Error('a batch\'s heads run past its end');
  const heads = JSON.parse(buf.subarray(4, 4 + size).toString('utf8')) as unknown;
  if (!Array.isArray(heads) || heads.length > maxFrames) throw new Error(`a batch holds a JSON array of at most ${maxFrames} calls`);
  let at = 4 + size;
  const out = heads.map((head) => {
    const length = (head as { length?: unknown })?.length;
    if (typeof head !== 'object' || head === null || !Number.isSafeInteger(length) || (length as number) < 0 || at + (length as number) > buf.length) throw new Error('a batch entry has no valid length');
    const body = buf.subarray(at, at + (length as number));
    at += length as number;
    return { head, body };
  });
  if (at !== buf.length) throw new Error('a batch has bytes past its last entry');
  return out;
}

/** A batch's calls as requests (each checked by the caller), or why not. */
export function batchCalls(frames: Frame[], ops: readonly PeerOp[]): Array<PeerRequest | string> {
  return frames.map(({ head, body }) => {
    const h = head as { op?: unknown; cache?: unknown; id?: unknown; meta?: unknown };
    if (typeof h.op !== 'string' || !ops.includes(h.op as PeerOp)) return `op ${String(h.op).slice(0, 20)} cannot be batched`;
    if (typeof h.cache !== 'string' || typeof h.id !== 'string') return 'cache and id must be strings';
    if (typeof h.meta !== 'object' || h.meta === null || Array.isArray(h.meta)) return 'meta must be a JSON object';
    return { op: h.op as PeerOp, cache: h.cache, id: h.id, meta: h.meta as Record<string, unknown>, body };
  });
}
