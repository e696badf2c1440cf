// The leader's rounds kept between rounds: after random item adds, updates, deletes, spec changes and
// worker changes — each round's writes applied to a simulated store and their events fed back — the
// stored state is always one a full round from scratch would not change: every service placed on an
// eligible worker, balanced, its owner handed its newest content, nothing assigned for deleted items.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import fc from 'fast-check';
import { Keys } from '../../src/engine/keys.js';
import type { WorkerRecord } from '../../src/engine/model.js';
import { planRound, type Snapshot } from '../../src/engine/plan-round.js';
import { RoundPlanner } from '../../src/engine/round-planner.js';
import type { KeyValue, TxnOp, WatchEvent } from '../../src/store/index.js';

const keys = new Keys('/p/');

type Op =
  | { kind: 'add'; weight: number; zone?: string }
  | { kind: 'update'; pick: number }
  | { kind: 'delete'; pick: number }
  | { kind: 'respec'; pick: number; weight: number; zone?: string }
  | { kind: 'worker'; pick: number; change: 'join' | 'leave' | 'drain' };

const opArb: fc.Arbitrary<Op> = fc.oneof(
  { weight: 4, arbitrary: fc.record({ kind: fc.constant('add' as const), weight: fc.integer({ min: 1, max: 2 }), zone: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }) }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('update' as const), pick: fc.nat() }) },
  { weight: 2, arbitrary: fc.record({ kind: fc.constant('delete' as const), pick: fc.nat() }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('respec' as const), pick: fc.nat(), weight: fc.integer({ min: 1, max: 2 }), zone: fc.option(fc.constantFrom('a', 'b'), { nil: undefined }) }) },
  { weight: 1, arbitrary: fc.record({ kind: fc.constant('worker' as const), pick: fc.nat(), change: fc.constantFrom('join' as const, 'leave' as const, 'drain' as const) }) },
);

/** A store in a map: puts and deletes at increasing revisions, with the events a watch would see. */
class FakeStore {
  revision = 1;
  readonly registry = new Map<string, KeyValue>();
  readonly specs = new Map<string, KeyValue>();
  readonly assign = new Map<string, KeyValue>();
  private mapOf(key: string) {
    return key.startsWith(keys.registry) ? this.registry : key.startsWith(keys.specs) ? this.specs : this.assign;
  }
  put(key: string, value: string): WatchEvent {
    const m = this.mapOf(key);
    const prev = m.get(key);
    const kv: KeyValue = { key, value, createRevision: prev?.createRevision ?? ++this.revision, modRevision: prev ? ++this.revision : this.revision, version: (prev?.version ?? 0) + 1, lease: '0' };
    m.set(key, kv);
    return { type: 'put', kv };
  }
  delete(key: string): WatchEvent | undefined {
    const m = this.mapOf(key);
    const prev = m.get(key);
    if (!prev) return undefined;
    m.delete(key);
    return { type: 'delete', kv: { ...prev, modRevision: ++this.revision } };
  }
}

describe('round planner kept between rounds', () => {
  it('leaves, after every round, a state a full round from scratch would not change', () => {
    fc.assert(
      fc.property(fc.array(opArb, { minLength: 1, maxLength: 40 }), fc.integer({ min: 1, max: 4 }), (ops, initialWorkers) => {
        const store = new FakeStore();
        const rounds = new RoundPlanner(keys, () => 0.5);
        const workers = new Map<string, WorkerRecord>();
        const record = (zone: string): WorkerRecord => ({ host: 'h', pid: 1, capacity: 1, labels: { zone }, load: 0, draining: false, startedAt: '' }) as WorkerRecord;
        let nextWorker = 0;
        for (let i = 0; i < initialWorkers; i++) workers.set(`w${nextWorker}`, record(nextWorker++ % 2 ? 'b' : 'a'));
        let nextItem = 0;
        const snapshot = (): Snapshot => ({
          now: 0,
          workers: [...workers].map(([id, r]) => ({ id, record: r })),
          registry: store.registry,
          specs: store.specs,
          assign: store.assign,
          active: new Map(),
          results: new Map(),
          attempts: () => [],
          jobs: new Map(),
        });
        const apply = (written: TxnOp[]) => {
          const events: WatchEvent[] = [];
          for (const op of written) {
            const ev = op.type === 'put' ? store.put(op.key, op.value) : op.type === 'delete' ? store.delete(op.key) : undefined;
            if (ev) events.push(ev);
          }
          rounds.assignmentsChanged(events);
        };
        const ids = () => [...store.registry.keys()].map((k) => k.slice(keys.registry.length));
        const setSpec = (id: string, weight: number, zone?: string) => {
          store.put(keys.spec(id), JSON.stringify({ kind: 'service', weight, selector: zone ? { zone } : {} }));
          rounds.itemChanged(id);
        };
        apply(rounds.round(snapshot()).ops);
        for (const op of ops) {
          const pool = ids();
          const pick = 'pick' in op && pool.length ? pool[op.pick % pool.length] : undefined;
          if (op.kind === 'add') {
            const id = `i${nextItem++}`;
            store.put(keys.item(id), 'v1');
            if (op.weight !== 1 || op.zone) setSpec(id, op.weight, op.zone);
            rounds.itemChanged(id);
          } else if (op.kind === 'update' && pick) {
            store.put(keys.item(pick), `v${store.revision}`);
            rounds.itemChanged(pick);
          } else if (op.kind === 'delete' && pick) {
            store.delete(keys.item(pick));
            store.delete(keys.spec(pick));
            rounds.itemChanged(pick);
          } else if (op.kind === 'respec' && pick) {
            setSpec(pick, op.weight, op.zone);
          } else if (op.kind === 'worker') {
            const names = [...workers.keys()];
            if (op.change === 'join' || names.length === 0) workers.set(`w${nextWorker}`, record(nextWorker++ % 2 ? 'b' : 'a'));
            else if (op.change === 'leave') workers.delete(names[op.pick % names.length]);
            else {
              const name = names[op.pick % names.length];
              workers.set(name, { ...workers.get(name)!, draining: !workers.get(name)!.draining });
            }
          }
          apply(rounds.round(snapshot()).ops);
          // The state the rounds left is a fixed point of a full round: nothing to place, move, remove or hand on.
          const check = planRound(snapshot(), keys, () => 0.5);
          assert.deepEqual(
            check.ops.map((o) => `${o.type} ${o.key}`),
            [],
            `after ${op.kind}: a full round would still write (last round ${rounds.lastWasFull ? 'full' : 'incremental'})`,
          );
        }
      }),
      { numRuns: Number(process.env.PLANNER_RUNS ?? 500) },
    );
  });
});
