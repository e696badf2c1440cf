// The bytes of the cache partitions one worker holds, in its memory and compressed, within its max
// memory. A value is kept as the compressed chunks it was written in: an append compresses only what
// it adds (gzip members concatenate: the chunks inflate to the whole value), and a value of many
// small chunks is compressed again as one once they outnumber MAX_CHUNKS.
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
  /** Bytes once decompressed. */
  length: number;
}

/** Appends past this many chunks compress the value again as one. */
const MAX_CHUNKS = 64;

/** The partitions of every cache one worker holds. */
export class PartitionData {
  private readonly values = new Map<string, Value>();
  private used = 0;

  constructor(
    private readonly codec: Codec = gzipFast,
    /** The most compressed bytes this worker may hold (undefined: no limit). */
    private readonly maxBytes: () => number | undefined = () => undefined,
  ) {}

  private static key(cache: string, id: string): string {
    return `${cache}\0${id}`;
  }

  /** Compressed bytes held, all partitions. */
  get usedBytes(): number {
    return this.used;
  }

  has(cache: string, id: string): boolean {
    return this.values.has(PartitionData.key(cache, id));
  }

  /** The value of `id` (empty for an id created without data), or undefined if this worker does not hold it. */
  get(cache: string, id: string): Buffer | undefined {
    const v = this.values.get(PartitionData.key(cache, id));
    return v && this.codec.decompress(v.chunks);
  }

  /** Its length once decompressed, or undefined. */
  length(cache: string, id: string): number | undefined {
    return this.values.get(PartitionData.key(cache, id))?.length;
  }

  /** Replaces the value of `id` (creates it). */
  set(cache: string, id: string, data: Buffer): void {
    const key = PartitionData.key(cache, id);
    const chunk = data.length ? this.codec.compress(data) : undefined;
    const old = this.values.get(key);
    this.reserve((chunk?.length ?? 0) - (old?.stored ?? 0));
    this.values.set(key, { chunks: chunk ? [chunk] : [], stored: chunk?.length ?? 0, length: data.length });
  }

  /** Appends `data` to the value of `id` (created if absent); returns its new length. */
  append(cache: string, id: string, data: Buffer): number {
    const key = PartitionData.key(cache, id);
    const v = this.values.get(key) ?? { chunks: [], stored: 0, length: 0 };
    if (data.length === 0) return (this.values.set(key, v), v.length);
    const chunk = this.codec.compress(data);
    this.reserve(chunk.length);
    v.chunks.push(chunk);
    v.stored += chunk.length;
    v.length += data.length;
    this.values.set(key, v);
    if (v.chunks.length > MAX_CHUNKS) this.compact(key, v);
    return v.length;
  }

  /** The compressed chunks of `id` (shared, never changed in place: a snapshot), or undefined. */
  raw(cache: string, id: string): { chunks: Buffer[]; length: number } | undefined {
    const v = this.values.get(PartitionData.key(cache, id));
    return v && { chunks: [...v.chunks], length: v.length };
  }

  /** Replaces `id` with chunks taken from raw() here or on another worker (within the budget). */
  load(cache: string, id: string, chunks: Buffer[], length: number): void {
    const key = PartitionData.key(cache, id);
    const stored = chunks.reduce((n, c) => n + c.length, 0);
    this.reserve(stored - (this.values.get(key)?.stored ?? 0));
    this.values.set(key, { chunks: [...chunks], stored, length });
  }

  /** Forgets `id`; returns whether it was held. */
  delete(cache: string, id: string): boolean {
    const key = PartitionData.key(cache, id);
    const v = this.values.get(key);
    if (!v) return false;
    this.used -= v.stored;
    return this.values.delete(key);
  }

  /** Forgets every partition of `cache`. */
  deleteCache(cache: string): number {
    let n = 0;
    for (const key of [...this.values.keys()]) if (key.startsWith(`${cache}\0`)) (this.delete(cache, key.slice(cache.length + 1)), n++);
    return n;
  }

  /** Compressed bytes held, by cache. */
  bytesByCache(): Record<string, number> {
    const out: Record<string, number> = {};
    for (const [key, v] of this.values) {
      const cache = key.slice(0, key.indexOf('\0'));
      out[cache] = (out[cache] ?? 0) + v.stored;
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

  /** Compresses a value of many chunks again as one (its bytes can only shrink). */
  private compact(key: string, v: Value): void {
    const whole = this.codec.compress(this.codec.decompress(v.chunks));
    this.used += whole.length - v.stored;
    this.values.set(key, { chunks: [whole], stored: whole.length, length: v.length });
  }
}
