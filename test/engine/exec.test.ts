// --exec services under an agent: a process that exits on its own is restarted with backoff and
// its restarts are counted where the API shows them; an update restarts it with the new content.
import assert from 'node:assert/strict';
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';
import { describe, it } from 'node:test';
import { StoreClient } from '../../src/client/store-client.js';
import { Agent } from '../../src/engine/agent.js';
import { Keys } from '../../src/engine/keys.js';
import { Leader } from '../../src/engine/leader.js';
import { silentLogger } from '../../src/engine/log.js';
import { execProcessor } from '../../src/engine/processors/exec-processor.js';
import { EmbeddedStore } from '../../src/store/index.js';
import { processesWith } from '../helpers/proc-scan.js';
import { tempDir, waitFor } from '../helpers/processes.js';

describe('exec processor under an agent', { timeout: 60_000 }, () => {
  it('restarts a crashing service with backoff, counts restarts, restarts on update with new content', async () => {
    const store = await EmbeddedStore.open({});
    const keys = new Keys('/work/');
    const tmp = tempDir('exec');
    const out = path.join(tmp.dir, 'runs');
    // Appends its content, then exits 3 unless the content says "stay".
    const command = `cat >> "${out}"; echo >> "${out}"; [ "$ROTA_WORK_CONTENT" = stay ] && exec sleep 1000; exit 3`;
    const leader = new Leader({ store, keys, nodeId: 'n', log: silentLogger, ttl: 2, debounceMs: 10 });
    const agent = new Agent({ store, keys, workerId: 'w', processor: execProcessor(command, { backoffMs: 100, maxBackoffMs: 400 }), log: silentLogger, ttl: 2 });
    const client = new StoreClient(store, keys);
    try {
      leader.start();
      await agent.start();
      const { id } = await client.addWork({ content: 'crash' });
      await waitFor(async () => ((await client.getWork(id)).restarts ?? 0) >= 3, 10_000, 'three restarts');
      const runs = () => fs.readFileSync(out, 'utf8').split('\n').filter(Boolean);
      await waitFor(() => runs().length >= 4, 5000, 'the fourth run');
      assert.ok(runs().every((r) => r === 'crash'), `runs: ${runs().join(',')}`);
      await client.updateWork(id, { content: 'stay' });
      await waitFor(() => fs.readFileSync(out, 'utf8').includes('stay'), 5000, 'the update to restart it with the new content');
      const before = (await client.getWork(id)).restarts;
      await new Promise((r) => setTimeout(r, 800));
      assert.equal((await client.getWork(id)).restarts, before, 'a healthy process is not restarted');
    } finally {
      await agent.stop();
      await leader.stop();
      await store.close();
      tmp.remove();
    }
  });

  it('a stop under way (the grace after an update) is cut short when the session is lost', async () => {
    const store = await EmbeddedStore.open({});
    const keys = new Keys('/work/');
    const mark = randomUUID();
    process.env.ROTA_EXEC_TEST = mark;
    // Ignores SIGTERM, so only the end of the grace (5 s) or a stricter stop ends it.
    const command = "trap '' TERM; while :; do sleep 0.1; done";
    const leader = new Leader({ store, keys, nodeId: 'n', log: silentLogger, ttl: 2, debounceMs: 10 });
    const agent = new Agent({ store, keys, workerId: 'w', processor: execProcessor(command), log: silentLogger, ttl: 2 });
    const lease = new Promise<string>((resolve) => agent.once('registered', resolve));
    const client = new StoreClient(store, keys);
    const children = (id: string) => processesWith('ROTA_EXEC_TEST', mark).filter((p) => p.env.ROTA_WORK_ID === id);
    try {
      leader.start();
      await agent.start();
      const { id } = await client.addWork({ content: 'one' });
      await waitFor(() => children(id).length > 0, 10_000, 'the child to run');
      await client.updateWork(id, { content: 'two' }); // its child gets SIGTERM and 5 s of grace
      await new Promise((r) => setTimeout(r, 300));
      const stopping = new Set(children(id).map((p) => p.pid));
      assert.ok(stopping.size > 0, 'the child outlives its SIGTERM');
      await store.revokeLease(await lease); // the session is lost while that stop is under way
      const t = Date.now();
      await waitFor(() => !children(id).some((p) => stopping.has(p.pid)), 10_000, 'the child to be stopped');
      assert.ok(Date.now() - t < 2500, `the stop ran ${Date.now() - t} ms past the session's loss (grace 5 s)`);
    } finally {
      await agent.stop();
      await leader.stop();
      await store.close();
      delete process.env.ROTA_EXEC_TEST;
    }
  });
});
