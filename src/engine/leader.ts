// The leader: elected among nodes, it plans assignments from the stored state and writes them in
// batched transactions that each carry a compare on its election key, so a deposed leader's late
// writes fail. It replans on worker and registry changes (debounced) and on a periodic reconcile;
// a new leader simply picks up from what is stored.
import { EventEmitter } from 'node:events';
import { Election, SteppedDownError } from '../recipes/election.js';
import { openSession, type Session } from '../recipes/session.js';
import { sleep, systemClock, type Clock, type Store } from '../store/index.js';
import type { Keys } from './keys.js';
import { LeaderTerm, type PlanSummary } from './leader-term.js';
import type { ItemCount } from './leader-metrics.js';
import type { Logger } from './log.js';
import type { RetentionPolicy } from './retention/policy.js';
import type { Placement } from './fleet/placement.js';

export type { PlanSummary };

export interface LeaderOptions {
  store: Store;
  keys: Keys;
  nodeId: string;
  log: Logger;
  ttl?: number;
  clock?: Clock;
  /** Rounds start at least this far apart (ms, default 2; more when planning or writing costs more). */
  debounceMs?: number;
  /** Full re-read of the stored state and replan, every this many ms. */
  reconcileMs?: number;
  /** Randomness for retry jitter (default Math.random). */
  random?: () => number;
  /** Arranges for the election lease to be revoked if this process dies; returns the cancel. */
  releaseOnDeath?: (lease: string) => () => void;
  /** What finished work is kept (default DEFAULT_RETENTION); the leader deletes the rest. */
  retention?: RetentionPolicy;
  /** Pause between retention rounds (ms). */
  retentionEveryMs?: number;
  /** Rank in the election: the live candidate with the highest leads, ties going to the oldest (default 0). */
  priority?: number;
  /** How services that name no placement share the fleet (default `capacity`). */
  placement?: Placement;
}


export interface LeaderEvents {
  elected: [];
  deposed: [];
  planned: [summary: PlanSummary];
}

/** Campaigns for leadership and, while leading, keeps the assignments planned. */
export class Leader extends EventEmitter<LeaderEvents> {
  private readonly clock: Clock;
  private readonly log: Logger;
  private readonly random: () => number;
  private stopped = false;
  private session?: Session;
  private election?: Election;
  private loop?: Promise<void>;
  private readonly halt = new AbortController();
  private priority: number;
  /** The term under way while this candidate leads. */
  private term?: LeaderTerm;

  constructor(private readonly options: LeaderOptions) {
    super();
    this.clock = options.clock ?? systemClock;
    this.random = options.random ?? Math.random;
    this.log = options.log.child({ node: options.nodeId });
    this.priority = options.priority ?? 0;
  }

  /**
   * Changes this candidate's rank at once: a leader outranked steps down, a candidate that now ranks
   * first takes over. Retried while the store is away (until a newer priority or a stop supersedes it).
   */
  async setPriority(priority: number): Promise<void> {
    this.priority = priority;
    for (let delay = 100; !this.stopped && this.priority === priority; delay = Math.min(delay * 2, 2000)) {
      try {
        await this.election?.setPriority(priority);
        return;
      } catch (err) {
        this.log.warn('could not change the election priority, trying again', { priority, error: (err as Error).message });
        await sleep(this.clock, delay + this.random() * delay, this.halt.signal).catch(() => undefined);
      }
    }
  }

  get isLeader(): boolean {
    return this.election?.isLeader ?? false;
  }

  /** Whether this candidate can take part: it holds a valid session (else why not). */
  health(): { ok: boolean; reason?: string } {
    if (this.stopped) return { ok: true };
    const s = this.session;
    if (!s) return { ok: false, reason: `leader candidate ${this.options.nodeId}: no session yet (opening one)` };
    if (!s.valid) return { ok: false, reason: `leader candidate ${this.options.nodeId}: session ${s.lease} is over (${s.endedBy?.message ?? 'fenced'}); opening a new one` };
    return { ok: true };
  }

  start(): void {
    this.loop ??= this.campaignLoop();
  }

  /** Stops leading (or waiting to) and revokes the election session, so another node takes over at once. */
  async stop(): Promise<void> {
    this.stopped = true;
    this.halt.abort();
    await this.session?.close().catch(() => undefined);
    await this.loop;
  }

  /** Campaigns on a session, leads while elected, and starts over on a new session after any loss, for as long as it runs. */
  private async campaignLoop(): Promise<void> {
    const signal = this.halt.signal;
    while (!this.stopped) {
      const session = await openSession(this.options.store, {
        ttl: this.options.ttl ?? 5,
        clock: this.clock,
        random: this.random,
        signal,
        onRetry: (err, inMs, tries) => {
          if (tries % 20 === 1) this.log.warn('could not open a session for the election, retrying until the store answers', { error: err.message, inMs, tries });
        },
      });
      if (!session) break;
      this.session = session;
      const forget = this.options.releaseOnDeath?.(session.lease);
      if (forget) void session.done.then(forget);
      try {
        if (this.stopped) break;
        const election = new Election(this.options.store, session, this.options.keys.leader, this.options.nodeId, this.priority);
        this.election = election;
        election.once('deposed', (reason) => {
          if (reason instanceof SteppedDownError) this.options.log.info(`Stepping down node=${this.options.nodeId}`, { for: reason.successor });
        });
        await election.campaign();
        this.options.log.info(`Became leader node=${this.options.nodeId}`, { priority: this.priority });
        this.emit('elected');
        await this.lead(election);
        this.options.log.info(`No longer leader node=${this.options.nodeId}`);
        this.emit('deposed');
      } catch (err) {
        if (this.stopped) break;
        this.log.warn('campaign failed, starting over', { error: (err as Error).message, session: session.endedBy?.message });
        await sleep(this.clock, 100 + this.random() * 200);
      } finally {
        // Never keep a candidate key alive that no one campaigns with: it could lead forever. A
        // session lost in an outage is revoked once the store answers, not a TTL later.
        if (!this.stopped) void session.release(signal, this.random);
      }
    }
    await this.session?.close().catch(() => undefined);
  }

  /** Items by kind and state, while this candidate leads (for /metrics). */
  itemCounts(): ItemCount[] {
    return this.term?.itemCounts() ?? [];
  }

  /** How far the leader's views are behind its own last write, while it leads (for /metrics). */
  watchLag(): number | undefined {
    return this.term?.watchLag();
  }

  /** Plans while `election` leads; returns when it no longer does. */
  private async lead(election: Election): Promise<void> {
    const term = new LeaderTerm(election, {
      ...this.options,
      clock: this.clock,
      random: this.random,
      log: this.log,
      onPlanned: (summary) => this.emit('planned', summary),
    });
    this.term = term;
    try {
      await term.run();
    } finally {
      this.term = undefined;
    }
  }
}
