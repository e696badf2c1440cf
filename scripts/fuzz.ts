// npm run fuzz -- [--requests N] [--seed S] [--backend embedded|etcd|both]
// Random HTTP requests over every route of `rota up --memory` and of a `rota node` on a real etcd
// (test/fuzz/): never a 5xx, /healthz within 1 s, a refused request changes nothing. Prints one JSON
// line of figures per run and exits 1 on any violation (the offending requests on stderr).
import { fuzzNode, passed, type FuzzFigures } from '../test/fuzz/fuzz-runner.js';
import { startTarget, type Backend } from '../test/fuzz/targets.js';

function arg(name: string, fallback: string): string {
  const i = process.argv.indexOf(`--${name}`);
  return i >= 0 && process.argv[i + 1] !== undefined ? process.argv[i + 1] : fallback;
}

const requests = Number(arg('requests', '1000'));
const seed = Number(arg('seed', String(Date.now() % 1_000_000)));
const which = arg('backend', 'both');
if (!Number.isInteger(requests) || requests < 1 || !Number.isInteger(seed) || !['embedded', 'etcd', 'both'].includes(which)) {
  console.error('usage: npm run fuzz -- [--requests N] [--seed S] [--backend embedded|etcd|both]');
  process.exit(2);
}
const backends: Backend[] = which === 'both' ? ['embedded', 'etcd'] : [which as Backend];

const results: FuzzFigures[] = [];
for (const backend of backends) {
  const target = await startTarget(backend);
  try {
    results.push(
      await fuzzNode(target.base, {
        backend,
        requests,
        seed,
        onProgress: (n) => {
          if (n % 1000 === 0) process.stderr.write(`${backend}: ${n}/${requests}\n`);
        },
      }),
    );
  } finally {
    await target.stop();
  }
}
const sum = (f: (x: FuzzFigures) => number) => results.reduce((n, x) => n + f(x), 0);
const ok = results.every(passed);
console.log(
  JSON.stringify({
    seed,
    requests: sum((x) => x.requests),
    status: Object.fromEntries(Object.keys(results[0].status).map((k) => [k, sum((x) => x.status[k as keyof FuzzFigures['status']])])),
    fiveXX: sum((x) => x.fiveXX),
    maxHealthzMs: Math.max(...results.map((x) => x.maxHealthzMs)),
    refusedButChanged: sum((x) => x.refusedButChanged),
    acceptedButForeign: sum((x) => x.acceptedButForeign),
    ok,
    backends: results.map(({ violations: _v, ...rest }) => rest),
  }),
);
for (const r of results) for (const v of r.violations) console.error(`${r.backend}: ${v}`);
process.exit(ok ? 0 : 1);
