// Sends random requests (requests.ts) to a running node one at a time and checks three properties:
//   - never a 5xx (the store is up during a fuzz run, so any 5xx answers client input), never no answer;
//   - the node keeps answering /healthz within 1 s (probed every 100 ms throughout);
//   - a refused request (4xx) changes nothing: the store's revision (GET /status) is the same before
//     and after it. Any write anywhere raises the revision, so this covers every key and value.
// Requests that must be refused whatever the route (another origin, another Host) must get a 4xx.
import http from 'node:http';
import fc from 'fast-check';
import { readSse } from '../../src/client/sse-reader.js';
import { describeRequest, fuzzRequest, SEEDED, type FuzzRequest } from './requests.js';

export interface FuzzFigures {
  backend: string;
  seed: number;
  requests: number;
  /** Answers by status class; "none" = no answer (reset, timeout). */
  status: Record<'1xx' | '2xx' | '3xx' | '4xx' | '5xx' | 'none', number>;
  fiveXX: number;
  maxHealthzMs: number;
  /** Refused (4xx) requests after which the store's revision had moved. */
  refusedButChanged: number;
  /** Bodies over every limit that the server cut off before the client finished sending (counted as 4xx). */
  cutOff: number;
  /** Requests that had to be refused (foreign origin or Host) and were not. */
  acceptedButForeign: number;
  maxRequestMs: number;
  /** The slowest request, described. */
  slowest?: string;
  seconds: number;
  /** Answers by status and error code ("415 unsupported_media_type"). */
  answers: Record<string, number>;
  /** The first violations, each with the request that caused it. */
  violations: string[];
}

const HEALTHZ_LIMIT_MS = 1000;

interface Answer {
  status: number;
  ms: number;
  error?: string;
  /** The `error` field of a JSON answer. */
  code?: string;
  /** The client's error code when there was no answer (EPIPE, ECONNRESET). */
  errno?: string;
}

/**
 * Larger than the smallest route limit (POST /runs/:id/complete takes 16 KiB; POST /caches about
 * 136 KiB): past its route's limit the server answers 413 and closes while the client may still be
 * sending, and the client sees EPIPE before it can read the 413 (one in 20,000 requests did, with
 * 1 MiB to POST /caches). Such a cut-off is still checked to have changed nothing.
 */
const OVER_EVERY_LIMIT = 16 * 1024;
const bodyBytes = (r: FuzzRequest) => (r.body === undefined ? 0 : Buffer.isBuffer(r.body) ? r.body.length : r.body.fill);

/**
 * Sends one request; event streams and upgrades are closed as soon as their status is known. A
 * kept-alive connection the server had just closed (after a request it would not parse) is a race
 * of the client's, not an answer: that one request is sent again on a new connection.
 */
async function send(base: URL, r: FuzzRequest, agent: http.Agent, timeoutMs = 10_000): Promise<Answer> {
  // An upgraded socket never returns to the pool: upgrades go on connections of their own.
  const a = await sendOnce(base, r, r.headers.upgrade ? false : agent, timeoutMs);
  return a.staleSocket ? sendOnce(base, r, false, timeoutMs) : a;
}

function sendOnce(base: URL, r: FuzzRequest, agent: http.Agent | false, timeoutMs: number): Promise<Answer & { staleSocket?: boolean }> {
  const started = performance.now();
  const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.alloc(r.body.fill, 'x');
  return new Promise((resolve) => {
    let done = false;
    const finish = (a: Omit<Answer, 'ms'> & { staleSocket?: boolean }) => {
      if (done) return;
      done = true;
      resolve({ ...a, ms: performance.now() - started });
    };
    const headers: Record<string, string> = { ...(body ? { 'content-length': String(body.length) } : {}), ...r.headers };
    let req: http.ClientRequest;
    try {
      req = http.request({ host: base.hostname, port: base.port, method: r.method, path: r.path, headers, agent, setHost: headers.host === undefined });
    } catch (err) {
      return finish({ status: -1, error: `the client cannot send it: ${(err as Error).message}` });
    }
    req.setTimeout(timeoutMs, () => {
      finish({ status: 0, error: `no answer within ${timeoutMs} ms` });
      req.destroy();
    });
    // A kept-alive socket the server closed as idle just as this request went out on it (ECONNRESET,
    // or EPIPE while writing a body): HTTP/1.1's own race, not an answer refused — sent again on a
    // connection of its own, where an answer is required.
    const stale = (code?: string) => req.reusedSocket && (code === 'ECONNRESET' || code === 'EPIPE');
    req.on('error', (err) => finish({ status: 0, error: err.message, errno: (err as NodeJS.ErrnoException).code, staleSocket: stale((err as NodeJS.ErrnoException).code) }));
    req.on('upgrade', (res, socket) => {
      socket.destroy();
      finish({ status: res.statusCode ?? 101 });
    });
    req.on('response', (res) => {
      if (String(res.headers['content-type']).startsWith('text/event-stream')) {
        finish({ status: res.statusCode ?? 0 });
        req.destroy(); // a stream never ends by itself: hang up, as a client going away does
        return;
      }
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.length < 4 && chunks.push(c));
      res.on('end', () => {
        let code: string | undefined;
        try {
          code = (JSON.parse(Buffer.concat(chunks).toString('utf8')) as { error?: string }).error;
        } catch {
          code = undefined;
        }
        finish({ status: res.statusCode ?? 0, code });
      });
      res.on('error', (err) => finish({ status: res.statusCode ?? 0, error: err.message }));
    });
    req.end(body);
  });
}

