// `rota node` on a secured etcd: TLS with client certificates, and etcd's user/password auth.
// The flags must reach the client (work gets claimed), and a refusal must end the node with a
// message that names the flags to fix, instead of retrying forever.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync } from 'node:child_process';
import { after, before, describe, it } from 'node:test';
import { makeCertificates, type TlsFiles } from '../helpers/certs.js';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { tempDir, waitFor } from '../helpers/processes.js';
import { api, root, rotaBin, startRota, type RotaProcess } from '../helpers/rota-process.js';

/** Runs `rota node` that is expected to give up; returns its exit code and output. */
function refusedNode(args: string[], env: NodeJS.ProcessEnv = {}) {
  const r = spawnSync(process.execPath, [rotaBin, 'node', '--port', '0', '--ttl', '2', ...args], {
    cwd: root,
    encoding: 'utf8',
    timeout: 30_000,
    env: { ...process.env, ...env },
  });
  return { status: r.status, output: `${r.stdout}${r.stderr}` };
}

/** Adds an item through the node's API, waits until the node holds its claim, then stops the node cleanly. */
async function claimsWorkAndStops(node: RotaProcess): Promise<void> {
  try {
    await claimsWork(node);
  } finally {
    await node.stop();
  }
  assert.equal(node.child.exitCode, 0, node.lines.slice(-10).join('\n'));
}

/** SIGKILLs the node and waits until its worker record is gone: its guard revoked the lease (TTL 10 s). */
async function releasedOnKill(node: RotaProcess, etcdctl: (...args: string[]) => string): Promise<void> {
  const key = `/work/workers/${node.id}`;
  assert.match(etcdctl('get', key), new RegExp(node.id));
  const killedAt = Date.now();
  await node.kill();
  await waitFor(() => etcdctl('get', key).trim() === '', 4000, 'the killed node\'s lease to be revoked', 100);
  console.log(`# lease revoked ${Date.now() - killedAt} ms after SIGKILL (TTL 10 s)`);
}

async function claimsWork(node: RotaProcess): Promise<void> {
  const added = await api(node.api!, 'POST', '/work', 'secured=yes');
  assert.equal(added.status, 201);
  await waitFor(async () => {
    const item = (await api(node.api!, 'GET', `/work/${added.body.id}`)).body as { claimedBy?: string };
    return item.claimedBy === node.id;
  }, 10_000, 'the node to claim the item');
}

describe('rota node on a secured etcd', { timeout: 120_000 }, () => {
  describe('TLS with client certificates', () => {
    const certs = tempDir('certs');
    let tls: TlsFiles;
    let etcd: EtcdCluster;
    before(async () => {
      tls = makeCertificates(certs.dir);
      etcd = await startEtcd({ fast: true, tls });
    });
    after(async () => {
      await etcd?.stop();
      certs.remove();
    });

    it('joins with --etcd-ca/--etcd-cert/--etcd-key and claims work', async () => {
      const node = await startRota(['node', '--etcd', etcd.endpoints[0], '--etcd-ca', tls.ca, '--etcd-cert', tls.cert, '--etcd-key', tls.key, '--port', '0', '--ttl', '2']);
      assert.match(etcd.endpoints[0], /^https:/);
      await claimsWorkAndStops(node);
    });

    it("a node SIGKILLed has its lease revoked by its guard, over TLS", async () => {
      const node = await startRota(['node', '--etcd', etcd.endpoints[0], '--etcd-ca', tls.ca, '--etcd-cert', tls.cert, '--etcd-key', tls.key, '--port', '0', '--ttl', '10']);
      const etcdctl = (...args: string[]) =>
        execFileSync('etcdctl', ['--endpoints', etcd.endpoints[0], '--cacert', tls.ca, '--cert', tls.cert, '--key', tls.key, ...args], { encoding: 'utf8' });
      await releasedOnKill(node, etcdctl);
    });

    it('without a client certificate it exits 1 and names the TLS flags', () => {
      const r = refusedNode(['--etcd', etcd.endpoints[0], '--etcd-ca', tls.ca]);
      assert.equal(r.status, 1, r.output);
      assert.match(r.output, /TLS with etcd at https:\/\/127\.0\.0\.1:\d+ failed: .*check --etcd-ca, --etcd-cert and --etcd-key/);
    });

    it('refuses a certificate without its key before connecting', () => {
      const r = refusedNode(['--etcd', etcd.endpoints[0], '--etcd-ca', tls.ca, '--etcd-cert', tls.cert]);
      assert.equal(r.status, 1, r.output);
      assert.match(r.output, /give --etcd-cert and --etcd-key together/);
    });
  });

  describe("etcd's user and password auth", () => {
    let etcd: EtcdCluster;
    before(async () => {
      etcd = await startEtcd();
      const etcdctl = (...args: string[]) => execFileSync('etcdctl', ['--endpoints', etcd.endpoints[0], ...args], { stdio: 'ignore' });
      etcdctl('user', 'add', 'root', '--new-user-password', 's3cret');
      etcdctl('user', 'grant-role', 'root', 'root');
      etcdctl('auth', 'enable');
    });
    after(async () => {
      await etcd?.stop();
    });

    it('joins with --etcd-user and $ROTA_ETCD_PASSWORD and claims work', async () => {
      const node = await startRota(['node', '--etcd', etcd.endpoints[0], '--etcd-user', 'root', '--port', '0', '--ttl', '2'], { env: { ROTA_ETCD_PASSWORD: 's3cret' } });
      await claimsWorkAndStops(node);
    });

    it('a node SIGKILLed has its lease revoked by its guard, with the credentials', async () => {
      const node = await startRota(['node', '--etcd', etcd.endpoints[0], '--etcd-user', 'root', '--port', '0', '--ttl', '10'], { env: { ROTA_ETCD_PASSWORD: 's3cret' } });
      const etcdctl = (...args: string[]) => execFileSync('etcdctl', ['--endpoints', etcd.endpoints[0], '--user', 'root:s3cret', ...args], { encoding: 'utf8' });
      await releasedOnKill(node, etcdctl);
    });

    it('a wrong password, or none, exits 1 saying the credentials were refused', () => {
      const wrong = refusedNode(['--etcd', etcd.endpoints[0], '--etcd-user', 'root', '--etcd-password', 'nope']);
      assert.equal(wrong.status, 1, wrong.output);
      assert.match(wrong.output, /refused our credentials: .*authentication failed.*check --etcd-user and --etcd-password/);
      const none = refusedNode(['--etcd', etcd.endpoints[0]]);
      assert.equal(none.status, 1, none.output);
      assert.match(none.output, /refused our credentials: .*user name is empty/);
    });
  });
});
