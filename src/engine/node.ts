// A node: one rota process's share of the fleet — a leader candidate and its local workers.
import { randomUUID } from 'node:crypto';
import type { Store } from '../store/index.js';
import { Agent } from './agent.js';
import { combineHealth, storeTrouble, type Health } from './health.js';
import type { Keys } from './keys.js';
import { Leader } from './leader.js';
import type { Logger } from './log.js';
import type { Processor } from './processors/types.js';
import type { RetentionPolicy } from './retention/policy.js';
import { ConfigFollower } from './fleet/config-follower.js';
import { CacheHolder } from './caches/cache-holder.js';
import { CachePeers } from './caches/cache-peers.js';
import { metrics, observeNode } from './metrics.js';
import type { Placement } from './fleet/placement.js';
import type { ResourceFlags } from './fleet/resources.js';

export interface WorkerSettings {
  /** Makes the processor of one worker (each worker gets its own). */
  processor: () => Promise<Processor> | Processor;
  capacity?: number;
  labels?: Record<string, string>;
  /** The --exec command tasks without a command of their own run with. */
  taskExec?: string;
  /** CPUs and memory to report instead of the machine's (--cpus, --memory). */
  resources?: ResourceFlags;
  /** On a clean stop (not draining), announce a return within this many ms: its services wait for it (fleet/returning.ts). */
  returnWithinMs?: number;
}

export interface RotaNodeOptions {
  store: Store;
  keys: Keys;
  log: Logger;
  /** Lease TTL in seconds for workers and the leader election. */
  ttl: number;
  nodeId?: string;
  /** Take part in leader elections (default true). */
  lead?: boolean;
  /** Settings of the workers this node runs. */
  worker?: WorkerSettings;
  /** This node's API URL, recorded in its workers' records. */
  api?: string;
  /** Arranges for a session's lease to be revoked if this process dies; returns the cancel. */
  releaseOnDeath?: (lease: string) => () => void;
  /** What finished work the leader keeps (default DEFAULT_RETENTION). */
  retention?: RetentionPolicy;
  /** Rank in the leader election (default 0; config/<nodeId> can change it live). */
  priority?: number;
  /** How services share the fleet unless an item says otherwise (default `capacity`). */
  placement?: Placement;
  /** How this node's workers reach other workers' cache copies (the API's, so they answer there). */
  peers?: CachePeers;
}

/** A leader candidate plus local workers, started and stopped together. */
export class RotaNode {
  readonly id: string;
  readonly leader?: Leader;
  readonly agents = new Map<string, Agent>();
  /** Each local worker's cache copies. */
  readonly holders = new Map<string, CacheHolder>();
  private readonly peers: CachePeers;
  private unobserve?: () => void;
  /** config/<nodeId>'s priority, for the leader candidate. */
  private readonly rank?: ConfigFollower;

  constructor(private readonly options: RotaNodeOptions) {
    this.id = options.nodeId ?? randomUUID();
    this.peers = options.peers ?? new CachePeers();
    if (options.lead !== false) {
      const leader = new Leader({ store: options.store, keys: options.keys, nodeId: this.id, log: options.log, ttl: options.ttl, releaseOnDeath: options.releaseOnDeath, retention: options.retention, priority: options.priority, placement: options.placement });
      this.leader = leader;
      this.rank = new ConfigFollower(options.store, options.keys, this.id, { capacity: 1, labels: {}, priority: options.priority }, options.log, (s) => void leader.setPriority(s.priority).catch(() => undefined));
    }
  }

  /**
   * Whether this node can do its job now: its store answers, and every session it needs (each
   * worker's, the leader candidate's) is valid. Reads local state only: it answers at once.
   */
  health(): Health {
    return combineHealth([storeTrouble(this.options.store), this.leader?.health(), ...[...this.agents.values()].map((a) => a.health())]);
  }

  /**
   * Starts `workers` local workers (the first takes the node's id, the others `ids` in turn, then
   * new ones), then the leader candidate: a leader that plans before its node's own workers have
   * registered would give everything to the first and move it again as the others come.
   */
  async start(workers: number, ids: readonly string[] = []): Promise<void> {
    this.unobserve ??= observeNode({
      id: this.id,
      leading: () => this.leader?.isLeader ?? false,
      items: () => this.leader?.itemCounts() ?? [],
      watchLag: () => this.leader?.watchLag(),
      workers: () => [...this.agents].map(([id, a]) => ({ id, healthy: a.health().ok, cacheBytes: this.holders.get(id)?.copies.data.bytesByCache() ?? {} })),
    });
    // The stored priority before the first campaign.
    await this.rank?.start();
    for (let i = 0; i < workers; i++) await this.add(i === 0 ? this.id : ids[i]);
    this.leader?.start();
  }

  /** Starts one more local worker. */
  async add(id: string = randomUUID()): Promise<{ id: string }> {
    const settings = this.options.worker;
    if (!settings) throw new Error('this node runs no workers (--no-worker)');
    const agent = new Agent({
      store: this.options.store,
      keys: this.options.keys,
      workerId: id,
      processor: await settings.processor(),
      log: this.options.log,
      capacity: settings.capacity,
      labels: settings.labels,
      ttl: this.options.ttl,
      api: this.options.api,
      taskExec: settings.taskExec,
      releaseOnDeath: this.options.releaseOnDeath,
      resources: settings.resources,
      priority: this.options.priority,
      returnWithinMs: settings.returnWithinMs,
    });
    this.agents.set(id, agent);
    agent.on('grabbed', () => metrics.claims.inc({ worker: id }));
    agent.on('released', (_item, reason) => metrics.releases.inc({ worker: id, reason }));
    await agent.start();
    const holder = new CacheHolder({ store: this.options.store, keys: this.options.keys, log: this.options.log, workerId: id, peers: this.peers, maxBytes: () => agent.maxMemory, onBytes: (b) => agent.setCacheBytes(b) });
    this.holders.set(id, holder);
    await holder.start();
    return { id };
  }

  /** Stops a local worker: cleanly (its items are released at once) or as a crash (they wait for its lease). */
  async remove(id: string, crash: boolean): Promise<boolean> {
    const agent = this.agents.get(id);
    if (!agent) return false;
    this.agents.delete(id);
    // A crash loses the copies with the worker; a clean stop keeps them until its lease goes (the survivors take over then).
    await this.holders.get(id)?.stop();
    this.holders.delete(id);
    await (crash ? agent.crash() : agent.stop());
    return true;
  }

  /**
   * Stops the leader candidate, then every worker (releasing its items): a leader that went on
   * planning while its own node's workers left would move their items to the last one standing,
   * and away from it again (or, alone, unassign them all before a restart).
   */
  async stop(): Promise<void> {
    await this.rank?.close();
    await this.leader?.stop();
    await Promise.all([...this.agents.keys()].map((id) => this.remove(id, false)));
    this.unobserve?.();
  }
}
