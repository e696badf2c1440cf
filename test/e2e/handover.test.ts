// Handover never runs an item twice: every processor start and stop, with time and fencing token,
// across 50+ forced moves between three `rota node` processes.
import assert from 'node:assert/strict';
import path from 'node:path';
import { after, describe, it } from 'node:test';
import { useEtcdFleet } from '../helpers/fleet.js';
import { assertNoOverlap, readRecords } from '../helpers/intervals.js';
import { tempDir, waitFor } from '../helpers/processes.js';
import { api, root, startRota } from '../helpers/rota-process.js';

describe('handover', { timeout: 180_000 }, () => {
  const fleet = useEtcdFleet();
  const { nodes, claims, loads } = fleet;
  const tmp = tempDir('handover');
  const record = path.join(tmp.dir, 'runs.jsonl');
  after(() => tmp.remove());

  it('no two workers ever run one item at once across 50 forced moves', async () => {
    const handler = path.join(root, 'test/fixtures/recording-handler.mjs');
    for (let i = 0; i < 3; i++) {
      nodes.push(await startRota(['node', '--etcd', fleet.etcd.endpoints[0], '--ttl', '3', '--handler', handler], { env: { ROTA_RECORD_FILE: record } }));
    }
    const base = nodes[0].api!;
    for (let i = 0; i < 12; i++) assert.equal((await api(base, 'POST', '/work', `item ${i}`)).status, 201);
    const balanced = async () => [...(await loads()).values()].every((n) => n === 4);
    await waitFor(balanced, 15_000, 'loads 4/4/4');
    let moves = 0;
    for (let round = 0; moves < 50; round++) {
      const target = nodes[round % 3];
      const before = readRecords(record).filter((r) => r.op === 'start').length;
      assert.equal((await api(base, 'POST', `/workers/${target.id}/drain`)).status, 200);
      await waitFor(async () => (await loads()).get(target.id) === 0 && (await claims()).size === 12, 15_000, `${target.id} drained`);
      assert.equal((await api(base, 'POST', `/workers/${target.id}/undrain`)).status, 200);
      await waitFor(balanced, 15_000, 'loads 4/4/4 again');
      await waitFor(() => readRecords(record).filter((r) => r.op === 'start').length - before >= 8, 5000, 'the moves to start');
      moves = readRecords(record).filter((r) => r.op === 'start').length - 12;
    }
    const { runs } = assertNoOverlap(readRecords(record));
    console.log(`# ${moves} moves, ${runs} runs, no overlap`);
    assert.ok(moves >= 50);
  });
});
