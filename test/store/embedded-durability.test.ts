// The embedded store's data directory: nothing acknowledged is lost to kill -9, a torn record is
// ignored, the revision never goes backwards, leased keys die with their process.
import assert from 'node:assert/strict';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { describe, it } from 'node:test';
import { EmbeddedStore } from '../../src/store/index.js';
import { exited, spawnTracked, tempDir, waitFor } from '../helpers/processes.js';

interface Acked {
  revision: number;
  puts: Map<string, number>; // key -> value length
  deleted: Set<string>;
  leased: string[];
}

/** Runs the writer child, SIGKILLs it after `killAfterMs`, and returns what it acknowledged. */
async function writeThenKill(dir: string, killAfterMs: number, snapshotBytes = 0): Promise<Acked> {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', 'test/fixtures/embedded-writer.ts', dir, String(snapshotBytes)], {
    stdio: ['ignore', 'pipe', 'inherit'],
  });
  const acked: Acked = { revision: 0, puts: new Map(), deleted: new Set(), leased: [] };
  let ready = false;
  readline.createInterface({ input: child.stdout! }).on('line', (line) => {
    if (line === 'ready') return void (ready = true);
    const [kind, rev, key, len, , gone] = line.split(' ');
    acked.revision = Math.max(acked.revision, Number(rev));
    if (kind === 'will-delete') acked.puts.delete(key);
    else if (kind === 'leased') acked.leased.push(key);
    else acked.puts.set(key, Number(len));
    if (gone) {
      acked.puts.delete(gone);
      acked.deleted.add(gone);
    }
  });
  try {
    await waitFor(() => ready, 15_000, 'the writer to start');
    await new Promise((r) => setTimeout(r, killAfterMs));
  } finally {
    child.kill('SIGKILL');
    await exited(child);
  }
  return acked;
}

async function assertDurable(dir: string, acked: Acked): Promise<number> {
  const store = await EmbeddedStore.open({ dir });
  try {
    const all = await store.range('/', { prefix: true });
    const stored = new Map(all.kvs.map((kv) => [kv.key, kv.value]));
    const missing = [...acked.puts].filter(([key, len]) => stored.get(key)?.length !== len);
    assert.deepEqual(missing.slice(0, 5), [], `${missing.length} acknowledged writes lost of ${acked.puts.size}`);
    for (const key of acked.deleted) assert.equal(stored.has(key), false, `${key} was deleted`);
    assert.deepEqual(all.kvs.filter((kv) => kv.key.startsWith('/leased/')).map((kv) => kv.key), [], 'leased keys are gone');
    assert.ok(all.revision >= acked.revision, `revision ${all.revision} went back below acknowledged ${acked.revision}`);
    // The store accepts writes after recovery, at a revision above anything acknowledged before.
    const r = await store.put('/after-restart', 'ok');
    assert.ok(r.revision > acked.revision);
    return all.revision;
  } finally {
    await store.close();
  }
}

describe('embedded store durability', { timeout: 120_000 }, () => {
  it('every acknowledged write survives kill -9 at a random moment, repeatedly', async () => {
    const tmp = tempDir('durable');
    try {
      let lastRevision = 0;
      for (let round = 0; round < 4; round++) {
        const acked = await writeThenKill(tmp.dir, 200 + Math.floor(Math.random() * 1200));
        assert.ok(acked.puts.size > 20, `round ${round}: only ${acked.puts.size} writes acknowledged`);
        const revision = await assertDurable(tmp.dir, acked);
        assert.ok(revision > lastRevision, 'the revision never goes backwards across restarts');
        lastRevision = revision;
      }
    } finally {
      tmp.remove();
    }
  });

  it('survives kill -9 while snapshots replace the log', async () => {
    const tmp = tempDir('snapshots');
    try {
      const acked = await writeThenKill(tmp.dir, 1500, 64 * 1024);
      assert.ok(fs.existsSync(path.join(tmp.dir, 'snapshot.json')), 'a snapshot was taken');
      await assertDurable(tmp.dir, acked);
    } finally {
      tmp.remove();
    }
  });

  it('ignores a torn last record and keeps appending after the valid ones', async () => {
    const tmp = tempDir('torn');
    try {
      let store = await EmbeddedStore.open({ dir: tmp.dir });
      await store.put('/a', '1');
      const b = await store.put('/b', '2');
      await store.close();
      const wal = path.join(tmp.dir, 'wal.log');
      const whole = fs.readFileSync(wal);
      fs.appendFileSync(wal, whole.subarray(0, Math.floor(whole.length / 3))); // half a record: a crash mid-write
      store = await EmbeddedStore.open({ dir: tmp.dir });
      assert.equal((await store.get('/b'))?.value, '2');
      assert.equal((await store.range('/', { prefix: true })).revision, b.revision);
      await store.put('/c', '3');
      await store.close();
      store = await EmbeddedStore.open({ dir: tmp.dir });
      assert.deepEqual((await store.range('/', { prefix: true })).kvs.map((kv) => kv.value), ['1', '2', '3']);
      await store.close();
    } finally {
      tmp.remove();
    }
  });

  it('refuses a data directory another live store holds, and takes over one a dead process left', async () => {
    const tmp = tempDir('lock');
    try {
      const store = await EmbeddedStore.open({ dir: tmp.dir });
      await assert.rejects(EmbeddedStore.open({ dir: tmp.dir }), /already open/);
      await store.close();
      fs.writeFileSync(path.join(tmp.dir, 'LOCK'), '999999999'); // no such process
      const again = await EmbeddedStore.open({ dir: tmp.dir });
      await again.close();
    } finally {
      tmp.remove();
    }
  });
});
