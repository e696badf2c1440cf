// The nodes the fuzzer attacks, as users run them: `rota up --memory` and `rota node` on a real
// etcd. Neither runs a worker (--workers 0, --no-worker), and their PATH is an empty directory, so
// no task a fuzzed request creates can run a program here.
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { tempDir } from '../helpers/processes.js';
import { startRota, type RotaProcess } from '../helpers/rota-process.js';

export type Backend = 'embedded' | 'etcd';

export interface FuzzTarget {
  backend: Backend;
  base: string;
  stop(): Promise<void>;
}

/** Starts a node of `backend` to fuzz. */
export async function startTarget(backend: Backend): Promise<FuzzTarget> {
  const empty = tempDir('fuzz-path');
  const env = { PATH: empty.dir, ROTA_TOKEN: '' };
  let etcd: EtcdCluster | undefined;
  let node: RotaProcess | undefined;
  try {
    if (backend === 'embedded') {
      node = await startRota(['up', '--memory', '--port', '0', '--workers', '0'], { env, expectWorker: false });
    } else {
      etcd = await startEtcd();
      node = await startRota(['node', '--etcd', etcd.endpoints[0], '--port', '0', '--no-worker'], { env });
    }
  } catch (err) {
    await etcd?.stop();
    empty.remove();
    throw err;
  }
  const started = node;
  return {
    backend,
    base: started.api!,
    stop: async () => {
      await started.stop();
      await etcd?.stop();
      empty.remove();
    },
  };
}
