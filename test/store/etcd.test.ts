// The store conformance suite on a real etcd started for this file.
import { EtcdStore } from '../../src/store/index.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { storeConformance } from './conformance.js';

let etcd: Promise<EtcdCluster> | undefined;
storeConformance({
  name: 'etcd',
  propertyRuns: 40,
  open: async () => new EtcdStore({ endpoints: (await (etcd ??= startEtcd())).endpoints }),
  dispose: async () => (await etcd)?.stop(),
});
