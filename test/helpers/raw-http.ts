// HTTP requests with any method, headers (Host and Origin included, which fetch will not let a
// caller set) and body bytes: what a browser, an attacker or a fuzzer sends.
import http from 'node:http';

export interface RawRequest {
  method: string;
  path: string;
  headers?: Record<string, string>;
  body?: string | Buffer;
  /** Give up after this long (default 10 s). */
  timeoutMs?: number;
  agent?: http.Agent;
}

export interface RawResponse {
  status: number;
  headers: http.IncomingHttpHeaders;
  text: string;
  /** The body parsed as JSON, or undefined when it is not JSON. */
  json: any;
  ms: number;
}

/** Sends one request to `base` (http://host:port) exactly as given. */
export function rawRequest(base: string, r: RawRequest): Promise<RawResponse> {
  const url = new URL(base);
  const started = performance.now();
  return new Promise((resolve, reject) => {
    const body = r.body === undefined ? undefined : Buffer.isBuffer(r.body) ? r.body : Buffer.from(r.body);
    const headers: Record<string, string> = { ...(body ? { 'content-length': String(body.length) } : {}), ...r.headers };
    const req = http.request({ host: url.hostname, port: url.port, method: r.method, path: r.path, headers, agent: r.agent ?? false, setHost: !Object.keys(headers).some((h) => h.toLowerCase() === 'host') });
    req.setTimeout(r.timeoutMs ?? 10_000, () => req.destroy(new Error(`${r.method} ${r.path}: no answer within ${r.timeoutMs ?? 10_000} ms`)));
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      res.on('data', (c: Buffer) => chunks.push(c));
      res.on('error', reject);
      res.on('end', () => {
        const text = Buffer.concat(chunks).toString('utf8');
        let json: unknown;
        try {
          json = text ? JSON.parse(text) : undefined;
        } catch {
          json = undefined;
        }
        resolve({ status: res.statusCode ?? 0, headers: res.headers, text, json, ms: performance.now() - started });
      });
    });
    req.end(body);
  });
}

/** Opens an event stream and resolves with its status once the headers arrive (then closes it unless `keep`). */
export function openStream(base: string, path: string, headers: Record<string, string> = {}): Promise<{ status: number; text: Promise<string>; close: () => void }> {
  const url = new URL(base);
  return new Promise((resolve, reject) => {
    const req = http.request({ host: url.hostname, port: url.port, method: 'GET', path, headers, agent: false });
    req.on('error', reject);
    req.on('response', (res) => {
      const chunks: Buffer[] = [];
      const text = new Promise<string>((done) => {
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => done(Buffer.concat(chunks).toString('utf8')));
        res.on('close', () => done(Buffer.concat(chunks).toString('utf8')));
        res.on('error', () => done(Buffer.concat(chunks).toString('utf8')));
      });
      resolve({ status: res.statusCode ?? 0, text, close: () => req.destroy() });
    });
    req.end();
  });
}
