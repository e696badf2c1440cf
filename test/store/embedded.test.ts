// The store conformance suite on the embedded backend (in memory and with a data directory).
import { EmbeddedStore, type Store } from '../../src/store/index.js';
import { tempDir } from '../helpers/processes.js';
import { storeConformance } from './conformance.js';

function embeddedBackend(name: string, withDir: boolean) {
  let shared: Promise<Store> | undefined;
  const tmp = withDir ? tempDir('embedded') : undefined;
  return {
    name,
    propertyRuns: 200,
    // Every "client" is the same in-process store, as every etcd client sees one cluster.
    open: () => (shared ??= EmbeddedStore.open({ dir: tmp?.dir, retainRevisions: 0 })),
    dispose: async () => {
      await (await shared)?.close();
      tmp?.remove();
    },
  };
}

storeConformance(embeddedBackend('embedded (memory)', false));
storeConformance(embeddedBackend('embedded (data dir)', true));
