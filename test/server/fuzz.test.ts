// The HTTP fuzzer (test/fuzz/) in the suite: 1,000 random requests over every route, against
// `rota up --memory` and against a `rota node` on a real etcd. Never a 5xx, /healthz within 1 s
// throughout, and a refused request changes nothing. The seed is fixed (ROTA_FUZZ_SEED overrides it)
// so a failure replays: `npm run fuzz -- --requests 1000 --seed S --backend B`.
import assert from 'node:assert/strict';
import { describe, it } from 'node:test';
import { fuzzNode, passed } from '../fuzz/fuzz-runner.js';
import { startTarget, type Backend } from '../fuzz/targets.js';

const seed = Number(process.env.ROTA_FUZZ_SEED ?? 20_240_610);
const requests = Number(process.env.ROTA_FUZZ_REQUESTS ?? 1000);

describe('HTTP fuzzer', { timeout: 180_000 }, () => {
  for (const backend of ['embedded', 'etcd'] as Backend[]) {
    it(`${requests} random requests to a ${backend === 'embedded' ? 'rota up --memory' : 'rota node on etcd'}: no 5xx, /healthz within 1 s, refusals change nothing`, async () => {
      const target = await startTarget(backend);
      try {
        const figures = await fuzzNode(target.base, { backend, requests, seed });
        const { violations, answers, ...summary } = figures;
        console.log(`# fuzz ${JSON.stringify(summary)}`);
        assert.ok(passed(figures), `violations (seed ${seed}):\n${violations.join('\n')}\n${JSON.stringify(summary)}`);
        assert.equal(figures.requests, requests);
        assert.ok(figures.status['2xx'] > 0 && figures.status['4xx'] > 0, `both accepted and refused requests: ${JSON.stringify(answers)}`);
      } finally {
        await target.stop();
      }
    });
  }
});
