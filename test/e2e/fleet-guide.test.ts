// docs/fleet.md, run as written: the certificates from deploy/make-certs.sh, three etcd members from
// deploy/etcd-member.sh (TLS for clients and peers, client certificates required, compaction,
// quota), auth turned on by deploy/etcd-auth.sh, and rota nodes started with the ExecStart line of
// deploy/rota-node.service and the guide's node.env; the unit passes systemd-analyze, and every
// metric the alert rules name is one a node serves.
import assert from 'node:assert/strict';
import { execFileSync, spawnSync, type ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import YAML from 'yaml';
import { freePort, spawnTracked, stopChild, tempDir, waitFor } from '../helpers/processes.js';
import { root, rotaBin, startRota, type RotaProcess } from '../helpers/rota-process.js';

const deploy = (f: string) => path.join(root, 'deploy', f);

/** The guide's node.env block (the fenced block after "node.env"), as KEY=value pairs. */
function guideEnv(): Record<string, string> {
  const guide = fs.readFileSync(path.join(root, 'docs', 'fleet.md'), 'utf8');
  const block = /```sh\n# \/etc\/rota\/node\.env\n([\s\S]*?)```/.exec(guide);
  assert.ok(block, 'docs/fleet.md has the node.env block');
  return Object.fromEntries(block[1].split('\n').filter((l) => /^[A-Z_]+=/.test(l)).map((l) => [l.slice(0, l.indexOf('=')), l.slice(l.indexOf('=') + 1).replace(/^'(.*)'$/, '$1')]));
}

/** The unit's ExecStart, its ${VARS} filled from `env`, as argv after the rota binary. */
function execStart(env: Record<string, string>): string[] {
  const unit = fs.readFileSync(deploy('rota-node.service'), 'utf8');
  const line = /^ExecStart=(.*)$/m.exec(unit)![1];
  const argv = line.split(/\s+/).map((a) => a.replace(/\$\{([A-Z_]+)\}/g, (_, k: string) => { assert.ok(k in env, `node.env sets ${k}`); return env[k]; }));
  assert.equal(argv[0], '/usr/bin/rota');
  return argv.slice(1);
}

describe('docs/fleet.md: a secured 3-member etcd and rota nodes as the guide runs them', { timeout: 180_000 }, () => {
  const tmp = tempDir('fleet-guide');
  const members: ChildProcess[] = [];
  const nodes: RotaProcess[] = [];
  after(async () => {
    await Promise.all(nodes.map((n) => n.stop()));
    await Promise.all(members.map((m) => stopChild(m)));
    tmp.remove();
  });

  it('runs the guide: certificates, etcd with TLS and auth, nodes from the unit file, metrics for the alerts', async () => {
    const certs = path.join(tmp.dir, 'certs');
    execFileSync('sh', [deploy('make-certs.sh'), certs, 'etcd1=127.0.0.1', 'etcd2=127.0.0.1', 'etcd3=127.0.0.1']);
    const ports = await Promise.all(Array.from({ length: 6 }, () => freePort()));
    const cluster = [1, 2, 3].map((i) => `etcd${i}=https://127.0.0.1:${ports[2 * i - 1]}`).join(',');
    for (const i of [1, 2, 3]) {
      const log = fs.openSync(path.join(tmp.dir, `etcd${i}.log`), 'a');
      members.push(spawnTracked('sh', [deploy('etcd-member.sh'), `etcd${i}`, '127.0.0.1', String(ports[2 * i - 2]), String(ports[2 * i - 1]), path.join(tmp.dir, `data${i}`), certs, cluster], { stdio: ['ignore', log, log] }));
      fs.closeSync(log);
    }
    const endpoints = [1, 2, 3].map((i) => `https://127.0.0.1:${ports[2 * i - 2]}`).join(',');
    // (etcdctl 3.4 writes endpoint health to stderr.)
    const health = () => { const r = spawnSync('etcdctl', ['--endpoints', endpoints, '--cacert', `${certs}/ca.crt`, '--cert', `${certs}/client.crt`, '--key', `${certs}/client.key`, 'endpoint', 'health'], { encoding: 'utf8' }); return `${r.stdout}${r.stderr}`; };
    await waitFor(() => health().split('\n').filter((l) => l.includes('is healthy')).length === 3, 30_000, 'three healthy members');
    // Without a client certificate, etcd refuses.
    assert.throws(() => execFileSync('etcdctl', ['--endpoints', endpoints, '--cacert', `${certs}/ca.crt`, '--command-timeout', '2s', 'get', 'x'], { stdio: 'pipe' }));
    execFileSync('sh', [deploy('etcd-auth.sh'), endpoints, certs], { env: { ...process.env, ROOT_PASSWORD: 'guide-pass' } });
    // Auth is on: a wrong password is refused, root's password works (for people; the nodes use the certificate).
    const as = (user: string) => spawnSync('etcdctl', ['--endpoints', endpoints, '--cacert', `${certs}/ca.crt`, '--cert', `${certs}/client.crt`, '--key', `${certs}/client.key`, '--user', user, 'put', 'guide-check', 'x'], { encoding: 'utf8' });
    assert.notEqual(as('root:wrong').status, 0, 'a wrong password is refused');
    assert.equal(as('root:guide-pass').status, 0, as('root:guide-pass').stderr);

    // Two nodes from the unit's ExecStart and the guide's node.env (ports and paths of this machine).
    const env = guideEnv();
    const argvOf = new Map<string, string[]>();
    for (const id of ['node-a', 'node-b']) {
      const mine: Record<string, string> = { ...env, ROTA_ETCD: endpoints, ROTA_ID: id, ROTA_HOST: '127.0.0.1', ROTA_PORT: String(await freePort()), ROTA_CERTS: certs, ROTA_EXEC: 'sleep 600' };
      argvOf.set(id, execStart(mine));
      nodes.push(await startRota(argvOf.get(id)!, { env: { ROTA_TOKEN: mine.ROTA_TOKEN } }));
    }
    const base = nodes[0].api!;
    const auth = { authorization: `Bearer ${env.ROTA_TOKEN}` };
    assert.equal((await fetch(`${base}/work`)).status, 401, 'the API wants the token');
    assert.equal((await fetch(`${base}/work`, { method: 'POST', body: 'guide item', headers: { ...auth, 'content-type': 'text/plain' } })).status, 201);
    await waitFor(async () => ((await (await fetch(`${base}/work`, { headers: auth })).json()) as Array<{ claimedBy?: string }>)[0]?.claimedBy !== undefined, 15_000, 'the item claimed');

    // Section 5: its node restarted (systemctl restart: SIGTERM, then the same command): the item
    // waits for it and runs nowhere else meanwhile; `rota workers` shows it back with its load.
    const holderOf = async (api: string) => ((await (await fetch(`${api}/work`, { headers: auth })).json()) as Array<{ claimedBy?: string }>)[0]?.claimedBy;
    const holder = (await holderOf(base))!;
    const other = nodes.find((n) => n.id !== holder)!;
    const seen = new Set<string>();
    let watching = true;
    const watch = (async () => {
      while (watching) (seen.add((await holderOf(other.api!)) ?? 'none'), await new Promise((r) => setTimeout(r, 25)));
    })();
    const old = nodes.find((n) => n.id === holder)!;
    await old.stop();
    nodes.splice(nodes.indexOf(old), 1, await startRota(argvOf.get(holder)!, { env: { ROTA_TOKEN: env.ROTA_TOKEN } }));
    await waitFor(async () => (await holderOf(other.api!)) === holder, 15_000, 'the item running on its node again');
    watching = false;
    await watch;
    assert.deepEqual([...seen].filter((w) => w !== holder && w !== 'none'), [], 'the item ran on no other node');
    // (A worker publishes its load within 5 s of a change.)
    let listed = '';
    await waitFor(() => {
      const r = spawnSync(process.execPath, [rotaBin, 'workers', '--api', other.api!, '--token', env.ROTA_TOKEN], { encoding: 'utf8' });
      assert.equal(r.status, 0, r.stderr);
      listed = r.stdout;
      const [header, ...rows] = listed.trim().split('\n').map((l) => l.split(/\s{2,}/));
      return rows.find((row) => row[0] === holder)?.[header.indexOf('RUNNING')] === '1';
    }, 8000, `rota workers to show ${holder} running its item`).catch((err: Error) => assert.fail(`${err.message}:\n${listed}`));

    // The alert rules only name metrics the nodes serve; Prometheus scrapes where they are.
    const metrics = await (await fetch(`${base}/metrics`)).text();
    const served = new Set([...metrics.matchAll(/^# TYPE (\S+) (\S+)$/gm)].flatMap(([, name, type]) => (type === 'histogram' ? [`${name}_bucket`, `${name}_sum`, `${name}_count`] : [name])));
    const rules = YAML.parse(fs.readFileSync(deploy('rota-alerts.yml'), 'utf8')) as { groups: Array<{ rules: Array<{ alert: string; expr: string }> }> };
    const alerts = rules.groups.flatMap((g) => g.rules);
    assert.deepEqual(alerts.map((a) => a.alert), ['RotaNoLeader', 'RotaSlowFailover', 'RotaTaskFailuresRising']);
    for (const a of alerts) for (const name of a.expr.match(/rota_[a-z_]+/g) ?? []) assert.ok(served.has(name), `${a.alert} names ${name}, which no node serves`);
    const prom = YAML.parse(fs.readFileSync(deploy('prometheus.yml'), 'utf8')) as { rule_files: string[]; scrape_configs: Array<{ job_name: string; metrics_path: string }> };
    assert.deepEqual(prom.rule_files, ['rota-alerts.yml']);
    assert.equal(prom.scrape_configs[0].metrics_path, '/metrics');
    assert.equal(prom.scrape_configs[0].job_name, 'rota', 'the alerts select job="rota"');

    // The unit: systemd reads it (with this machine's paths for the binary and the settings file).
    const unit = fs.readFileSync(deploy('rota-node.service'), 'utf8');
    for (const line of ['Restart=always', 'KillMode=control-group', 'EnvironmentFile=/etc/rota/node.env']) assert.ok(unit.includes(line), `the unit has ${line}`);
    const envFile = path.join(tmp.dir, 'node.env');
    fs.writeFileSync(envFile, Object.entries(env).map(([k, v]) => `${k}=${v}`).join('\n'));
    const local = path.join(tmp.dir, 'rota-node.service');
    fs.writeFileSync(local, unit.replace('/usr/bin/rota', rotaBin).replace('/etc/rota/node.env', envFile).replace(/^(User|Group)=.*$/gm, ''));
    const verify = execFileSync('systemd-analyze', ['verify', local], { encoding: 'utf8', stdio: ['ignore', 'pipe', 'pipe'] });
    assert.equal(verify.trim(), '', 'systemd-analyze verify has nothing to say');
  });
});
