// The README's getting-started sections, run as a newcomer would: every ```sh block of them, in
// order, against a fresh `rota up` and a fresh etcd with `rota node`s. Ports are this machine's
// free ones (3000, 8081… and etcd's 2379 rewritten); the commands that start servers (`etcd`,
// `rota node`, `npm start`) and `kill -9 $!` are done by the test with the same arguments; every
// other line runs in bash with `set -e` and a `curl` that fails on an HTTP error. After each
// section the fleet is checked to be what the README says.
import assert from 'node:assert/strict';
import { spawnSync } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { startEtcd, type EtcdCluster } from '../helpers/etcd.js';
import { freePort, tempDir, waitFor } from '../helpers/processes.js';
import { api, root, startRota, type RotaProcess } from '../helpers/rota-process.js';

const readme = fs.readFileSync(path.join(root, 'README.md'), 'utf8');

/** The lines of the ```sh blocks between two headings, continuation lines joined. */
function shLines(from: string, to: string): string[] {
  const section = readme.slice(readme.indexOf(from), readme.indexOf(to));
  assert.ok(section.length > 0, `README has the section ${from}`);
  const blocks = [...section.matchAll(/```sh\n([\s\S]*?)```/g)].map((m) => m[1]);
  return blocks.flatMap((b) => b.replace(/\\\n\s*/g, ' ').split('\n')).filter((l) => l.trim() && !l.trim().startsWith('#'));
}

type Step = { kind: 'bash'; script: string } | { kind: 'node'; args: string[] } | { kind: 'kill' } | { kind: 'skip'; line: string };

