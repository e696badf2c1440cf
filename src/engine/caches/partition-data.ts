// The bytes of the cache partitions one worker holds, in its memory and compressed, within its max
// memory. A value is kept as compressed chunks plus a raw tail: writes land in the tail as they
// come, and the tail is compressed into one more chunk once it holds 64 KiB (or a copy is taken);
// gzip members concatenate, so the chunks inflate to the whole value, and a value of many chunks is
// compressed again as one once they outnumber MAX_CHUNKS.
import zlib from 'node:zlib';

/** Compression of stored values (chosen by measurement: see bench/cache.ts). */
export interface Codec {
  name: string;
  compress(data: Buffer): Buffer;
  /** The concatenation of `chunks`, each compressed on its own. */
  decompress(chunks: Buffer[]): Buffer;
}

/** gzip at level 1: several hundred MB/s on this machine, and its members concatenate. */
export const gzipFast: Codec = {
  name: 'gzip-1',
  compress: (data) => zlib.gzipSync(data, { level: 1 }),
  decompress: (chunks) => (chunks.length === 0 ? Buffer.alloc(0) : zlib.gunzipSync(Buffer.concat(chunks))),
};

/** Raised when a write would take the worker past its max memory. */
export class OverBudgetError extends Error {
  constructor(
    readonly neededBytes: number,
    readonly usedBytes: number,
    readonly maxBytes: number,
  ) {
    super(`this worker would hold ${neededBytes + usedBytes} bytes of cache data, over its max memory of ${maxBytes} (${usedBytes} in use, ${neededBytes} more asked); give it more (rota worker set ID --max-memory) or add workers`);
    this.name = 'OverBudgetError';
  }
}

interface Value {
  chunks: Buffer[];
  /** Compressed bytes, all chunks. */
  stored: number;
  /** Bytes written since the last compression, as written (small appends are not compressed one by one). */
  tail: Buffer[];
  tailBytes: number;
  /** Bytes once decompressed, tail included. */
  length: number;
}

/** Appends past this many chunks compress the value again as one. */
const MAX_CHUNKS = 64;
/** The raw tail is compressed into a chunk once it holds this much (gzip costs tens of µs a call, whatever the size). */
const TAIL_BYTES = 64 * 1024;

const empty = (): Value => ({ chunks: [], stored: 0, tail: [], tailBytes: 0, length: 0 });

/** The partitions of every cache one worker holds. */
export class PartitionData {
  private readonly values = new Map<string, Value>();
  private used = 0;

  constructor(
    private readonly codec: Codec = gzipFast,
    /** The most bytes this worker may hold, compressed and raw tails together (undefined: no limit). */
    private readonly maxBytes: () => number | undefined = () => undefined,
    /** Raw bytes a tail gathers before it is compressed. */
    private readonly tailLimit = TAIL_BYTES,
  ) {}

  private static key(cache: string, id: string): string {
    return `${cache}\0${id}`;
  }

  /** Bytes held, all partitions (compressed chunks and raw tails). */
  get usedBytes(): number {
    return this.used;
  }

  has(cache: string, id: string): boolean {
    return this.values.has(PartitionData.key(cache, id));
  }

  /** The value of `id` (empty for an id created without data), or undefined if this worker does not hold it. */
  get(cache: string, id: string): Buffer | undefined {
    const v = this.values.get(PartitionData.key(cache, id));
    if (!v) return undefined;
    return v.tail.length ? Buffer.concat([this.codec.decompress(v.chunks), ...v.tail]) : this.codec.decompress(v.chunks);
  }

  /** Its length once decompressed, or undefined. */
  length(cache: string, id: string): number | undefined {
    return this.values.get(PartitionData.key(cache, id))?.length;
  }

  /** Replaces the value of `id` (creates it). */
  set(cache: string, id: string, data: Buffer): void {
    const key = PartitionData.key(cache, id);
    const old = this.values.get(key);
    const v = empty();
    if (data.length >= this.tailLimit) {
      const chunk = this.codec.compress(data);
      (v.chunks = [chunk]), (v.stored = chunk.length);
    } else if (data.length) (v.tail = [Buffer.from(data)]), (v.tailBytes = data.length);
    v.length = data.length;
    this.reserve(v.stored + v.tailBytes - (old ? old.stored + old.tailBytes : 0));
    this.values.set(key, v);
  }

