// Random HTTP requests over every route of the API (fast-check arbitraries): methods, paths with
// good and bad segments, query values, headers (content types, Origin, Host, Last-Event-ID) and
// bodies — empty, valid, truncated, huge, deeply nested, "__proto__", wrong types, invalid UTF-8.
// Nothing generated may run a command on this machine: the fuzzed nodes have no worker, and POST
// /workers (which would add one to `rota up`) is only ever sent in a form that must be refused.
import fc from 'fast-check';

/** One request as the fuzzer sends it. */
export interface FuzzRequest {
  method: string;
  path: string;
  headers: Record<string, string>;
  /** A body, or a size to fill with 'x' (huge bodies are made at send time, not kept). */
  body?: Buffer | { fill: number };
  /** Why it must be refused whatever the server thinks (e.g. another origin); a 2xx then is a violation. */
  mustRefuse?: string;
}

/** Ids the runner creates before fuzzing, so some requests reach real resources. */
export const SEEDED = { work: 'fz-a', job: 'fzjob', run: 'fzrun', node: 'n', cache: 'fzc' };

const utf8 = (s: string) => Buffer.from(s, 'utf8');

const goodId = fc.constantFrom(SEEDED.work, SEEDED.job, SEEDED.run, SEEDED.node, `${SEEDED.job}.0`, 'w1', 'x', 'a-b_c:d.e');
const badId = fc.oneof(
  fc.constantFrom('', '..', '.', '%2e%2e', '%00', '%ff', '%', '%zz', 'a%2Fb', '__proto__', 'constructor', '-x', 'a%20b', '%C3%BC', '%F0%9F%9A%80', '*', '%0d%0a'),
  fc.integer({ min: 65, max: 700 }).map((n) => 'i'.repeat(n)),
  fc.string({ maxLength: 20 }).map(encodeURIComponent),
  fc.uint8Array({ maxLength: 12 }).map((b) => [...b].map((x) => `%${x.toString(16).padStart(2, '0')}`).join('')),
);
const segment = fc.oneof({ arbitrary: goodId, weight: 3 }, { arbitrary: badId, weight: 2 });
const index = fc.oneof(fc.constantFrom('0', '1', '2', '-1', '1.5', 'abc', '99999999999', ''), fc.nat().map(String));

/** Paths of every route, with segments drawn good or bad. */
const routePath = fc.oneof(
  fc.constantFrom('/healthz', '/status', '/', '/index.html', '/app.js', '/app.css', '/work', '/workers', '/jobs', '/runs', '/caches', '/events', '/ws', '/nope', '/work/', '//work', '/work/a/b'),
  fc.constantFrom('/openapi.json', '/docs', '/docs.js', '/metrics', '/metrics/series', '/metrics/', '/openapi.json/x'),
  segment.map((id) => `/work/${id}`),
  segment.map((id) => `/jobs/${id}`),
  segment.map((id) => `/jobs/${id}/tasks`),
  segment.map((id) => `/jobs/${id}/cancel`),
  segment.map((id) => `/jobs/${id}/retry`),
  segment.map((id) => `/work/${id}/attempts`),
  segment.map((id) => `/work/${id}/retry`),
  segment.map((id) => `/workers/${id}`),
  fc.tuple(segment, fc.constantFrom('drain', 'undrain')).map(([id, verb]) => `/workers/${id}/${verb}`),
  segment.map((id) => `/runs/${id}`),
  segment.map((id) => `/runs/${id}/complete`),
  segment.map((id) => `/runs/${id}/events`),
  fc.tuple(segment, segment, index, segment).map(([id, node, i, name]) => `/runs/${id}/params/${node}/${i}/${name}`),
);

