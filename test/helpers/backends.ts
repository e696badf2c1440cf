// Runs a suite once per store backend: embedded (in process) and a real etcd started for the file.
import { after, describe } from 'node:test';
import { EmbeddedStore, EtcdStore, type Store } from '../../src/store/index.js';
import { startEtcd, type EtcdCluster } from './etcd.js';

export interface BackendHandle {
  name: 'embedded' | 'etcd';
  /** A client of the shared store (the same instance for embedded). */
  open(): Promise<Store>;
  /** The etcd cluster, for fault tests (undefined on embedded). */
  etcd?: () => Promise<EtcdCluster>;
}

/** Declares `suite` for each backend. */
export function forEachBackend(title: string, suite: (b: BackendHandle) => void, options: { timeout?: number } = {}): void {
  let embedded: Promise<Store> | undefined;
  let etcd: Promise<EtcdCluster> | undefined;
  const clients: Store[] = [];
  after(async () => {
    for (const c of clients) await c.close();
    await (await embedded)?.close();
    await (await etcd)?.stop();
  });
  describe(`${title} (embedded)`, { timeout: options.timeout ?? 60_000 }, () =>
    suite({ name: 'embedded', open: () => (embedded ??= EmbeddedStore.open({})) }),
  );
  describe(`${title} (etcd)`, { timeout: options.timeout ?? 60_000 }, () =>
    suite({
      name: 'etcd',
      etcd: () => (etcd ??= startEtcd()),
      open: async () => {
        const store = new EtcdStore({ endpoints: (await (etcd ??= startEtcd())).endpoints });
        clients.push(store);
        return store;
      },
    }),
  );
}
