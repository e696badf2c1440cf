// No child of a node outlives that node's right to run it, however the node goes: `rota node --exec`
// on a real etcd, children that ignore SIGTERM and leave a grandchild behind, and every way of
// killing or freezing the node, its guard, both, or their process group. A sampler reads /proc every
// 20 ms: two fencing tokens of one item alive at once is a double run.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import { after, describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { killAllWith, processesWith, RunSampler, type EnvCache } from '../helpers/proc-scan.js';
import { waitFor } from '../helpers/processes.js';
import { api, startRota, type RotaProcess } from '../helpers/rota-process.js';
import { TcpProxy } from '../helpers/tcp-proxy.js';

const TTL = 3;
const ITEMS = 4;
// Ignores SIGTERM, and so does its grandchild: only SIGKILL of the whole group ends them.
const STUBBORN = ["trap 'echo ignoring SIGTERM' TERM", "( trap '' TERM; exec sleep 1000 ) &", 'while :; do sleep 0.1; done'].join('\n');
/** Every process of a scenario carries it (the nodes get it, their guards and children inherit it). */
const MARK = 'ROTA_GROUP_KILL_TEST';

describe('children of a node killed or frozen in every way', { timeout: 180_000 }, () => {
  const fleet = useEtcdFleet();
  const proxies: TcpProxy[] = [];
  after(() => Promise.all(proxies.map((p) => p.close())));
  const cache: EnvCache = new Map();

  const running = (worker: string) => processesWith(MARK, undefined, cache).filter((p) => p.env.ROTA_WORKER_ID === worker && p.env.ROTA_WORK_ID);
  const guardOf = (node: RotaProcess) => {
    const guard = processesWith(MARK).find((p) => p.ppid === node.child.pid && fs.readFileSync(`/proc/${p.pid}/cmdline`, 'utf8').includes('guard'));
    assert.ok(guard, 'the node runs a guard');
    return guard.pid;
  };

  /** A victim (in a process group of its own, optionally behind a proxy) and a survivor, two items each, children running. */
  async function twoNodes(prefix: string, mark: string, options: { victimViaProxy?: boolean }) {
    const etcd = fleet.etcd.endpoints[0];
    let proxy: TcpProxy | undefined;
    if (options.victimViaProxy) proxies.push((proxy = await TcpProxy.start(Number(new URL(etcd).port))));
    const args = (url: string) => ['node', '--etcd', url, '--ttl', String(TTL), '--prefix', prefix, '--exec', STUBBORN];
    const env = { [MARK]: mark };
    const survivor = await startRota(args(etcd), { env });
    fleet.nodes.push(survivor);
    const victim = await startRota(args(proxy?.url ?? etcd), { env, detached: true });
    fleet.nodes.push(victim);
    for (let i = 0; i < ITEMS; i++) await api(survivor.api!, 'POST', '/work', `item ${i}`);
    const owners = async () => new Map((await fleet.store.range(`${prefix}active/`, { prefix: true })).kvs.map((kv) => [kv.key.slice(`${prefix}active/`.length), kv.value]));
    await waitFor(async () => {
      const o = [...(await owners()).values()];
      return o.length === ITEMS && o.filter((w) => w === victim.id).length === ITEMS / 2;
    }, 20_000, 'two items on each node');
    const held = async (worker: string) => [...(await owners())].filter(([, w]) => w === worker).map(([id]) => id).sort();
    const victimItems = await held(victim.id);
    const runs = (worker: string, items: string[]) => items.every((id) => running(worker).some((p) => p.env.ROTA_WORK_ID === id));
    const survivorItems = await held(survivor.id);
    await waitFor(() => runs(victim.id, victimItems) && runs(survivor.id, survivorItems), 20_000, 'every child to run');
    const sampler = new RunSampler({ name: MARK, value: mark });
    return { victim, survivor, victimItems, proxy, held, runs, sampler };
  }

  type Scenario = Awaited<ReturnType<typeof twoNodes>>;
  /**
   * Runs `body` on a fresh pair of nodes, then stops them (and the sampler) whatever happened, and
   * checks that nothing of the scenario is left: every process carrying its mark is gone.
   */
  async function scenario(prefix: string, options: { victimViaProxy?: boolean }, body: (t: Scenario) => Promise<void>) {
    const mark = randomUUID();
    let failure: unknown;
    let t: Scenario | undefined;
    try {
      t = await twoNodes(prefix, mark, options);
      await body(t);
    } catch (err) {
      failure = err;
    }
    t?.sampler.stop();
    const mine = fleet.nodes.filter((n) => n.child.spawnargs.includes(prefix));
    for (const n of mine) n.child.kill('SIGCONT');
    await Promise.all(mine.map((n) => n.stop()));
    // Their guards exit once their nodes have gone; anything else is a leftover.
    const clean = await waitFor(() => processesWith(MARK, mark).length === 0, 5000, 'every process of the scenario to end').catch(() => false);
    const killed = killAllWith(MARK, mark);
    if (failure) throw failure;
    assert.ok(clean, `${killed} processes of the scenario were left running`);
  }

  /** Waits until none of `worker`'s children runs; returns how long that took from `since`. */
  async function allGone(worker: string, since: number, boundMs: number, what: string): Promise<number> {
    await waitFor(() => running(worker).length === 0, boundMs + 10_000, `the children of the ${what} to end`);
    const took = Date.now() - since;
    assert.ok(took < boundMs, `the children of the ${what} ran ${took} ms on (bound ${boundMs} ms: the lease could expire)`);
    return took;
  }

  /** The survivor runs every item, each once, and no sample saw an item run twice. */
  async function takenOver(t: Scenario) {
    await waitFor(async () => (await t.held(t.survivor.id)).length === ITEMS, 20_000, 'the survivor to hold every item');
    await waitFor(async () => t.runs(t.survivor.id, await t.held(t.survivor.id)), 10_000, 'the survivor to run every item');
    await new Promise((r) => setTimeout(r, 300));
    t.sampler.stop();
    assert.ok(t.sampler.samples >= 5, `only ${t.sampler.samples} samples`);
    assert.deepEqual(t.sampler.doubles.slice(0, 5), [], 'an item ran twice at once');
  }

  it("kill -9 of the node's process group: the guard survives it and stops the children; the items move", async () => {
    await scenario('/gk1/', {}, async (t) => {
      const at = Date.now();
      process.kill(-t.victim.child.pid!, 'SIGKILL');
      const took = await allGone(t.victim.id, at, TTL * 1000, 'group-killed node');
      console.log(`# process group SIGKILLed: its children gone after ${took} ms`);
      await takenOver(t);
    });
  });

  it('the node and its guard SIGKILLed at once: the children go with them; the items move', async () => {
    await scenario('/gk2/', {}, async (t) => {
      const guard = guardOf(t.victim);
      const at = Date.now();
      process.kill(guard, 'SIGKILL');
      process.kill(t.victim.child.pid!, 'SIGKILL');
      const took = await allGone(t.victim.id, at, TTL * 1000, 'node killed with its guard');
      console.log(`# node and guard SIGKILLed: children gone after ${took} ms`);
      await takenOver(t);
    });
  });

  it('a second Ctrl-C during the graceful stop: children that ignore SIGTERM are killed before the lease can expire', async () => {
    await scenario('/gk3/', {}, async (t) => {
      process.kill(-t.victim.child.pid!, 'SIGINT'); // Ctrl-C reaches the terminal's foreground group
      await t.victim.waitForLine(/SIGINT: stopping/, 5000);
      await new Promise((r) => setTimeout(r, 300));
      const at = Date.now();
      process.kill(-t.victim.child.pid!, 'SIGINT');
      await t.victim.waitForLine(/SIGINT again: exiting at once/, 5000);
      const took = await allGone(t.victim.id, at, TTL * 1000, 'node that exited at once');
      console.log(`# second Ctrl-C: children gone after ${took} ms`);
      await takenOver(t);
    });
  });

  it('the guard SIGKILLed alone: the node kills the children at once and runs them again under a new guard', async () => {
    await scenario('/gk4/', {}, async (t) => {
      // A child is a process group (its leader's pid): under one claim the old and the new run share a
      // token, so what must hold is that every old group is gone before the first new one starts.
      const before = new Set(running(t.victim.id).map((p) => p.pgid));
      let oldGoneAt = 0;
      let newSeenAt = 0;
      const sample = () => {
        const now = running(t.victim.id);
        if (!oldGoneAt && !now.some((p) => before.has(p.pgid))) oldGoneAt = Date.now();
        if (!newSeenAt && now.some((p) => !before.has(p.pgid))) newSeenAt = Date.now();
      };
      const poll = setInterval(sample, 10);
      const at = Date.now();
      process.kill(guardOf(t.victim), 'SIGKILL');
      try {
        const again = () => t.victimItems.every((id) => running(t.victim.id).some((p) => p.env.ROTA_WORK_ID === id && !before.has(p.pgid)));
        await waitFor(again, 15_000, 'the items to run again on the same node');
        sample(); // a loaded host may have run no poll since the new ones appeared
      } finally {
        clearInterval(poll);
      }
      console.log(`# guard SIGKILLed: old children gone after ${oldGoneAt - at} ms, new ones started after ${newSeenAt - at} ms`);
      assert.ok(oldGoneAt > 0 && oldGoneAt <= newSeenAt, 'a new child started while an old one still ran');
      assert.ok(oldGoneAt - at < TTL * 1000, `the old children ran ${oldGoneAt - at} ms on`);
      assert.deepEqual(await t.held(t.victim.id), t.victimItems, 'the node kept its claims');
      t.sampler.stop();
      assert.deepEqual(t.sampler.doubles.slice(0, 5), [], 'an item ran twice at once');
    });
  });

  it('the guard frozen (SIGSTOP) and the node cut off from etcd: the node kills the children itself at its fence deadline', async () => {
    await scenario('/gk5/', { victimViaProxy: true }, async (t) => {
      const guard = guardOf(t.victim);
      process.kill(guard, 'SIGSTOP');
      try {
        const at = Date.now();
        t.proxy!.cut();
        const took = await allGone(t.victim.id, at, TTL * 1000, 'cut-off node with a frozen guard');
        console.log(`# frozen guard, node cut off: children gone after ${took} ms`);
        await takenOver(t);
      } finally {
        for (const sig of ['SIGCONT', 'SIGKILL'] as const) {
          try {
            process.kill(guard, sig);
          } catch {
            // the node killed it
          }
        }
      }
    });
  });
});