const queryValue = fc.oneof(
  fc.constantFrom('', '1', '0', '-5', 'abc', '1.5', '1e3', '99999999999999999999', 'true', 'false', 'registry/', '../x', SEEDED.job, SEEDED.run, '%00', '%ff', 'sekret'),
  fc.integer().map(String),
  fc.string({ maxLength: 30 }).map(encodeURIComponent),
);
const queryName = fc.oneof(fc.constantFrom('prefix', 'item', 'job', 'run', 'fromRevision', 'crash', 'access_token', 'limit', 'after', 'content', '__proto__', 'constructor'), fc.string({ minLength: 1, maxLength: 10 }).map(encodeURIComponent));
const query = fc.array(fc.tuple(queryName, queryValue), { minLength: 1, maxLength: 4 }).map((pairs) => pairs.map(([k, v]) => `${k}=${v}`).join('&'));

const contentType = fc.oneof(
  { arbitrary: fc.constantFrom('application/json', 'text/plain', 'application/x-www-form-urlencoded', 'application/yaml', 'text/yaml', 'application/octet-stream'), weight: 6 },
  {
    arbitrary: fc.constantFrom('text/plain; charset=utf-8', 'application/json; charset=latin1', 'multipart/form-data; boundary=x', 'application/xml', 'text/html', '*/*', 'application/json;', ';', 'garbage', 'APPLICATION/JSON', 'application/json; charset="utf-8"', 'image/png'),
    weight: 2,
  },
  { arbitrary: fc.constant(''), weight: 1 },
);

// Bodies that are nearly right: each route's valid shape, then broken in one way or another.
const workSpec = fc.record({
  content: fc.oneof(fc.string({ maxLength: 40 }), fc.integer(), fc.constant(null)),
  id: fc.option(fc.oneof(goodId, badId), { nil: undefined }),
  kind: fc.option(fc.constantFrom('service', 'task', 'job', ''), { nil: undefined }),
  weight: fc.option(fc.oneof(fc.integer({ min: -2, max: 2_000_000 }), fc.double(), fc.string()), { nil: undefined }),
  selector: fc.option(fc.dictionary(fc.string({ maxLength: 8 }), fc.oneof(fc.string({ maxLength: 8 }), fc.integer())), { nil: undefined }),
  command: fc.option(fc.array(fc.oneof(fc.constant('true'), fc.string({ maxLength: 10 })), { maxLength: 4 }), { nil: undefined }),
  timeoutMs: fc.option(fc.oneof(fc.integer(), fc.constant(1e15), fc.constant(-1)), { nil: undefined }),
});
const jobSpec = fc.record({
  name: fc.oneof(fc.constantFrom('fz', 'fz-job', ''), fc.string({ maxLength: 70 })),
  command: fc.oneof(fc.constant(['true']), fc.array(fc.oneof(fc.constant('true'), fc.constant('{x}'), fc.constant('{nope}'), fc.string({ maxLength: 8 })), { maxLength: 4 }), fc.constant('true')),
  matrix: fc.option(
    fc.oneof(
      fc.dictionary(fc.constantFrom('x', 'y', 'z', '__proto__', '1bad'), fc.array(fc.oneof(fc.string({ maxLength: 5 }), fc.integer(), fc.boolean()), { maxLength: 5 })),
      fc.integer({ min: 3, max: 8 }).map((axes) => Object.fromEntries(Array.from({ length: axes }, (_, i) => [`a${i}`, Array.from({ length: 50 }, (_, j) => `v${j}`)]))),
    ),
    { nil: undefined },
  ),
  exclude: fc.option(fc.array(fc.dictionary(fc.constantFrom('x', 'y', 'q'), fc.string({ maxLength: 3 })), { maxLength: 3 }), { nil: undefined }),
  include: fc.option(fc.array(fc.dictionary(fc.constantFrom('x', 'y', 'extra'), fc.string({ maxLength: 3 })), { maxLength: 3 }), { nil: undefined }),
  env: fc.option(fc.dictionary(fc.string({ maxLength: 6 }), fc.oneof(fc.string({ maxLength: 6 }), fc.integer())), { nil: undefined }),
  maxAttempts: fc.option(fc.integer({ min: -1, max: 200 }), { nil: undefined }),
});
const runSpec = fc.record({
  id: fc.oneof(goodId, badId),
  participants: fc.oneof(fc.dictionary(fc.oneof(goodId, fc.string({ maxLength: 5 })), fc.array(fc.integer({ min: -2, max: 300 }), { maxLength: 5 })), fc.constant({}), fc.constant(null)),
  states: fc.option(fc.array(fc.string({ maxLength: 6 }), { maxLength: 5 }), { nil: undefined }),
});
const report = fc.record({ node: fc.oneof(goodId, fc.string({ maxLength: 5 })), index: fc.oneof(fc.integer({ min: -1, max: 3 }), fc.string()), state: fc.constantFrom('init', 'provisioning', 'nope', '') });

