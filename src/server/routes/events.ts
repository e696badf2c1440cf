// Live events: GET /events (SSE) and GET /ws (WebSocket) stream store changes filtered by prefix,
// item, job or run; GET /runs/:id/events streams one run's states and parameters. Every event
// carries its revision; clients resume with Last-Event-ID or ?fromRevision.
import type { FastifyInstance } from 'fastify';
import type { WebSocket } from 'ws';
import type { RotaClient } from '../../client/types.js';
import { ChangeStream, type ChangeFilter } from '../../engine/events/changes.js';
import type { Keys } from '../../engine/keys.js';
import { RunEvents } from '../../engine/runs/run-events.js';
import { CompactedError, type Store } from '../../store/index.js';
import { MAX_BUFFERED_BYTES, resumeFrom, SseStream } from '../sse.js';

type EventQuery = { Querystring: ChangeFilter & { fromRevision?: string } };

const endReason = (err?: Error) =>
  err instanceof CompactedError
    ? { error: 'compacted', message: `${err.message}; read the current state again and follow from there` }
    : { error: 'ended', message: err?.message ?? 'the stream ended' };

/** Registers the event routes. */
export function registerEventRoutes(app: FastifyInstance, store: Store, keys: Keys, client: RotaClient): void {
  const filterOf = (q: ChangeFilter): ChangeFilter => ({ prefix: q.prefix, item: q.item, job: q.job, run: q.run });

  app.get<EventQuery>('/events', async (req, reply) => {
    const sse = new SseStream(reply);
    const stream = new ChangeStream(store, keys, filterOf(req.query), resumeFrom(req.headers, req.query));
    stream.on('batch', (b) => sse.send('change', b, b.revision));
    stream.on('end', (err) => sse.fail(endReason(err).error, endReason(err).message));
    sse.onClose(() => void stream.close());
  });

  app.get<EventQuery>('/ws', { websocket: true }, (socket: WebSocket, req) => {
    const stream = new ChangeStream(store, keys, filterOf(req.query), resumeFrom({}, req.query));
    stream.on('batch', (b) => {
      if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
        socket.close(4008, 'too slow: over 1 MiB of events waited; reconnect with fromRevision to resume');
        return;
      }
      socket.send(JSON.stringify(b));
    });
    stream.on('end', (err) => socket.close(4000, JSON.stringify(endReason(err)).slice(0, 120)));
    socket.on('close', () => void stream.close());
  });

  app.get<{ Params: { id: string }; Querystring: { fromRevision?: string } }>('/runs/:id/events', async (req, reply) => {
    const from = resumeFrom(req.headers, req.query);
    let start = from;
    let snapshot;
    if (from === undefined) {
      // A fresh waiter first gets the run as it is, then every change after that read.
      const { revision } = await store.range(keys.runs, { prefix: true, countOnly: true });
      snapshot = await client.getRun(req.params.id);
      start = revision + 1;
    }
    const sse = new SseStream(reply);
    if (snapshot) sse.send('run', snapshot, (start ?? 1) - 1);
    const events = new RunEvents(store, keys, req.params.id, start);
    events.on('event', (e) => sse.send(e.type, e, e.revision));
    events.on('end', (err) => sse.fail(endReason(err).error, endReason(err).message));
    sse.onClose(() => void events.close());
  });
}
