// Leader ranking (Scrap Worker's configurable ranking): three nodes of priorities 1, 5 and 3 started
// in that order — the 5 leads; SIGKILLed, the 3 leads within TTL + 1 s; restarted, the 5 leads again
// within 1 s. No two leaders at once: a deposed leader's writes carry its fence and are refused.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { waitFor } from '../helpers/processes.js';
import { api, startRota, type RotaProcess } from '../helpers/rota-process.js';

const TTL = 5;
const at = (line: string) => Date.parse(line.split(' ')[0]);

describe('leader ranking', { timeout: 90_000 }, () => {
  const fleet = useEtcdFleet();
  const start = (id: string, priority: number) => startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--id', id, '--ttl', String(TTL), '--priority', String(priority)]);
  const leader = async (via: RotaProcess) => ((await api(via.api!, 'GET', '/status')).body as { leader?: string }).leader;

  it('the highest priority leads, hands over on death and takes back at once on return', async () => {
    const p1 = await start('p1', 1);
    fleet.nodes.push(p1);
    await waitFor(async () => (await leader(p1)) === 'p1', 10_000, 'p1 to lead alone');
    const p5 = await start('p5', 5);
    fleet.nodes.push(p5);
    const p3 = await start('p3', 3);
    fleet.nodes.push(p3);
    await waitFor(async () => (await leader(p3)) === 'p5', 3000, 'p5 to lead');
    for (let i = 0; i < 10; i++) await api(p3.api!, 'POST', '/work', `item ${i}`);
    await waitFor(async () => (await fleet.claims()).size === 10, 10_000, 'ten items claimed');

    const killedAt = Date.now();
    await p5.kill();
    fleet.nodes.splice(fleet.nodes.indexOf(p5), 1);
    await waitFor(async () => (await leader(p3)) === 'p3', (TTL + 1) * 1000, 'p3 to lead within TTL + 1 s');
    const failover = Date.now() - killedAt;

    const back = await start('p5', 5);
    fleet.nodes.push(back);
    const upAt = Date.now();
    await waitFor(async () => (await leader(p3)) === 'p5', 1000, 'the restarted p5 to lead within 1 s', 20);
    const takeover = Date.now() - upAt;
    console.log(`# ranking: p3 led ${failover} ms after p5 was SIGKILLed (TTL ${TTL} s); the restarted p5 led ${takeover} ms after it was up`);

    // p3 stepped down before p5 took the office: never two leaders.
    const stepped = p3.lines.find((l) => /Stepping down node=p3/.test(l));
    const elected = back.lines.find((l) => /Became leader node=p5/.test(l));
    assert.ok(stepped && elected, 'p3 stepped down and p5 became leader');
    assert.ok(at(stepped!) <= at(elected!), `p5 led at ${elected}, before p3 stepped down at ${stepped}`);
    // Writes of a deposed term were refused by the fence, never applied: every item is still on one worker.
    const refused = [...p1.lines, ...p3.lines].filter((l) => /a write was refused: no longer leader/.test(l)).length;
    console.log(`# ranking: ${refused} planning writes refused by the fence after a handover`);
    await waitFor(async () => (await fleet.claims()).size === 10, 5000, 'every item claimed after the handovers');
    // The ranking is visible: each worker's record shows its priority.
    const workers = (await api(p3.api!, 'GET', '/workers')).body as Array<{ id: string; priority: number; leader: boolean }>;
    assert.deepEqual(workers.map((w) => [w.id, w.priority, w.leader]).sort(), [['p1', 1, false], ['p3', 3, false], ['p5', 5, true]]);
  });

  it('a priority set live hands the leadership over within a second', async () => {
    const p1 = fleet.nodes.find((n) => n.id === 'p1')!;
    const setAt = Date.now();
    const r = await api(p1.api!, 'PATCH', '/workers/p1', JSON.stringify({ priority: 9 }), 'application/json');
    assert.equal(r.status, 200, JSON.stringify(r.body));
    await waitFor(async () => (await leader(p1)) === 'p1', 1000, 'p1 to lead', 20);
    console.log(`# ranking: p1 led ${Date.now() - setAt} ms after its priority was set to 9`);
    await waitFor(async () => ((await api(p1.api!, 'GET', '/workers/p1')).body as { worker: { priority: number } }).worker.priority === 9, 2000, 'its record to show priority 9');
  });
});