const deep = fc.tuple(fc.integer({ min: 10, max: 200_000 }), fc.constantFrom('[', '{"a":', '- ', '? ', '{')).map(([n, open]) => utf8(open.repeat(n)));
const jsonText = fc.oneof(workSpec, jobSpec, runSpec, report, fc.jsonValue({ maxDepth: 4 })).map((v) => JSON.stringify(v) ?? 'null');

/** A body of any kind, most of them nearly valid. */
const body: fc.Arbitrary<FuzzRequest['body']> = fc.oneof(
  { arbitrary: fc.constant(undefined), weight: 3 },
  { arbitrary: fc.constant(Buffer.alloc(0)), weight: 1 },
  { arbitrary: jsonText.map(utf8), weight: 8 },
  { arbitrary: fc.tuple(jsonText, fc.nat()).map(([t, cut]) => utf8(t.slice(0, cut % Math.max(1, t.length)))), weight: 2 }, // truncated
  { arbitrary: fc.string({ maxLength: 60 }).map(utf8), weight: 2 },
  { arbitrary: fc.uint8Array({ maxLength: 40 }).map((b) => Buffer.from(b)), weight: 1 }, // often invalid UTF-8
  { arbitrary: fc.constantFrom('{"content":"x","__proto__":{"polluted":1}}', '{"name":"p","command":["true"],"constructor":{"prototype":{"polluted":1}}}', '{"id":"r","participants":{"__proto__":[1]}}', 'name: p\ncommand: [true]\n__proto__: {polluted: 1}\n', 'a: &a [x,x,x,x,x,x,x,x,x]\nb: &b [*a,*a,*a,*a,*a,*a,*a,*a,*a]\nc: &c [*b,*b,*b,*b,*b,*b,*b,*b,*b]\nd: [*c,*c,*c,*c,*c,*c,*c,*c,*c]\n', 'testing=one', '"\\ud800"', '1e999', '[]', 'null').map(utf8), weight: 2 },
  { arbitrary: deep, weight: 1 },
  { arbitrary: fc.constantFrom(300 * 1024, 1024 * 1024 + 1, 2 * 1024 * 1024).map((fill) => ({ fill })), weight: 1 }, // huge
);

const origin = fc.constantFrom('http://evil.example', 'null', 'http://127.0.0.1:1', 'file://', 'garbage');
const badHost = fc.constantFrom('evil.example', 'evil.example:3000', '127.0.0.1.nip.io', 'localhost.evil');
const lastEventId = fc.constantFrom('1', '0', 'abc', '-5', '1.5', '', '99999999999999999999');

/** `arb` in `percent` of the cases, else undefined. */
const sometimes = <T>(arb: fc.Arbitrary<T>, percent: number) => fc.oneof({ arbitrary: fc.constant(undefined), weight: 100 - percent }, { arbitrary: arb, weight: percent });

/** A body of a route's own kind, sent as one of its own types, now and then broken or swapped for a hostile one. */
const own = (good: fc.Arbitrary<Buffer>, types: string[]) =>
  fc.record({
    body: fc.oneof({ arbitrary: good, weight: 6 }, { arbitrary: body, weight: 3 }),
    type: fc.oneof({ arbitrary: fc.constantFrom(...types), weight: 8 }, { arbitrary: contentType, weight: 1 }),
  });
