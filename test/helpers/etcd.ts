// Real etcd servers for tests: free loopback ports, a temporary data dir, stopped by PID.
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import https from 'node:https';
import path from 'node:path';
import type { TlsFiles } from './certs.js';
import { freePort, spawnTracked, stopChild, tempDir, waitFor } from './processes.js';

export interface EtcdMember {
  name: string;
  clientUrl: string;
  peerUrl: string;
  dataDir: string;
  child: ChildProcess;
  /** SIGKILL, as a crash. */
  kill(): Promise<void>;
  stop(): Promise<void>;
  /** Starts it again (after stop or kill) on the same data dir and ports; resolves once healthy. */
  restart(): Promise<void>;
}

export interface EtcdCluster {
  members: EtcdMember[];
  endpoints: string[];
  /** The member that leads now (waits until one does). */
  leader(): Promise<EtcdMember>;
  stop(): Promise<void>;
}

export interface EtcdTimers {
  /** Fast raft timers (10 ms heartbeat, 100 ms election): quick start, 1 s minimum lease TTL. */
  fast?: boolean;
  /** fsync every commit, as production etcd does (tests skip it for speed). */
  fsync?: boolean;
  /** Serve clients over TLS with these files and require a client certificate signed by the CA. */
  tls?: TlsFiles;
}

/** Starts a one-member etcd. */
export async function startEtcd(options: EtcdTimers = { fast: true }): Promise<EtcdCluster> {
  return startEtcdCluster(1, options);
}

/** Starts an etcd cluster of `size` members on loopback. */
export async function startEtcdCluster(size: number, options: EtcdTimers = {}): Promise<EtcdCluster> {
  const tmp = tempDir('etcd');
  const specs = [];
  for (let i = 0; i < size; i++) {
    specs.push({ name: `m${i}`, client: await freePort(), peer: await freePort() });
  }
  const initialCluster = specs.map((s) => `${s.name}=http://127.0.0.1:${s.peer}`).join(',');
  const members: EtcdMember[] = specs.map((s) => {
    const dataDir = path.join(tmp.dir, s.name);
    const clientUrl = `${options.tls ? 'https' : 'http'}://127.0.0.1:${s.client}`;
    const peerUrl = `http://127.0.0.1:${s.peer}`;
    const logFile = path.join(tmp.dir, `${s.name}.log`);
    const args = [
      '--name', s.name,
      '--data-dir', dataDir,
      '--listen-client-urls', clientUrl,
      '--advertise-client-urls', clientUrl,
      '--listen-peer-urls', peerUrl,
      '--initial-advertise-peer-urls', peerUrl,
      '--initial-cluster', initialCluster,
      '--initial-cluster-state', 'new',
      ...(options.fsync ? [] : ['--unsafe-no-fsync']),
      '--logger', 'zap',
      '--log-level', 'warn',
      ...(options.fast ? ['--heartbeat-interval', '10', '--election-timeout', '100'] : []),
      ...(options.tls
        ? ['--cert-file', options.tls.cert, '--key-file', options.tls.key, '--trusted-ca-file', options.tls.ca, '--client-cert-auth']
        : []),
    ];
    const launch = () => {
      const log = fs.openSync(logFile, 'a');
      const child = spawnTracked('etcd', args, { stdio: ['ignore', log, log] });
      fs.closeSync(log);
      return child;
    };
    const member: EtcdMember = {
      name: s.name,
      clientUrl,
      peerUrl,
      dataDir,
      child: launch(),
      kill: async () => {
        member.child.kill('SIGCONT'); // a frozen etcd cannot die until it runs again
        member.child.kill('SIGKILL');
        await stopChild(member.child);
      },
      stop: async () => {
        member.child.kill('SIGCONT');
        await stopChild(member.child);
      },
      restart: async () => {
        await member.stop();
        member.child = launch();
        await waitFor(() => healthy(member, options.tls), 20_000, `etcd ${member.name} healthy again`);
      },
    };
    return member;
  });
  const cluster: EtcdCluster = {
    members,
    endpoints: members.map((m) => m.clientUrl),
    leader: () => waitFor(() => findLeader(members), 15_000, 'an etcd leader'),
    stop: async () => {
      await Promise.all(members.map((m) => m.stop()));
      tmp.remove();
    },
  };
  try {
    await Promise.all(members.map((m) => waitFor(() => healthy(m, options.tls), 20_000, `etcd ${m.name} healthy`)));
  } catch (err) {
    const logs = specs.map((s) => fs.readFileSync(path.join(tmp.dir, `${s.name}.log`), 'utf8').slice(-2000)).join('\n');
    await cluster.stop();
    throw new Error(`${(err as Error).message}\n${logs}`);
  }
  return cluster;
}

async function healthy(m: EtcdMember, tls?: TlsFiles): Promise<boolean> {
  if (m.child.exitCode !== null) throw new Error(`etcd ${m.name} exited with ${m.child.exitCode}`);
  const body = tls ? await getTls(`${m.clientUrl}/health`, tls) : await (await fetch(`${m.clientUrl}/health`, { signal: AbortSignal.timeout(1000) })).text();
  return (JSON.parse(body) as { health: string }).health === 'true';
}

/** GET over TLS with a client certificate (fetch takes no certificates). */
function getTls(url: string, tls: TlsFiles): Promise<string> {
  const [ca, cert, key] = [tls.ca, tls.cert, tls.key].map((f) => fs.readFileSync(f));
  return new Promise((resolve, reject) => {
    const req = https.get(url, { ca, cert, key, timeout: 1000 }, (res) => {
      let body = '';
      res.setEncoding('utf8').on('data', (d: string) => (body += d)).on('end', () => resolve(body)).on('error', reject);
    });
    req.on('timeout', () => req.destroy(new Error('timed out'))).on('error', reject);
  });
}

async function status(m: EtcdMember): Promise<{ header: { member_id: string }; leader: string }> {
  const res = await fetch(`${m.clientUrl}/v3/maintenance/status`, { method: 'POST', body: '{}', signal: AbortSignal.timeout(1000) });
  return (await res.json()) as { header: { member_id: string }; leader: string };
}

async function findLeader(members: EtcdMember[]): Promise<EtcdMember | undefined> {
  for (const m of members) {
    if (m.child.exitCode !== null || m.child.signalCode !== null) continue;
    try {
      const s = await status(m);
      if (s.leader && s.leader !== '0' && s.header.member_id === s.leader) return m;
    } catch {
      // not answering: not the leader we can use
    }
  }
  return undefined;
}
