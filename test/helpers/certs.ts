// A throwaway certificate authority for TLS tests, made with Debian's openssl (argv only, no shell).
import { execFileSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';

export interface TlsFiles {
  ca: string;
  cert: string;
  key: string;
}

/** Makes a CA and one certificate for 127.0.0.1 (server and client use, common name `cn`) under `dir`. */
export function makeCertificates(dir: string, cn = 'root'): TlsFiles {
  const at = (name: string) => path.join(dir, name);
  const openssl = (...args: string[]) => execFileSync('openssl', args, { stdio: ['ignore', 'ignore', 'pipe'] });
  fs.writeFileSync(at('ext.cnf'), 'subjectAltName=IP:127.0.0.1,DNS:localhost\nextendedKeyUsage=serverAuth,clientAuth\n');
  openssl('req', '-x509', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('ca.key'), '-out', at('ca.crt'), '-days', '2', '-subj', '/CN=rota-test-ca');
  openssl('req', '-newkey', 'rsa:2048', '-nodes', '-keyout', at('node.key'), '-out', at('node.csr'), '-subj', `/CN=${cn}`);
  openssl('x509', '-req', '-in', at('node.csr'), '-CA', at('ca.crt'), '-CAkey', at('ca.key'), '-CAcreateserial',
    '-out', at('node.crt'), '-days', '2', '-extfile', at('ext.cnf'));
  return { ca: at('ca.crt'), cert: at('node.crt'), key: at('node.key') };
}