const json = <T>(arb: fc.Arbitrary<T>) => arb.map((v) => utf8(JSON.stringify(v) ?? 'null'));
const yamlJob = jobSpec.map((j) => utf8(`name: ${JSON.stringify(j.name)}\ncommand: ${JSON.stringify(j.command)}\n${j.matrix ? `matrix: ${JSON.stringify(j.matrix)}\n` : ''}`));
const RAW = ['text/plain', 'application/x-www-form-urlencoded', 'text/plain; charset=utf-8'];
const noBody = fc.record({ body: sometimes(body, 10), type: sometimes(contentType, 50) });

/** A cache to create, most of it nearly valid. */
const cacheCreate = fc.record(
  {
    name: fc.oneof(fc.constantFrom('shuffle', 'c1', '', 'bad name', '../x'), fc.string({ maxLength: 10 })),
    ids: fc.oneof(fc.array(fc.constantFrom('a', 'b', 'a', '', 'x/y', 'p-1'), { maxLength: 6 }), fc.constant('a')),
    strategy: fc.constantFrom('nodes', 'cpu', 'memory', 'capacity', 'random'),
    replicas: fc.oneof(fc.integer({ min: -1, max: 10 }), fc.constant('2')),
  },
  { requiredKeys: [] },
);

const cacheName = fc.oneof({ arbitrary: fc.constant(SEEDED.cache), weight: 3 }, { arbitrary: segment, weight: 1 });
const cacheId = fc.oneof({ arbitrary: fc.constantFrom('a', 'x'), weight: 3 }, { arbitrary: segment, weight: 1 });

/** A live configuration change, most of it nearly valid. */
const workerConfig = fc.record(
  {
    capacity: fc.oneof(fc.integer({ min: -2, max: 10 }), fc.constant(null), fc.constant('4'), fc.double()),
    labels: fc.oneof(fc.dictionary(fc.constantFrom('zone', 'disk', 'bad key!', '__proto__', ''), fc.oneof(fc.constantFrom('a', 'b', ''), fc.constant(null), fc.integer())), fc.constant(null)),
    draining: fc.oneof(fc.boolean(), fc.constant(null), fc.constant('yes')),
    maxMemory: fc.oneof(fc.constantFrom('2GiB', '512MB', '0', '-1GiB', 'lots', '1e99GiB'), fc.integer(), fc.constant(null)),
    priority: fc.oneof(fc.integer({ min: -5, max: 5 }), fc.constant(null), fc.constant(1.5)),
    colour: fc.constant('red'),
  },
  { requiredKeys: [] },
);

