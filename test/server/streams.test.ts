// Event streams are bounded per node: each holds a store watch, so past --max-streams a new one is
// refused with 503 and a message (SSE, run events and WebSocket alike), and a freed slot serves again.
import assert from 'node:assert/strict';
import { after, before, describe, it } from 'node:test';
import type { FastifyInstance } from 'fastify';
import net from 'node:net';
import WebSocket from 'ws';
import { StoreClient } from '../../src/client/store-client.js';
import { Keys } from '../../src/engine/keys.js';
import { buildServer } from '../../src/server/app.js';
import { EmbeddedStore, type Store } from '../../src/store/index.js';
import { waitFor } from '../helpers/processes.js';
import { openStream } from '../helpers/raw-http.js';

const keys = new Keys('/work/');

/** Opens a WebSocket; resolves 'open' or the HTTP status that refused the upgrade. */
function connect(url: string): Promise<{ result: string; ws: WebSocket }> {
  return new Promise((resolve) => {
    const ws = new WebSocket(url);
    ws.once('open', () => resolve({ result: 'open', ws }));
    ws.once('unexpected-response', (_req, res) => resolve({ result: String(res.statusCode), ws }));
    ws.once('error', (err) => resolve({ result: err.message, ws }));
  });
}

describe('event stream cap', () => {
  let store: Store;
  let app: FastifyInstance;
  let base: string;
  before(async () => {
    store = await EmbeddedStore.open({});
    app = await buildServer({ client: new StoreClient(store, keys), events: { store, keys }, maxStreams: 3 });
    await app.listen({ port: 0, host: '127.0.0.1' });
    base = `http://127.0.0.1:${(app.server.address() as { port: number }).port}`;
    await store.put(`${keys.runs}r1/run`, JSON.stringify({ id: 'r1', participants: { n: [1] }, state: 'init', round: 1, history: [], createdAt: 0, defaults: {} }));
  });
  after(async () => {
    app?.server.closeAllConnections(); // streams a failed test left open
    await app?.close();
    await store?.close();
  });

  it('refuses a stream past the cap with 503 and a message, and serves again once one closes', async () => {
    const open = [await openStream(base, '/events'), await openStream(base, '/runs/r1/events')];
    const ws = await connect(`${base.replace('http', 'ws')}/ws`);
    assert.equal(ws.result, 'open');
    assert.deepEqual(open.map((s) => s.status), [200, 200]);

    for (const path of ['/events', '/runs/r1/events', '/events?prefix=registry/']) {
      const refused = await openStream(base, path);
      assert.equal(refused.status, 503, path);
      const body = JSON.parse(await refused.text);
      assert.equal(body.error, 'too_many_streams');
      assert.match(body.message, /3 event streams.*--max-streams/);
    }
    const wsRefused = await connect(`${base.replace('http', 'ws')}/ws`);
    assert.equal(wsRefused.result, '503', 'the upgrade is refused with a plain HTTP answer');

    // Store changes still reach the streams that are open.
    await store.put(`${keys.registry}a`, 'x');
    await new Promise((r) => setTimeout(r, 300));
    open[0].close();
    assert.match(await open[0].text, /registry\/a/);

    const next = await waitFor(async () => {
      const s = await openStream(base, '/events');
      if (s.status === 200) return s;
      s.close();
      return undefined;
    }, 5000, 'a freed slot to serve a new stream');
    next.close();
    ws.ws.close();
    await waitFor(async () => {
      const again = await connect(`${base.replace('http', 'ws')}/ws`);
      again.ws.close();
      return again.result === 'open';
    }, 5000, 'a WebSocket once a slot is free');
    open[1].close();
  });

  /** Sends `head` and a 900 KB body in chunks (still sending when the server answers); resolves the status line, or the error. */
  const answerWhileSending = (head: string) =>
    new Promise<string>((resolve) => {
      const port = Number(new URL(base).port);
      const body = 'x'.repeat(900_000);
      const socket = net.connect(port, '127.0.0.1');
      let got = '';
      let failed = '';
      socket.on('data', (d) => (got += d));
      socket.on('error', (err) => (failed = `error ${err.message}`));
      socket.on('close', () => resolve(failed || got.split('\r\n')[0]));
      socket.write(`${head.replace('{port}', String(port))}content-length: ${body.length}\r\n\r\n${body.slice(0, 90_000)}`);
      void (async () => {
        for (let at = 90_000; at < body.length && !socket.destroyed; at += 90_000) {
          await new Promise((r) => setTimeout(r, 20));
          socket.write(body.slice(at, at + 90_000));
        }
        socket.end();
      })();
    });

  it('a refused upgrade that carries a body still gets its answer read (no reset while the client sends)', async () => {
    const head = 'GET /runs/r1/events?run=1.5 HTTP/1.1\r\nhost: 127.0.0.1:{port}\r\nconnection: Upgrade\r\nupgrade: websocket\r\nsec-websocket-version: 13\r\nsec-websocket-key: dGhlIHNhbXBsZSBub25jZQ==\r\n';
    const answers = [];
    for (let i = 0; i < 5; i++) answers.push(await answerWhileSending(head));
    assert.deepEqual(answers, Array(5).fill('HTTP/1.1 400 Bad Request'));
  });

});