/** The lines as steps: servers and kills for the test, the rest as bash chunks. */
function steps(lines: string[], rewrite: (l: string) => string): Step[] {
  const out: Step[] = [];
  for (const raw of lines) {
    const line = rewrite(raw);
    if (/^etcd\s/.test(line)) out.push({ kind: 'skip', line });
    else if (/^bin\/rota\.js node\s/.test(line)) out.push({ kind: 'node', args: line.replace(/#.*$/, '').replace(/&\s*$/, '').trim().split(/\s+/).slice(1) });
    else if (/^kill -9 \$!/.test(line)) out.push({ kind: 'kill' });
    else {
      const last = out.at(-1);
      if (last?.kind === 'bash') last.script += `\n${line}`;
      else out.push({ kind: 'bash', script: line });
    }
  }
  return out;
}

describe('the README, run as written', { timeout: 180_000 }, () => {
  const procs: RotaProcess[] = [];
  let etcd: EtcdCluster | undefined;
  const tmp = tempDir('readme');
  after(async () => {
    for (const p of procs) p.child.kill('SIGKILL');
    await Promise.all(procs.map((p) => p.stop()));
    await etcd?.stop();
    tmp.remove();
  });
  const state = path.join(tmp.dir, 'state.sh');
  /** Runs a chunk in bash: set -e, a failing curl, the variables of the chunks before. */
  const bash = (script: string, env: Record<string, string>) => {
    const full = ['set -euo pipefail', 'curl() { command curl -fsS --max-time 20 "$@"; }', `[ -f ${state} ] && . ${state}`, script, `for v in $(compgen -v | grep -E '^[a-z][a-z0-9_]*$'); do declare -p "$v"; done > ${state}`].join('\n');
    const r = spawnSync('bash', ['-c', full], { cwd: root, env: { ...process.env, ...env }, encoding: 'utf8', timeout: 60_000 });
    assert.equal(r.status, 0, `README commands failed (${r.status ?? r.signal} ${r.error?.message ?? ""}):\n${script}\n--- stdout\n${r.stdout}\n--- stderr\n${r.stderr}\n--- state\n${fs.existsSync(state) ? fs.readFileSync(state, "utf8") : ""}`);
    return r.stdout;
  };

  it('Getting started on one machine', async () => {
    const up = await startRota(['up', '--memory', '--port', '0', '--ttl', '2']);
    procs.push(up);
    const port = new URL(up.api!).port;
    const lines = shLines('## Getting started on one machine', '## Getting started on etcd');
    const run = steps(lines, (l) => l.replace(/(localhost|127\.0\.0\.1):3000\b/g, `$1:${port}`));
    assert.ok(run.every((s) => s.kind === 'bash'), 'only commands: npm start is the test\'s rota up');
    for (const s of run) if (s.kind === 'bash') bash(s.script, { ROTA_API: up.api! });
    // Six items; three workers left after the crash, and every item running again after the TTL.
    const items = (await api(up.api!, 'GET', '/work')).body as Array<{ content: string; claimedBy?: string }>;
    assert.deepEqual(items.map((i) => i.content).sort(), ['one', 'two', 'three', 'four', 'five', 'six'].map((c) => `testing=${c}`).sort());
    await waitFor(async () => ((await api(up.api!, 'GET', '/workers')).body as unknown[]).length === 3, 15_000, 'three workers after the crash');
    await waitFor(async () => ((await api(up.api!, 'GET', '/work')).body as Array<{ claimedBy?: string }>).every((i) => i.claimedBy), 15_000, 'every item running again');
  });

  it('Getting started on etcd', async () => {
    etcd = await startEtcd();
    const endpoint = etcd.endpoints[0];
    const ports = new Map<string, number>();
    for (const p of ['8081', '8082', '8083']) ports.set(p, await freePort());
    const rewrite = (l: string) =>
      l.replace(/http:\/\/127\.0\.0\.1:2379/g, endpoint).replace(/\b(808[123])\b/g, (p) => String(ports.get(p)));
    const run = steps(shLines('## Getting started on etcd', '## Running your work'), rewrite);
    const env = { ETCDCTL_ENDPOINTS: endpoint, ETCDCTL_API: '3' };
    const nodes: RotaProcess[] = [];
    const base = `http://127.0.0.1:${ports.get('8081')}`;
    for (const s of run) {
      if (s.kind === 'node') {
        // (A TTL of 2 s instead of 5 keeps the test short; nothing the README shows depends on it.)
        const node = await startRota([...s.args, '--ttl', '2']);
        procs.push(node);
        nodes.push(node);
        await waitFor(async () => ((await api(base, 'GET', '/workers')).body as unknown[]).length === nodes.length, 10_000, 'the node registered');
      } else if (s.kind === 'kill') {
        const last = nodes.pop()!;
        await last.kill();
        await waitFor(async () => ((await api(base, 'GET', '/work')).body as Array<{ claimedBy?: string }>).every((i) => i.claimedBy && i.claimedBy !== last.id), 10_000, 'its item claimed elsewhere');
      } else if (s.kind === 'bash') {
        bash(s.script, env);
        if (/for c in one two three four/.test(s.script)) await waitFor(async () => ((await api(base, 'GET', '/work')).body as Array<{ claimedBy?: string }>).filter((i) => i.claimedBy).length === 4, 10_000, 'four items running');
      }
      if (s.kind === 'node' && nodes.length === 3) {
        // Four items over three allocators: 2, 1, 1.
        await waitFor(async () => {
          const loads = new Map<string, number>();
          for (const i of (await api(base, 'GET', '/work')).body as Array<{ claimedBy?: string }>) if (i.claimedBy) loads.set(i.claimedBy, (loads.get(i.claimedBy) ?? 0) + 1);
          return [...loads.values()].sort().join() === '1,1,2';
        }, 10_000, 'the items spread 2, 1, 1');
      }
    }
    assert.ok(run.some((s) => s.kind === 'skip'), 'the etcd lines are the test\'s etcd');
    // The item added, updated and deleted is gone; the four first ones run on the two nodes left.
    const items = (await api(base, 'GET', '/work')).body as Array<{ content: string; claimedBy?: string }>;
    assert.deepEqual(items.map((i) => i.content).sort(), ['four', 'one', 'three', 'two'].map((c) => `testing=${c}`));
    assert.ok(items.every((i) => nodes.some((n) => n.id === i.claimedBy)));
  });
});