/** Requests shaped like each route's own: the method, path, body and type a client would send. */
const routed: fc.Arbitrary<{ method: string; path: string; body?: FuzzRequest['body']; type?: string }> = fc.oneof(
  fc.tuple(fc.constantFrom('/healthz', '/status', '/', '/app.js', '/work', '/workers', '/jobs', '/runs', '/caches', '/openapi.json', '/docs', '/metrics', '/metrics/series'), noBody).map(([path, b]) => ({ method: 'GET', path, ...b })),
  fc.tuple(segment, noBody).map(([id, b]) => ({ method: 'GET', path: `/work/${id}`, ...b })),
  fc.tuple(fc.constantFrom('', '/tasks'), segment, noBody).map(([tail, id, b]) => ({ method: 'GET', path: `/jobs/${id}${tail}`, ...b })),
  fc.tuple(segment, noBody).map(([id, b]) => ({ method: 'GET', path: `/runs/${id}`, ...b })),
  own(fc.oneof(fc.string({ maxLength: 40 }).map(utf8), json(workSpec)), [...RAW, 'application/json']).map((b) => ({ method: 'POST', path: '/work', ...b })),
  fc.tuple(segment, own(fc.oneof(fc.string({ maxLength: 40 }).map(utf8), json(workSpec)), [...RAW, 'application/json'])).map(([id, b]) => ({ method: 'PUT', path: `/work/${id}`, ...b })),
  fc.tuple(segment, noBody).map(([id, b]) => ({ method: 'DELETE', path: `/work/${id}`, ...b })),
  own(fc.oneof(json(jobSpec), yamlJob), ['application/json', 'application/yaml', 'text/yaml']).map((b) => ({ method: 'POST', path: '/jobs', ...b })),
  fc.tuple(segment, noBody).map(([id, b]) => ({ method: 'DELETE', path: `/jobs/${id}`, ...b })),
  fc.tuple(segment, noBody).map(([id, b]) => ({ method: 'POST', path: `/jobs/${id}/cancel`, ...b })),
  fc.tuple(segment, fc.constantFrom('cancel', 'retry'), noBody).map(([id, verb, b]) => ({ method: 'POST', path: `/jobs/${id}/${verb}`, ...b })),
  fc.tuple(segment, fc.constantFrom('GET attempts', 'POST retry'), noBody).map(([id, what, b]) => ({ method: what.split(' ')[0], path: `/work/${id}/${what.split(' ')[1]}`, ...b })),
  fc.tuple(fc.constantFrom('/counts', '/work?kind=task', '/work?status=failed', '/work?kind=x', '/work?status=nope', '/workers?lease=true', '/workers?lease=maybe'), noBody).map(([path, b]) => ({ method: 'GET', path, ...b })),
  own(json(runSpec), ['application/json']).map((b) => ({ method: 'POST', path: '/runs', ...b })),
  fc.tuple(segment, own(json(report), ['application/json'])).map(([id, b]) => ({ method: 'POST', path: `/runs/${id}/complete`, ...b })),
  fc.tuple(segment, noBody).map(([id, b]) => ({ method: 'DELETE', path: `/runs/${id}`, ...b })),
  fc.tuple(segment, segment, index, segment, own(fc.string({ maxLength: 20 }).map(utf8), RAW)).map(([id, node, i, name, b]) => ({ method: 'PUT', path: `/runs/${id}/params/${node}/${i}/${name}`, ...b })),
  fc.tuple(segment, segment, index, segment, noBody).map(([id, node, i, name, b]) => ({ method: 'GET', path: `/runs/${id}/params/${node}/${i}/${name}`, ...b })),
  fc.tuple(segment, fc.constantFrom('drain', 'undrain'), noBody).map(([id, verb, b]) => ({ method: 'POST', path: `/workers/${id}/${verb}`, ...b })),
  fc.tuple(segment, own(json(workerConfig), ['application/json'])).map(([id, b]) => ({ method: 'PATCH', path: `/workers/${id}`, ...b })),
  fc.tuple(segment, noBody).map(([id, b]) => ({ method: 'GET', path: `/workers/${id}`, ...b })),
  own(json(cacheCreate), ['application/json']).map((b) => ({ method: 'POST', path: '/caches', ...b })),
  fc.tuple(segment, segment, fc.constantFrom('nodes', 'best', 'score', 'score?node=w1', 'score?node=bad%20id'), noBody).map(([c, id, what, b]) => ({ method: 'GET', path: `/caches/${c}/${id}/${what}`, ...b })),
  fc.tuple(segment, fc.option(segment, { nil: undefined }), noBody).map(([c, id, b]) => ({ method: 'DELETE', path: id === undefined ? `/caches/${c}` : `/caches/${c}/${id}`, ...b })),
  // Cache values: the seeded cache (no worker holds it on these targets) and nonsense.
  fc.tuple(cacheName, cacheId, fc.constantFrom('PUT', 'GET', 'POST'), own(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), RAW)).map(([c, id, method, b]) => ({ method, path: method === 'POST' ? `/caches/${c}/${id}/append` : `/caches/${c}/${id}`, ...(method === 'GET' ? {} : b) })),
  fc.tuple(segment, own(fc.uint8Array({ maxLength: 64 }).map((a) => Buffer.from(a)), RAW)).map(([w, b]) => ({ method: 'POST', path: `/internal/caches/${w}/batch`, ...b })),
  fc.tuple(segment, cacheName, cacheId, fc.constantFrom('write', 'prepare', 'sync', 'snapshot', 'ready', 'set', 'append', 'get', 'digest', 'nope'), own(fc.uint8Array({ maxLength: 32 }).map((a) => Buffer.from(a)), RAW)).map(([w, c, id, op, b]) => ({ method: 'POST', path: `/internal/caches/${w}/${c}/${id}/${op}`, ...b })),
  fc.tuple(fc.constantFrom('zone=a', 'zone=a,disk=ssd', 'zone', '=a', 'bad key!=x', '', '%00=1'), noBody).map(([q, b]) => ({ method: 'GET', path: `/workers?label=${encodeURIComponent(q)}`, ...b })),
  fc.tuple(segment, fc.constantFrom('', '?crash=true', '?crash=1', '?crash=no'), noBody).map(([id, q, b]) => ({ method: 'DELETE', path: `/workers/${id}${q}`, ...b })),
  fc.tuple(fc.constantFrom('/events', '/ws', `/runs/${SEEDED.run}/events`), sometimes(fc.tuple(fc.constantFrom('prefix', 'item', 'job', 'run', 'fromRevision'), queryValue).map(([k, v]) => `${k}=${v}`), 60), noBody).map(([path, q, b]) => ({ method: 'GET', path: q ? `${path}?${q}` : path, ...b })),
);

