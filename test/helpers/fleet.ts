// The fixture of the end-to-end tests: an etcd, a client of it, and the rota processes a test starts,
// all stopped after the suite.
import { after, before } from 'node:test';
import { EtcdStore, type KeyValue } from '../../src/store/index.js';
import { startEtcd, type EtcdCluster } from './etcd.js';
import type { RotaProcess } from './rota-process.js';

export interface EtcdFleet {
  etcd: EtcdCluster;
  store: EtcdStore;
  /** rota processes to stop after the suite (push what you start). */
  nodes: RotaProcess[];
  /** item id → claim, from /work/active/. */
  claims(): Promise<Map<string, KeyValue>>;
  /** item id → worker holding its claim. */
  owners(): Promise<Map<string, string>>;
  /** worker id → items it holds (every node in `nodes` listed, 0 included). */
  loads(): Promise<Map<string, number>>;
}

/** Registers before/after hooks in the current suite and returns the fixture they fill. */
export function useEtcdFleet(): EtcdFleet {
  const fleet = { nodes: [] as RotaProcess[] } as unknown as EtcdFleet;
  before(async () => {
    fleet.etcd = await startEtcd();
    fleet.store = new EtcdStore({ endpoints: fleet.etcd.endpoints });
  });
  after(async () => {
    for (const n of fleet.nodes) n.child.kill('SIGCONT');
    await Promise.all(fleet.nodes.map((n) => n.stop()));
    await fleet.store?.close();
    await fleet.etcd?.stop();
  });
  fleet.claims = async () => new Map((await fleet.store.range('/work/active/', { prefix: true })).kvs.map((kv) => [kv.key.slice('/work/active/'.length), kv]));
  fleet.owners = async () => new Map([...(await fleet.claims())].map(([id, kv]) => [id, kv.value]));
  fleet.loads = async () => {
    const n = new Map<string, number>(fleet.nodes.map((x) => [x.id, 0]));
    for (const w of (await fleet.owners()).values()) n.set(w, (n.get(w) ?? 0) + 1);
    return n;
  };
  return fleet;
}