/** Runs `requests` random requests (from `seed`) against the node at `base`. */
export async function fuzzNode(base: string, options: { backend: string; requests: number; seed: number; onProgress?: (done: number) => void }): Promise<FuzzFigures> {
  const url = new URL(base);
  const agent = new http.Agent({ keepAlive: true, maxSockets: 1 });
  const side = new http.Agent({ keepAlive: true, maxSockets: 2 });
  const started = performance.now();
  const figures: FuzzFigures = {
    backend: options.backend,
    seed: options.seed,
    requests: 0,
    status: { '1xx': 0, '2xx': 0, '3xx': 0, '4xx': 0, '5xx': 0, none: 0 },
    fiveXX: 0,
    maxHealthzMs: 0,
    refusedButChanged: 0,
    cutOff: 0,
    acceptedButForeign: 0,
    maxRequestMs: 0,
    seconds: 0,
    answers: {},
    violations: [],
  };
  const violation = (what: string, r?: FuzzRequest) => {
    if (figures.violations.length < 20) figures.violations.push(r ? `${what}: ${describeRequest(r)}` : what);
  };
  const json = async (method: string, path: string, body?: string, type = 'application/json') => {
    const res = await fetch(`${base}${path}`, { method, body, headers: body === undefined ? {} : { 'content-type': type } });
    return { status: res.status, body: (await res.json().catch(() => undefined)) as any };
  };
  const revision = async () => {
    const r = await json('GET', '/status');
    if (typeof r.body?.revision !== 'number') throw new Error(`GET /status gave no revision: ${r.status} ${JSON.stringify(r.body)}`);
    return r.body.revision as number;
  };
  /**
   * Whether what moved the store from `from` to `to` was someone's doing: anything but markers of
   * earlier accepted writes expiring with their lease (requests/…, 120 s after the write), which no
   * request of the moment causes. Read from the node's own event stream.
   */
  const movedByAnyone = async (from: number, to: number) => {
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 5000);
    try {
      for await (const e of readSse(`${base}/events?fromRevision=${from + 1}`, { signal: abort.signal })) {
        if (e.event !== 'change') continue;
        const batch = JSON.parse(e.data) as { revision: number; changes: Array<{ type: string; key: string }> };
        if (batch.changes.some((c) => !(c.type === 'delete' && c.key.startsWith('requests/')))) return true;
        if (batch.revision >= to) return false;
      }
      return true; // the stream ended first: cannot tell, so it counts
    } catch {
      return true;
    } finally {
      clearTimeout(timer);
      abort.abort();
    }
  };
  /** Waits until nothing writes for a moment (a successful request may set the leader planning). */
  const settled = async () => {
    let last = await revision();
    for (let i = 0; i < 100; i++) {
      await new Promise((r) => setTimeout(r, 10));
      const now = await revision();
      if (now === last) return now;
      last = now;
    }
    return last;
  };

  // Resources for requests to find: an item, a job (no worker runs it), a run.
  await json('POST', '/work', JSON.stringify({ id: SEEDED.work, content: 'fuzz' }));
  await json('POST', '/jobs', JSON.stringify({ name: SEEDED.job, id: SEEDED.job, command: ['true'], matrix: { x: ['1', '2'] } }));
  await json('POST', '/runs', JSON.stringify({ id: SEEDED.run, participants: { [SEEDED.node]: [1, 2] } }));
  await json('POST', '/caches', JSON.stringify({ name: SEEDED.cache, ids: ['a', 'x'] }));

  // /healthz every 100 ms for the whole run, on its own connection.
  let probing = true;
  const prober = (async () => {
    while (probing) {
      const a = await send(url, { method: 'GET', path: '/healthz', headers: {} }, side, 5000);
      figures.maxHealthzMs = Math.max(figures.maxHealthzMs, a.ms);
      if (a.status !== 200 || a.ms > HEALTHZ_LIMIT_MS) violation(`/healthz answered ${a.status} in ${Math.round(a.ms)} ms${a.error ? ` (${a.error})` : ''}`);
      await new Promise((r) => setTimeout(r, 100));
    }
  })();

  try {
    // The store's revision when nothing was in flight. A request that may write (not GET or HEAD) is
    // checked on its own: refused, the revision must not have moved. Reads (GET, HEAD), which must
    // never write whatever they are answered, are checked in groups of up to 10, to spare /status.
    let before = await settled();
    let reads: FuzzRequest[] = [];
    const checkReads = async () => {
      if (reads.length === 0) return;
      const now = await revision();
      if (now !== before && (await movedByAnyone(before, now))) {
        figures.refusedButChanged++;
        violation(`the store moved from revision ${before} to ${now} during reads, one of: ${reads.map((x) => describeRequest(x).slice(0, 200)).join(' | ')}; last`, reads.at(-1));
      }
      before = now;
      reads = [];
    };
    const requests = fc.sample(fuzzRequest, { seed: options.seed, numRuns: options.requests });
    let previous: FuzzRequest | undefined;
    for (const r of requests) {
      const read = r.method === 'GET' || r.method === 'HEAD';
      if (!read) await checkReads();
      const a = await send(url, r, agent);
      figures.requests++;
      if (a.ms > figures.maxRequestMs) {
        figures.maxRequestMs = a.ms;
        figures.slowest = `${a.status} ${describeRequest(r).slice(0, 160)}`;
      }
      if (a.status === -1) {
        figures.requests--; // the generator made something Node's client will not send: not a request
        continue;
      }
      // A body over every limit cut off by the server (it answered 413 and closed while we still
      // sent): a refusal the client could not read, still checked to have changed nothing.
      const cutOff = a.status === 0 && (a.errno === 'EPIPE' || a.errno === 'ECONNRESET') && bodyBytes(r) > OVER_EVERY_LIMIT;
      if (cutOff) {
        figures.cutOff++;
        a.status = 413;
      }
      const cls = a.status === 0 ? 'none' : (`${Math.floor(a.status / 100)}xx` as keyof FuzzFigures['status']);
      figures.status[cls]++;
      const key = `${a.status}${a.code ? ` ${a.code}` : ''}`;
      figures.answers[key] = (figures.answers[key] ?? 0) + 1;
      if (a.status >= 500) {
        figures.fiveXX++;
        violation(`answered ${a.status}`, r);
      }
      if (a.status === 0) violation(`no answer (${a.error}) after ${previous ? describeRequest(previous).slice(0, 300) : 'nothing'}; to`, r);
      previous = r;
      if (r.mustRefuse && a.status > 0 && a.status < 400) {
        figures.acceptedButForeign++;
        violation(`accepted ${r.mustRefuse} with ${a.status}`, r);
      }
      if (read) {
        reads.push(r);
        if (reads.length >= 10) await checkReads();
      } else if (a.status >= 400 && a.status < 500) {
        const after = await revision();
        if (after !== before && (await movedByAnyone(before, after))) {
          figures.refusedButChanged++;
          violation(`refused with ${a.status} but the store moved from revision ${before} to ${after}`, r);
          before = await settled();
        } else {
          before = after;
        }
      } else {
        before = await settled();
      }
      options.onProgress?.(figures.requests);
    }
    await checkReads();
  } finally {
    probing = false;
    await prober;
    agent.destroy();
    side.destroy();
  }
  figures.seconds = Math.round((performance.now() - started) / 100) / 10;
  figures.maxHealthzMs = Math.round(figures.maxHealthzMs);
  figures.maxRequestMs = Math.round(figures.maxRequestMs);
  return figures;
}

/** Whether the figures show no violation. */
export const passed = (f: FuzzFigures) => f.fiveXX === 0 && f.status.none === 0 && f.refusedButChanged === 0 && f.acceptedButForeign === 0 && f.maxHealthzMs <= HEALTHZ_LIMIT_MS && f.violations.length === 0;
