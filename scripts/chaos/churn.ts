// Item churn through the HTTP API of a live node: adds, updates and deletes, contents from a few
// bytes to 1 MiB. It keeps the books the end check needs: an add is "acknowledged" when the API
// answered 201 (or 409 for the id it had tried before: the earlier try committed); an add or a
// delete that failed (an outage) is retried later; an item is "deleted" from the first try on,
// since a try that failed may have committed.
import type { NodeSlot } from './nodes.js';
import type { Random } from './random.js';

const MiB = 1024 * 1024;

type ItemState = 'adding' | 'acked' | 'deleting' | 'deleted';

/** The churn figures. */
export interface ChurnFigures {
  added: number;
  updated: number;
  deleted: number;
  /** Calls that failed (no answer, 5xx) and were retried or given up. */
  failedCalls: number;
  /** Answers the runner did not expect (4xx other than a 409 after a retry, 404 of a live item). */
  oddAnswers: string[];
  largest: number;
}

/** Drives churn and remembers every item it touched. */
export class Churn {
  readonly items = new Map<string, ItemState>();
  readonly figures: ChurnFigures = { added: 0, updated: 0, deleted: 0, failedCalls: 0, oddAnswers: [], largest: 0 };
  private seq = 0;
  private inFlight = 0;
  /** Ids an add was tried for (a 409 after a try is the earlier try's success). */
  private readonly tried = new Set<string>();
  /** Ids with a call out now: no second call on them until it ends. */
  private readonly busy = new Set<string>();

  constructor(
    private readonly random: Random,
    private readonly nodes: () => NodeSlot[],
    private readonly bounds: { min: number; max: number },
    private readonly tag: string,
  ) {}

  /** Items that should be in the registry: acknowledged and never deleted. */
  acked(): string[] {
    return [...this.items].filter(([, s]) => s === 'acked').map(([id]) => id);
  }

  /** Items the runner never deleted (acknowledged or not). */
  get live(): number {
    return [...this.items.values()].filter((s) => s === 'acked' || s === 'adding').length;
  }

  /** Adds `n` small items and waits until each is acknowledged (setup). */
  async seed(n: number): Promise<void> {
    for (let i = 0; i < n; i++) {
      const id = this.newId();
      while (this.items.get(id) !== 'acked') {
        await this.add(id, this.random.int(10, 200));
      }
    }
  }

  /** One step of churn, unless `maxInFlight` calls are still out; whether it took one. */
  step(maxInFlight = 4): boolean {
    if (this.inFlight >= maxInFlight) return false;
    this.inFlight++;
    void this.op().finally(() => this.inFlight--);
    return true;
  }

  /** Waits for calls still out (bounded by their timeouts). */
  async drain(): Promise<void> {
    while (this.inFlight > 0) await new Promise((r) => setTimeout(r, 50));
  }

  private async op(): Promise<void> {
    // Retries first: an add or delete that failed earlier.
    const retry = [...this.items].filter(([id, s]) => (s === 'adding' || s === 'deleting') && !this.busy.has(id));
    if (retry.length > 0 && this.random.chance(0.5)) {
      const [id, s] = this.random.pick(retry);
      return s === 'adding' ? this.add(id, this.size()) : this.remove(id);
    }
    const live = this.acked().filter((id) => !this.busy.has(id));
    const n = this.live;
    const r = this.random.next();
    if (n < this.bounds.min || live.length === 0 || (n < this.bounds.max && r < 0.4)) return this.add(this.newId(), this.size());
    if (n > this.bounds.max || r > 0.75) return this.remove(this.random.pick(live));
    return this.update(this.random.pick(live), this.size());
  }

  private newId(): string {
    const kind = this.random.pick(['plain', 'plain', 'slow', 'stubborn']);
    return `${this.tag}-i${++this.seq}-${kind}`;
  }

  /** Mostly small contents, some up to 64 KiB, one in ten up to 1 MiB. */
  private size(): number {
    const r = this.random.next();
    if (r < 0.75) return this.random.int(10, 1000);
    if (r < 0.9) return this.random.int(1024, 64 * 1024);
    return this.random.int(64 * 1024, MiB);
  }

  private content(bytes: number): string {
    this.figures.largest = Math.max(this.figures.largest, bytes);
    return this.random.pick(['a', 'b', 'c', 'd']).repeat(bytes);
  }

  private async call(method: string, path: string, body?: object): Promise<number | undefined> {
    const live = this.nodes().filter((n) => n.proc && !n.busy);
    const node = live.length ? this.random.pick(live) : this.random.pick(this.nodes());
    try {
      const res = await fetch(`${node.api}${path}`, {
        method,
        body: body === undefined ? undefined : JSON.stringify(body),
        headers: body === undefined ? {} : { 'content-type': 'application/json' },
        signal: AbortSignal.timeout(15_000),
      });
      await res.arrayBuffer();
      if (res.status >= 500) this.figures.failedCalls++;
      return res.status;
    } catch {
      this.figures.failedCalls++;
      return undefined;
    }
  }

  private async add(id: string, bytes: number): Promise<void> {
    this.busy.add(id);
    this.items.set(id, 'adding');
    const status = await this.call('POST', '/work', { id, content: this.content(bytes) });
    const retried = this.tried.has(id);
    this.tried.add(id);
    this.busy.delete(id);
    if (status === 201 || (status === 409 && retried)) {
      this.items.set(id, 'acked');
      this.figures.added++;
    } else if (status !== undefined && status < 500) {
      // Refused (a 409 for an id never added before, a 413…): it is not in the store, by the API's word.
      this.figures.oddAnswers.push(`POST ${id}: ${status}`);
      this.items.delete(id);
    }
  }

  private async update(id: string, bytes: number): Promise<void> {
    this.busy.add(id);
    const status = await this.call('PUT', `/work/${id}`, { content: this.content(bytes) });
    this.busy.delete(id);
    if (status === 200) this.figures.updated++;
    else if (status !== undefined && status < 500) this.figures.oddAnswers.push(`PUT ${id}: ${status}`);
  }

  private async remove(id: string): Promise<void> {
    this.busy.add(id);
    this.items.set(id, 'deleting');
    const status = await this.call('DELETE', `/work/${id}`);
    this.busy.delete(id);
    if (status === 204 || status === 404) {
      this.items.set(id, 'deleted');
      this.figures.deleted++;
    } else if (status !== undefined && status < 500) {
      this.figures.oddAnswers.push(`DELETE ${id}: ${status}`);
    }
  }
}
