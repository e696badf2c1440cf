// Independent conditional writes issued in the same moment (claims, attempt starts and ends of
// many tasks) ride in one transaction. If any compare of the batch fails, each request is run on
// its own, so one request never decides another's fate. A burst of hundreds then costs a few
// round trips to the store instead of hundreds.
import type { Compare, KeyValue, Store, TxnOp, TxnOpResult } from '../store/index.js';
import { Limiter } from '../store/limiter.js';

/** One conditional write: all its compares must hold for its operations to run. */
export interface BatchedRequest {
  compare: Compare[];
  success: TxnOp[];
}

export interface BatchedResult {
  succeeded: boolean;
  revision: number;
  /** Results of this request's own operations. */
  results: TxnOpResult[];
}

interface Pending {
  request: BatchedRequest;
  resolve: (r: BatchedResult) => void;
  reject: (e: unknown) => void;
}

/** Merges requests of the same event-loop turn into transactions within etcd's limits. */
export class TxnBatcher {
  private queue: Pending[] = [];
  private scheduled = false;
  private readonly inFlight: Limiter;

  constructor(
    private readonly store: Store,
    private readonly maxOps = 128,
    inFlight = 8,
  ) {
    this.inFlight = new Limiter(inFlight);
  }

  /** Reads `key` (its count only, with `countOnly`) in the transaction of this moment's requests. */
  async read(key: string, options: { countOnly?: boolean } = {}): Promise<{ kvs: KeyValue[]; count: number }> {
    const r = (await this.run({ compare: [], success: [{ type: 'range', key, countOnly: options.countOnly }] })).results[0];
    return r?.type === 'range' ? r : { kvs: [], count: 0 };
  }

  run(request: BatchedRequest): Promise<BatchedResult> {
    return new Promise((resolve, reject) => {
      this.queue.push({ request, resolve, reject });
      if (!this.scheduled) {
        this.scheduled = true;
        setImmediate(() => this.flush());
      }
    });
  }

  private flush(): void {
    this.scheduled = false;
    let batch: Pending[] = [];
    let compares = 0;
    let ops = 0;
    for (const p of this.queue) {
      if (batch.length && (compares + p.request.compare.length > this.maxOps || ops + p.request.success.length > this.maxOps)) {
        this.send(batch);
        batch = [];
        compares = ops = 0;
      }
      batch.push(p);
      compares += p.request.compare.length;
      ops += p.request.success.length;
    }
    if (batch.length) this.send(batch);
    this.queue = [];
  }

  private send(batch: Pending[]): void {
    void this.inFlight.run(async () => {
      if (batch.length > 1) {
        try {
          const r = await this.store.txn({ compare: batch.flatMap((p) => p.request.compare), success: batch.flatMap((p) => p.request.success) });
          if (r.succeeded) {
            let at = 0;
            for (const p of batch) {
              p.resolve({ succeeded: true, revision: r.revision, results: r.results.slice(at, at + p.request.success.length) });
              at += p.request.success.length;
            }
            return;
          }
        } catch {
          // each on its own below
        }
      }
      await Promise.all(
        batch.map(async (p) => {
          try {
            const r = await this.store.txn(p.request);
            p.resolve({ succeeded: r.succeeded, revision: r.revision, results: r.results });
          } catch (err) {
            p.reject(err);
          }
        }),
      );
    });
  }
}
