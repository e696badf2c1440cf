// Leader election with a ranking, etcd style. Each candidate puts a key on its session's lease,
// holding who it is and its priority; candidates stand in line by priority (highest first), then by
// age (lowest create revision). The first in line takes the office: a key created on its lease,
// whose create revision fences every write of its term (`fence()`), so a deposed leader's late
// writes fail. Others wait only on the candidate just ahead of them (no herd). A leader that sees a
// candidate ahead of it (one of higher priority joined, or its own priority fell) steps down: it
// vacates the office, and the first in line takes it.
import { EventEmitter } from 'node:events';
import type { Compare, Store } from '../store/index.js';
import { candidateOf, officeKey, ranked, type Candidate } from './candidates.js';
import type { Session } from './session.js';

export { officeKey, type Candidate };

export interface ElectionEvents {
  /** This candidate leads from now on. */
  elected: [];
  /** This candidate no longer leads (its session was lost, it resigned, or one ranked higher came). */
  deposed: [reason: Error];
}

/** Raised by campaign() when the session ends before the candidate is elected. */
export class CampaignAbortedError extends Error {
  constructor(reason: string) {
    super(`campaign aborted: ${reason}`);
    this.name = 'CampaignAbortedError';
  }
}

/** Why a leader stopped leading while its session lives on. */
export class SteppedDownError extends Error {
  constructor(readonly successor: string) {
    super(`stepped down: candidate ${successor} ranks higher`);
    this.name = 'SteppedDownError';
  }
}

/** One candidacy, bound to one session. */
export class Election extends EventEmitter<ElectionEvents> {
  /** This candidate's key. */
  readonly key: string;
  /** The office: held by the leader, on its lease. */
  readonly office: string;
  /** Create revision of this candidate's key (0 before campaign()). */
  revision = 0;
  /** Create revision of the office this candidate holds (0 when it holds none). */
  private term = 0;
  private leading = false;
  private ended?: Error;
  private abort = new AbortController();

  constructor(
    private readonly store: Store,
    private readonly session: Session,
    /** The election's prefix, e.g. /work/leader/. */
    readonly prefix: string,
    /** What the key holds: who this candidate is. */
    readonly candidate: string,
    /** Higher leads first (default 0); ties go to the oldest candidate. */
    private priority = 0,
  ) {
    super();
    this.key = `${prefix}${session.lease}`;
    this.office = officeKey(prefix);
    // `done`, not 'lost': a session that ended before this candidacy began still ends it.
    if (session.endedBy) this.ended = session.endedBy;
    void session.done.then((err) => this.end(err));
  }

  get isLeader(): boolean {
    return this.leading && this.session.valid;
  }

  /** The compare that every write of the leader carries: the office is still the one it took (never matches before it took one). */
  fence(): Compare {
    return { key: this.office, target: 'create', op: '==', value: this.term || -1 };
  }

  /** Runs for leader; resolves once elected. Rejects with CampaignAbortedError if the session ends first. */
  async campaign(): Promise<void> {
    this.assertRunning();
    const value = JSON.stringify({ id: this.candidate, priority: this.priority } satisfies Candidate);
    const put = await this.store.txn({
      compare: [{ key: this.key, target: 'create', op: '==', value: 0 }],
      success: [{ type: 'put', key: this.key, value, lease: this.session.lease }],
      failure: [{ type: 'range', key: this.key }],
    });
    const mine = put.succeeded ? undefined : put.results[0];
    this.revision = mine?.type === 'range' && mine.kvs[0] ? mine.kvs[0].createRevision : put.revision;
    // A priority set while the key was being put (setPriority wrote nothing then): put it now.
    if (JSON.stringify({ id: this.candidate, priority: this.priority } satisfies Candidate) !== value) await this.setPriority(this.priority);
    for (;;) {
      this.assertRunning();
      const all = await this.store.range(this.prefix, { prefix: true });
      const line = ranked(all.kvs);
      const at = line.findIndex((c) => c.kv.key === this.key);
      if (at < 0) throw new CampaignAbortedError('the candidate key is gone (lease expired)');
      // Behind someone: wait for the one just ahead to leave or change its priority, or for our own
      // priority to change (setPriority: we may now stand first).
      if (at > 0) {
        await this.waitFor([line[at - 1].kv.key, this.key], all.revision + 1);
        continue;
      }
      // First in line: take the office once it is vacant (or ours, from before).
      const took = await this.store.txn({
        compare: [
          { key: this.office, target: 'create', op: '==', value: 0 },
          { key: this.key, target: 'create', op: '==', value: this.revision },
        ],
        success: [{ type: 'put', key: this.office, value: this.key, lease: this.session.lease }],
        failure: [{ type: 'range', key: this.office }],
      });
      const held = took.succeeded ? undefined : took.results[0];
      const holder = held?.type === 'range' ? held.kvs[0] : undefined;
      if (took.succeeded || holder?.value === this.key) {
        this.term = took.succeeded ? took.revision : holder!.createRevision;
        break;
      }
      // A leader ranked lower still holds it: it steps down on seeing us; wait for the office, or
      // for one ranked higher than us to join.
      await this.waitFor([this.office], took.revision + 1, this.prefix);
    }
    this.assertRunning();
    this.leading = true;
    this.emit('elected');
    void this.watchRanks();
  }

