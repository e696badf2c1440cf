// The store layer: the contract, its two backends, and opening one from a configuration.
import { EmbeddedStore, type EmbeddedStoreOptions } from './embedded/embedded-store.js';
import { EtcdStore, type EtcdStoreOptions } from './etcd/etcd-store.js';
import type { Store } from './types.js';

export * from './types.js';
export * from './errors.js';
export * from './clock.js';
export { LeaseKeeper, type LeaseKeeperEvents } from './lease-keeper.js';
export { EmbeddedStore, type EmbeddedStoreOptions } from './embedded/embedded-store.js';
export { EtcdStore, type EtcdStoreOptions } from './etcd/etcd-store.js';

/** Where the state lives: etcd when the fleet spans machines, embedded when one machine is enough. */
export type StoreConfig = ({ backend: 'etcd' } & EtcdStoreOptions) | ({ backend: 'embedded' } & EmbeddedStoreOptions);

/** Opens the store a configuration names. */
export async function openStore(config: StoreConfig): Promise<Store> {
  if (config.backend === 'etcd') return new EtcdStore(config);
  return EmbeddedStore.open(config);
}
export { DEFAULT_PAGE_BYTES, DEFAULT_PAGE_KEYS, listPrefix, prefixEnd, readPage, scanPrefix, sizeOf, type ScanOptions, type ScanPage } from './paged-list.js';
