// The etcd connection of `rota node`: TLS and credentials from the flags, and a first call that
// tells a refusal waiting cannot fix (credentials, certificates) from an etcd that is not up yet.
import fs from 'node:fs';
import { setTimeout as delay } from 'node:timers/promises';
import type { Logger } from '../engine/log.js';
import { meterStore } from '../engine/metrics.js';
import type { EtcdGateway } from '../engine/processors/guard-release.js';
import { EtcdStore, PermissionDeniedError, UnavailableError } from '../store/index.js';

/** The etcd flags of `rota node`. */
export interface EtcdFlags {
  etcd?: string;
  etcdCa?: string;
  etcdCert?: string;
  etcdKey?: string;
  etcdUser?: string;
  etcdPassword?: string;
}

// TLS failures come back as "unavailable"; these say the configuration is wrong, not the network.
const TLS_REFUSAL = /certificate|SSL routines|handshake|wrong version number/i;

/**
 * Opens the etcd store the flags describe; `answered` resolves once etcd answers (rejects, the
 * store closed, if it refuses us). Also returns how the node's guard can reach etcd on its own (to
 * revoke leases if the node dies).
 */
export function connectEtcd(flags: EtcdFlags, log: Logger): { store: EtcdStore; endpoints: string[]; gateway: EtcdGateway; answered: Promise<void> } {
  const endpoints = (flags.etcd ?? process.env.ROTA_ETCD ?? 'http://127.0.0.1:2379').split(',').map((s) => s.trim()).filter(Boolean);
  const read = (file: string | undefined, flag: string) => {
    if (!file) return undefined;
    try {
      return fs.readFileSync(file);
    } catch (err) {
      throw new Error(`${flag} ${file}: ${(err as Error).message}`);
    }
  };
  if (Boolean(flags.etcdCert) !== Boolean(flags.etcdKey)) throw new Error('give --etcd-cert and --etcd-key together');
  const tls = flags.etcdCa || flags.etcdCert
    ? { ca: read(flags.etcdCa, '--etcd-ca'), cert: read(flags.etcdCert, '--etcd-cert'), key: read(flags.etcdKey, '--etcd-key') }
    : undefined;
  if (tls && !tls.ca) throw new Error('--etcd-cert needs --etcd-ca (the CA that signed the etcd server certificate)');
  const password = flags.etcdPassword ?? process.env.ROTA_ETCD_PASSWORD;
  const store = new EtcdStore({ endpoints, tls, auth: flags.etcdUser ? { username: flags.etcdUser, password: password ?? '' } : undefined });
  const answered = firstAnswer(store, endpoints, log).catch(async (err: unknown) => {
    await store.close().catch(() => undefined);
    throw err;
  });
  const pem = (b?: Buffer) => b?.toString('utf8');
  const gateway: EtcdGateway = { endpoints, ca: pem(tls?.ca), cert: pem(tls?.cert), key: pem(tls?.key), username: flags.etcdUser, password };
  return { store: meterStore(store), endpoints, gateway, answered };
}

async function firstAnswer(store: EtcdStore, endpoints: string[], log: Logger): Promise<void> {
  const where = endpoints.join(',');
  log.info(`connecting to etcd at ${where}`); // said at once: a refused connection takes a moment to say so
  for (let tries = 0; ; tries++) {
    try {
      await store.get('\0rota-connect-probe');
      return;
    } catch (err) {
      const message = (err as Error).message;
      if (err instanceof PermissionDeniedError) {
        throw new Error(`etcd at ${where} refused our credentials: ${message} (check --etcd-user and --etcd-password or $ROTA_ETCD_PASSWORD)`);
      }
      if (err instanceof UnavailableError && TLS_REFUSAL.test(message)) {
        const reason = message.match(/SSL routines:[^:]*:([^:\n]+)/)?.[1] ?? message.replace(/\s+/g, ' ');
        throw new Error(`TLS with etcd at ${where} failed: ${reason} (check --etcd-ca, --etcd-cert and --etcd-key)`);
      }
      if (!(err instanceof UnavailableError)) throw err;
      // Said at once, then every ~10 s: start etcd, or point --etcd (or $ROTA_ETCD) at it.
      if (tries % 5 === 0) log.warn(`waiting for etcd at ${where} (is it running? --etcd or $ROTA_ETCD names it); the API answers meanwhile, /healthz 503`, { error: message });
      await delay(1000);
    }
  }
}