/** Anything: a method, a path and a body drawn apart. */
const chaos = fc.record({
  method: fc.oneof({ arbitrary: fc.constantFrom('GET', 'POST', 'PUT', 'DELETE'), weight: 10 }, { arbitrary: fc.constantFrom('HEAD', 'OPTIONS', 'PATCH', 'TRACE', 'FOO'), weight: 1 }),
  path: routePath,
  body,
  type: sometimes(contentType, 85),
});

/** One random request. */
export const fuzzRequest: fc.Arbitrary<FuzzRequest> = fc
  .record({
    base: fc.oneof({ arbitrary: routed, weight: 3 }, { arbitrary: chaos, weight: 1 }),
    query: sometimes(query, 15),
    origin: sometimes(origin, 5),
    host: sometimes(badHost, 4),
    lastEventId: sometimes(lastEventId, 8),
    crossSite: sometimes(fc.constantFrom('cross-site', 'same-site', 'same-origin', 'none'), 6),
    upgrade: sometimes(fc.constant(true), 3),
  })
  .map((r) => {
    const { method, body: payload, type } = r.base;
    const headers: Record<string, string> = {};
    if (type !== undefined && payload !== undefined) headers['content-type'] = type;
    if (r.origin) headers.origin = r.origin;
    if (r.host) headers.host = r.host;
    if (r.lastEventId !== undefined) headers['last-event-id'] = r.lastEventId;
    if (r.crossSite) headers['sec-fetch-site'] = r.crossSite;
    if (r.upgrade) Object.assign(headers, { connection: 'Upgrade', upgrade: 'websocket', 'sec-websocket-version': '13', 'sec-websocket-key': 'dGhlIHNhbXBsZSBub25jZQ==' });
    let path = r.query ? `${r.base.path}${r.base.path.includes('?') ? '&' : '?'}${r.query}` : r.base.path;
    let mustRefuse: string | undefined;
    if (r.origin) mustRefuse = `a request from another origin (${r.origin})`;
    if (r.host) mustRefuse = `a request for another host (${r.host})`;
    if (r.crossSite === 'cross-site' || r.crossSite === 'same-site') mustRefuse ??= `a ${r.crossSite} request`;
    // POST /workers adds a worker to `rota up`, which would run the fuzzer's tasks: only ever sent refusable.
    if (method === 'POST' && /^\/workers\/?(\?|$)/.test(path)) {
      path = `${path}${path.includes('?') ? '&' : '?'}fuzz=1`;
      mustRefuse = 'POST /workers with an unknown query parameter (it would add a worker)';
    }
    return { method, path, headers, body: payload, mustRefuse } satisfies FuzzRequest;
  });

/** A short description of a request for reports. */
export function describeRequest(r: FuzzRequest): string {
  const body = r.body === undefined ? '' : Buffer.isBuffer(r.body) ? ` body(${r.body.length})=${JSON.stringify(r.body.subarray(0, 120).toString('latin1'))}` : ` body(${r.body.fill} x's)`;
  return `${r.method} ${r.path.slice(0, 200)} ${JSON.stringify(r.headers)}${body}`;
}
