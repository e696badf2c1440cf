// `rota up`: one process with the embedded store, the API and local workers that can be added,
// stopped cleanly (release at once) and crashed (release only when the lease expires).
import assert from 'node:assert/strict';
import { after, describe, it } from 'node:test';
import { waitFor } from '../helpers/processes.js';
import { api, startRota, type RotaProcess } from '../helpers/rota-process.js';

describe('rota up', { timeout: 60_000 }, () => {
  let up: RotaProcess | undefined;
  after(async () => up?.stop());

  it('runs local workers that can be added, stopped and crashed through the API', async () => {
    up = await startRota(['up', '--memory', '--port', '0', '--workers', '2', '--ttl', '2']);
    const base = up.api!;
    for (let i = 0; i < 6; i++) assert.equal((await api(base, 'POST', '/work', `item ${i}`)).status, 201);
    const owners = async () => {
      const work = (await api(base, 'GET', '/work')).body as Array<{ id: string; claimedBy?: string }>;
      const n = new Map<string, number>();
      for (const w of work) if (w.claimedBy) n.set(w.claimedBy, (n.get(w.claimedBy) ?? 0) + 1);
      return n;
    };
    await waitFor(async () => [...(await owners()).values()].join() === '3,3', 10_000, 'loads 3/3');

    const added = await api(base, 'POST', '/workers');
    assert.equal(added.status, 201);
    await waitFor(async () => (await owners()).get(added.body.id) === 2, 10_000, 'the new worker to get two items');

    // A clean stop releases at once; a crash only when the lease expires.
    const workers = ((await api(base, 'GET', '/workers')).body as Array<{ id: string }>).map((w) => w.id);
    const [clean, crashed] = workers.filter((id) => id !== added.body.id);
    let t = Date.now();
    assert.equal((await api(base, 'DELETE', `/workers/${clean}`)).status, 204);
    await waitFor(async () => !(await owners()).has(clean) && [...(await owners()).values()].reduce((a, b) => a + b, 0) === 6, 5000, 'the stopped worker’s items elsewhere');
    const cleanMs = Date.now() - t;
    t = Date.now();
    assert.equal((await api(base, 'DELETE', `/workers/${crashed}?crash=true`)).status, 204);
    await waitFor(async () => (await owners()).get(added.body.id) === 6, 10_000, 'every item on the last worker');
    const crashMs = Date.now() - t;
    assert.ok(cleanMs < 1500, `a clean stop released in ${cleanMs} ms`);
    assert.ok(crashMs >= 1000, `a crash released only when the lease expired (${crashMs} ms, TTL 2 s)`);
    assert.equal((await api(base, 'DELETE', `/workers/${crashed}`)).status, 404);
  });
});
