// What a cache is in the store: caches/<name> holds its spec (replicas, strategy); each of its ids
// is a partition, caches/<name>/<id>, holding where it lives — its holders, owner first — and the
// epoch of that ownership, bumped at each switch (every write names the epoch it was routed by;
// a stale one is refused and the client re-routes). The bytes live on the workers, never here.
import { z } from 'zod';
import { PLACEMENTS, type Placement } from '../fleet/placement.js';
import { checkLimit, ValidationError } from '../input-limits.js';
import { checkId, describeIssues } from '../model.js';

/** A cache's spec, as stored. */
export interface CacheSpec {
  name: string;
  /** Copies of each partition, owner included (default 2 on a fleet of two or more). */
  replicas: number;
  strategy: Placement;
  createdAt: string;
}

/** Where one partition lives. */
export interface PartitionPlacement {
  /** Owner first, then replicas: every write is acknowledged only once all of them hold it. */
  holders: string[];
  /** Bumped at each change of the holders: the fence every write and copy names. */
  epoch: number;
  /** The holders the leader wants next: those not yet holding copy from the owner, which switches once they have caught up. */
  next?: string[];
  /** Holders of earlier epochs the owner has not yet brought in line: they keep their copies until it has. */
  prev?: string[];
}

/** A cache to create, or ids to add to one (JSON body of POST /caches). */
export const cacheCreateSchema = z
  .object({
    name: z.string(),
    ids: z.array(z.string()).default([]),
    strategy: z.enum(PLACEMENTS as [Placement, ...Placement[]]).optional(),
    replicas: z.number().int().min(1).max(8).optional(),
  })
  .strict();

/** POST /caches: create a cache or add ids to one. */
export type CacheCreate = z.infer<typeof cacheCreateSchema>;

/** Validates POST /caches, naming the field (and the position of a bad id); ids up to the bulk limit (1,000) a request. */
export function parseCacheCreate(body: unknown): CacheCreate {
  const r = cacheCreateSchema.safeParse(body);
  if (!r.success) throw new ValidationError(describeIssues(r.error, cacheCreateSchema));
  checkId(r.data.name, 'cache name');
  checkLimit('bulkItems', r.data.ids.length, 'ids in one request');
  const seen = new Set<string>();
  r.data.ids.forEach((id, i) => {
    try {
      checkId(id, 'cache id');
    } catch (err) {
      throw new ValidationError(`ids[${i}]: ${(err as Error).message}`);
    }
    if (seen.has(id)) throw new ValidationError(`ids[${i}]: "${id}" appears twice in this request`);
    seen.add(id);
  });
  return r.data;
}

/** A stored placement (damaged: none). */
export function decodePlacement(value: string | undefined): PartitionPlacement | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value) as Partial<PartitionPlacement>;
    const names = (x: unknown): x is string[] => Array.isArray(x) && x.every((h) => typeof h === 'string');
    if (!names(v.holders) || !Number.isSafeInteger(v.epoch)) return undefined;
    const p: PartitionPlacement = { holders: v.holders, epoch: v.epoch! };
    if (names(v.next)) p.next = v.next;
    if (names(v.prev) && v.prev.length) p.prev = v.prev;
    return p;
  } catch {
    return undefined;
  }
}

/** A stored cache spec (damaged: none). */
export function decodeCacheSpec(value: string | undefined): CacheSpec | undefined {
  if (!value) return undefined;
  try {
    const v = JSON.parse(value) as Partial<CacheSpec>;
    if (typeof v.name !== 'string' || !Number.isSafeInteger(v.replicas) || !(PLACEMENTS as readonly string[]).includes(v.strategy ?? '')) return undefined;
    return { name: v.name, replicas: v.replicas!, strategy: v.strategy!, createdAt: String(v.createdAt ?? '') };
  } catch {
    return undefined;
  }
}