  /** Changes this candidate's priority; a leader that no longer ranks first steps down. */
  async setPriority(priority: number): Promise<void> {
    this.priority = priority;
    if (this.ended || this.revision === 0) return;
    await this.store.txn({
      compare: [{ key: this.key, target: 'create', op: '==', value: this.revision }],
      success: [{ type: 'put', key: this.key, value: JSON.stringify({ id: this.candidate, priority } satisfies Candidate), lease: this.session.lease }],
    });
  }

  /** Gives up the candidacy (and the leadership) by deleting the key and vacating the office. */
  async resign(): Promise<void> {
    await this.vacate();
    await this.store.txn({ compare: [{ key: this.key, target: 'create', op: '==', value: this.revision }], success: [{ type: 'delete', key: this.key }] });
    this.end(new Error('resigned'));
  }

  /** The current leader's candidate id, or undefined when the office is vacant. */
  static async leader(store: Store, prefix: string): Promise<string | undefined> {
    const office = await store.get(officeKey(prefix));
    const holder = office && (await store.get(office.value));
    return holder ? candidateOf(holder).id : undefined;
  }

  /** The candidates in line, first the one that leads (or will). */
  static async candidates(store: Store, prefix: string): Promise<Candidate[]> {
    return ranked((await store.range(prefix, { prefix: true })).kvs).map((c) => c.candidate);
  }

  private async vacate(): Promise<void> {
    if (!this.term) return;
    const term = this.term;
    await this.store.txn({ compare: [{ key: this.office, target: 'create', op: '==', value: term }], success: [{ type: 'delete', key: this.office }] });
  }

  /** While leading: steps down as soon as a candidate ranks ahead of this one. */
  private async watchRanks(): Promise<void> {
    // Not `isLeader`: a session whose deadline has just passed may be renewed a moment later, and
    // this loop must not end for good in that moment (the session's end ends it, through end()).
    while (this.leading && !this.ended) {
      try {
        const all = await this.store.range(this.prefix, { prefix: true });
        const first = ranked(all.kvs)[0];
        if (first && first.kv.key !== this.key) return await this.stepDown(first.candidate.id);
        await this.waitFor([], all.revision + 1, this.prefix);
      } catch {
        // The store away a moment: the session decides whether we still lead; look again.
        await new Promise((r) => setTimeout(r, 200));
      }
    }
  }

  private async stepDown(successor: string): Promise<void> {
    this.leading = false;
    this.emit('deposed', new SteppedDownError(successor));
    // The term stays as it was: fence() keeps naming the office we held, so a write still under way
    // fails once we have vacated it (a fence on "no office" would pass while it is empty).
    await this.vacate().catch(() => undefined);
    this.end(new SteppedDownError(successor));
  }

  private assertRunning(): void {
    if (this.ended) throw new CampaignAbortedError(this.ended.message);
  }

  private end(reason: Error): void {
    if (this.ended) return;
    this.ended = reason;
    this.abort.abort(reason);
    if (this.leading) {
      this.leading = false;
      this.emit('deposed', reason);
    }
  }

  /** Resolves on any change of one of `keys` (or of anything under `prefix`) from `from` on, or when the campaign ends. */
  private waitFor(keys: string[], from: number, prefix?: string): Promise<void> {
    return new Promise((resolve) => {
      const watches = [...keys.map((k) => this.store.watch(k, { fromRevision: from })), ...(prefix ? [this.store.watch(prefix, { fromRevision: from, prefix: true })] : [])];
      const done = () => {
        this.abort.signal.removeEventListener('abort', done);
        for (const w of watches) void w.close();
        resolve();
      };
      for (const w of watches) {
        w.on('events', (b) => b.events.length > 0 && done());
        w.on('error', done); // compacted: look again
      }
      this.abort.signal.addEventListener('abort', done, { once: true });
    });
  }
}
