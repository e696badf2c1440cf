// --exec services under an agent: a process that exits on its own is restarted with backoff and
// its restarts are counted where the API shows them; an update restarts it with the new content.
import assert from 'node:assert/strict';
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
});
