// Prometheus's text format as the tests read it: samples by `name{labels}`, and sums over labels.
import assert from 'node:assert/strict';

/** Prometheus text → `name{labels}` → value (comments and blank lines skipped). */
export function parseMetrics(text: string): Map<string, number> {
  const out = new Map<string, number>();
  for (const line of text.split('\n')) {
    if (!line || line.startsWith('#')) continue;
    const m = /^([a-zA-Z_:][a-zA-Z0-9_:]*(?:\{[^}]*\})?) (\S+)$/.exec(line);
    assert.ok(m, `not a Prometheus sample line: ${line}`);
    out.set(m[1], Number(m[2]));
  }
  return out;
}

/** The sum of every sample of `name` whose labels include `match`. */
export function sumOf(samples: Map<string, number>, name: string, match = ''): number {
  let n = 0;
  for (const [k, v] of samples) if ((k === name || k.startsWith(`${name}{`)) && k.includes(match)) n += v;
  return n;
}

/** Scrapes `api`/metrics (with `token` if given). */
export async function scrape(api: string, token?: string): Promise<Map<string, number>> {
  const r = await fetch(`${api}/metrics`, { headers: token ? { authorization: `Bearer ${token}` } : {} });
  assert.equal(r.status, 200);
  return parseMetrics(await r.text());
}