  /** Appends `data` to the value of `id` (created if absent); returns its new length. */
  append(cache: string, id: string, data: Buffer): number {
    const key = PartitionData.key(cache, id);
    const v = this.values.get(key) ?? empty();
    if (data.length) {
      this.reserve(data.length);
      v.tail.push(Buffer.from(data));
      v.tailBytes += data.length;
      v.length += data.length;
    }
    this.values.set(key, v);
    if (v.tailBytes >= this.tailLimit) this.flush(v);
    if (v.chunks.length > MAX_CHUNKS) this.compact(key, v);
    return v.length;
  }

  /** The compressed chunks of `id` (its tail compressed first; shared, never changed in place: a snapshot), or undefined. */
  raw(cache: string, id: string): { chunks: Buffer[]; length: number } | undefined {
    const v = this.values.get(PartitionData.key(cache, id));
    if (!v) return undefined;
    this.flush(v);
    return { chunks: [...v.chunks], length: v.length };
  }

  /** The value of `id` as it stands, to put back with putBack() (nothing compressed, nothing copied but two arrays). */
  capture(cache: string, id: string): unknown {
    const v = this.values.get(PartitionData.key(cache, id));
    return v && { ...v, chunks: [...v.chunks], tail: [...v.tail] };
  }

  /** Puts back a value capture() took (a write taken back). */
  putBack(cache: string, id: string, captured: unknown): void {
    const key = PartitionData.key(cache, id);
    const now = this.values.get(key);
    const v = captured as Value | undefined;
    this.used += (v ? v.stored + v.tailBytes : 0) - (now ? now.stored + now.tailBytes : 0);
    if (v) this.values.set(key, v);
    else this.values.delete(key);
  }

  /** Replaces `id` with chunks taken from raw() here or on another worker (within the budget). */
  load(cache: string, id: string, chunks: Buffer[], length: number): void {
    const key = PartitionData.key(cache, id);
    const stored = chunks.reduce((n, c) => n + c.length, 0);
    const old = this.values.get(key);
    this.reserve(stored - (old ? old.stored + old.tailBytes : 0));
    this.values.set(key, { ...empty(), chunks: [...chunks], stored, length });
  }

  /** Forgets `id`; returns whether it was held. */
  delete(cache: string, id: string): boolean {
    const key = PartitionData.key(cache, id);
    const v = this.values.get(key);
    if (!v) return false;
    this.used -= v.stored + v.tailBytes;
    return this.values.delete(key);
  }

  /** Forgets every partition of `cache`. */
  deleteCache(cache: string): number {
    let n = 0;
    for (const key of [...this.values.keys()]) if (key.startsWith(`${cache}\0`)) (this.delete(cache, key.slice(cache.length + 1)), n++);
    return n;
  }

  /** Bytes held, by cache. */
  bytesByCache(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, v] of this.values) {
      const cache = key.slice(0, key.indexOf('\0'));
      out[cache] = (out[cache] ?? 0) + v.stored + v.tailBytes;
    }
    return out;
  }

  /** The ids of `cache` this worker holds. */
  ids(cache: string): string[] {
    return [...this.values.keys()].filter((k) => k.startsWith(`${cache}\0`)).map((k) => k.slice(cache.length + 1));
  }

  private reserve(bytes: number): void {
    const max = this.maxBytes();
    if (bytes > 0 && max !== undefined && this.used + bytes > max) throw new OverBudgetError(bytes, this.used, max);
    this.used += bytes;
  }

  /** Compresses the raw tail into a chunk (compressed, it can only be smaller or a few bytes larger). */
  private flush(v: Value): void {
    if (!v.tail.length) return;
    const chunk = this.codec.compress(v.tail.length === 1 ? v.tail[0] : Buffer.concat(v.tail));
    this.used += chunk.length - v.tailBytes;
    v.chunks.push(chunk);
    v.stored += chunk.length;
    (v.tail = []), (v.tailBytes = 0);
  }

  /** Compresses a value of many chunks again as one (its bytes can only shrink). */
  private compact(key: string, v: Value): void {
    const whole = this.codec.compress(this.codec.decompress(v.chunks));
    this.used += whole.length - v.stored;
    this.values.set(key, { ...v, chunks: [whole], stored: whole.length });
  }
}
