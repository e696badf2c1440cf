// The etcd allocator's Getting Started, as it runs on rota: real etcd, real `rota node` processes.
import assert from 'node:assert/strict';
import { execFileSync } from 'node:child_process';
import { describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/processes.js';
import { api, startRota } from '../helpers/rota-process.js';

const TTL = 2;

describe('the etcd allocator walkthrough on rota', { timeout: 120_000 }, () => {
  const fleet = useEtcdFleet();
  const { nodes, owners: active, loads } = fleet;
  const startNode = async () => {
    const n = await startRota(['node', '--etcd', fleet.etcd.endpoints.join(','), '--port', '0', '--ttl', String(TTL)]);
    nodes.push(n);
    return n;
  };

  it('adds work, spreads it as allocators join, fails over, updates and deletes', async () => {
    const first = await startNode();
    const ids: string[] = [];
    for (const content of ['testing=one', 'testing=two', 'testing=three', 'testing=four']) {
      const r = await api(first.api!, 'POST', '/work', content, 'application/x-www-form-urlencoded');
      assert.equal(r.status, 201);
      ids.push(r.body.id);
    }
    // The one allocator picks up all the work.
    await waitFor(async () => (await loads()).get(first.id) === 4, 10_000, 'four items on the first node');
    await first.waitForLine(/Starting work on id=.*content=testing=four/, 5000, 0);

    // Two more allocators: the first sheds work until loads are 2/1/1.
    const second = await startNode();
    const third = await startNode();
    await waitFor(async () => [...(await loads()).values()].sort().join() === '1,1,2', 15_000, 'loads 2/1/1');

    // etcdctl shows the etcd allocator's picture: workers, registry, active.
    const dump = execFileSync('etcdctl', ['--endpoints', fleet.etcd.endpoints[0], 'get', '--prefix', '/work/'], { encoding: 'utf8' });
    for (const id of ids) assert.ok(dump.includes(`/work/registry/${id}\ntesting=`) && dump.includes(`/work/active/${id}\n`), `etcdctl shows ${id}`);
    for (const n of nodes) assert.ok(dump.includes(`/work/workers/${n.id}\n`));

    // Kill an allocator with one item (not the leader): its item is claimed elsewhere within TTL + 1 s.
    const leader = (await api(first.api!, 'GET', '/status')).body.leader;
    const before = await loads();
    const victim = [second, third].find((n) => n.id !== leader && before.get(n.id) === 1)!;
    const orphan = [...(await active())].find(([, w]) => w === victim.id)![0];
    const killedAt = Date.now();
    await victim.kill();
    nodes.splice(nodes.indexOf(victim), 1);
    await waitFor(async () => {
      const owner = (await active()).get(orphan);
      return owner !== undefined && owner !== victim.id;
    }, 10_000, 'the orphan to be claimed elsewhere');
    const took = Date.now() - killedAt;
    assert.ok(took <= (TTL + 1) * 1000, `claimed elsewhere ${took} ms after SIGKILL (TTL ${TTL} s)`);
    await waitFor(async () => [...(await loads()).values()].sort().join() === '2,2', 10_000, 'loads 2/2');

    // An update reaches the owner's processor.
    const owners = await active();
    const updated = ids.find((id) => owners.has(id))!;
    const owner = nodes.find((n) => n.id === owners.get(updated))!;
    const mark = owner.lines.length;
    assert.equal((await api(first.api!, 'PUT', `/work/${updated}`, 'testing=twotwo')).status, 200);
    await owner.waitForLine(new RegExp(`Updating work on id=${updated}, content=testing=twotwo`), 5000, mark);

    // A delete stops it on its owner, and the rest is rebalanced (3 items: 2/1).
    assert.equal((await api(first.api!, 'DELETE', `/work/${updated}`)).status, 204);
    await owner.waitForLine(new RegExp(`Stopping work on id=${updated}`), 5000, mark);
    await waitFor(async () => [...(await loads()).values()].sort().join() === '1,2' && !(await active()).has(updated), 10_000, 'loads 2/1');
    const work = (await api(first.api!, 'GET', '/work')).body as Array<{ id: string; assignedTo: string; claimedBy: string }>;
    assert.equal(work.length, 3);
    for (const w of work) assert.equal(w.claimedBy, w.assignedTo, `${w.id} runs where it is assigned`);
  });
});
