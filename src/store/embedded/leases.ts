// The embedded store's leases: TTL bookkeeping and the keys bound to each lease. In memory only:
// a lease never outlives the process that granted it, and neither do its keys.
import { InvalidRequestError, LeaseNotFoundError } from '../errors.js';
import type { LeaseIndex } from './mvcc.js';

interface Lease {
  ttl: number;
  expiresAt: number;
  keys: Set<string>;
}

/** Leases by id, with their deadlines and keys. */
export class LeaseTable implements LeaseIndex {
  private readonly leases = new Map<string, Lease>();
  private next: bigint;

  constructor(seed: number) {
    // Ids look like etcd's: positive int64, unique across restarts of one data dir.
    this.next = (BigInt(seed) << 20n) + 1n;
  }

  has(id: string): boolean {
    return this.leases.has(id);
  }

  attach(id: string, key: string): void {
    this.leases.get(id)?.keys.add(key);
  }

  detach(id: string, key: string): void {
    this.leases.get(id)?.keys.delete(key);
  }

  grant(ttl: number, now: number): string {
    if (!Number.isInteger(ttl) || ttl <= 0) throw new InvalidRequestError(`lease TTL must be a positive whole number of seconds, got ${ttl}`);
    const id = String(this.next++);
    this.leases.set(id, { ttl, expiresAt: now + ttl * 1000, keys: new Set() });
    return id;
  }

  keepAlive(id: string, now: number): number {
    const lease = this.live(id, now);
    lease.expiresAt = now + lease.ttl * 1000;
    return lease.ttl;
  }

  /** Forgets the lease and returns the keys that must be deleted with it. */
  remove(id: string): string[] {
    const lease = this.leases.get(id);
    if (!lease) throw new LeaseNotFoundError(id);
    this.leases.delete(id);
    return [...lease.keys];
  }

  timeToLive(id: string, now: number): { ttl: number; grantedTtl: number; keys: string[] } | null {
    const lease = this.leases.get(id);
    if (!lease || lease.expiresAt <= now) return null;
    return { ttl: Math.ceil((lease.expiresAt - now) / 1000), grantedTtl: lease.ttl, keys: [...lease.keys] };
  }

  /** Ids of leases whose deadline has passed. */
  expired(now: number): string[] {
    const out: string[] = [];
    for (const [id, lease] of this.leases) if (lease.expiresAt <= now) out.push(id);
    return out;
  }

  private live(id: string, now: number): Lease {
    const lease = this.leases.get(id);
    if (!lease || lease.expiresAt <= now) throw new LeaseNotFoundError(id);
    return lease;
  }
}
