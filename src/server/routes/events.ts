// Live events: GET /events (SSE) and GET /ws (WebSocket) stream store changes filtered by prefix,
// item, job or run; GET /runs/:id/events streams one run's states and parameters. Every event
// carries its revision; clients resume with Last-Event-ID or ?fromRevision. Each stream holds a
// store watch, so a node serves a bounded number of them at once (StreamSlots).
import type { FastifyInstance, FastifyRequest } from 'fastify';
import type { WebSocket } from 'ws';
import type { RotaClient } from '../../client/types.js';
import { ChangeStream, poolRelative, type ChangeFilter } from '../../engine/events/changes.js';
import type { Keys } from '../../engine/keys.js';
import { RunEvents } from '../../engine/runs/run-events.js';
import { CompactedError, type Store } from '../../store/index.js';
import { HttpError } from '../errors.js';
import { id, jobId, keyPrefix, param, revision, type QuerySpec } from '../query.js';
import { MAX_BUFFERED_BYTES, resumeFrom, SseStream } from '../sse.js';
import type { StreamSlots } from '../streams.js';

type EventQuery = { Querystring: ChangeFilter & { fromRevision?: string } };

const endReason = (err?: Error) =>
  err instanceof CompactedError
    ? { error: 'compacted', message: `${err.message}; read the current state again and follow from there` }
    : { error: 'ended', message: err?.message ?? 'the stream ended' };

const filterQuery: QuerySpec = { prefix: keyPrefix, item: id('item id'), job: jobId, run: id('run id'), fromRevision: revision };
const stream = (query: QuerySpec, websocket = false) => ({ config: { stream: true, query, websocket }, exposeHeadRoute: false });

/** Registers the event routes; `slots` bounds how many streams are open at once. */
export function registerEventRoutes(app: FastifyInstance, store: Store, keys: Keys, client: RotaClient, slots: StreamSlots): void {
  const filterOf = (q: ChangeFilter): ChangeFilter => ({ prefix: q.prefix === undefined ? undefined : poolRelative(keys, q.prefix), item: q.item, job: q.job, run: q.run });

  app.get<EventQuery>('/events', stream(filterQuery), async (req, reply) => {
    const filter = filterOf(req.query); // refused (400) before the stream begins
    const from = resumeFrom(req.headers, req.query);
    const release = slots.acquire();
    const sse = new SseStream(reply);
    sse.onClose(release);
    const changes = new ChangeStream(store, keys, filter, from);
    changes.on('batch', (b) => sse.send('change', b, b.revision));
    changes.on('end', (err) => sse.fail(endReason(err).error, endReason(err).message));
    sse.onClose(() => void changes.close());
  });

  // Refused before the upgrade (a plain HTTP answer); the slot is taken once the socket is open.
  const beforeUpgrade = async (req: FastifyRequest<EventQuery>) => {
    resumeFrom({}, req.query);
    filterOf(req.query);
    if (slots.size >= slots.max) slots.acquire(); // throws the 503
  };
  app.route<EventQuery>({
    method: 'GET',
    url: '/ws',
    ...stream(filterQuery, true),
    preHandler: beforeUpgrade,
    handler: async () => {
      throw new HttpError(400, 'invalid', 'GET /ws is a WebSocket: connect with Upgrade: websocket, or use GET /events (Server-Sent Events)');
    },
    wsHandler: (socket: WebSocket, req: FastifyRequest<EventQuery>) => {
      let release: () => void;
      try {
        release = slots.acquire();
      } catch {
        socket.close(1013, 'too many event streams on this node; try again later');
        return;
      }
      const changes = new ChangeStream(store, keys, filterOf(req.query), resumeFrom({}, req.query));
      changes.on('batch', (b) => {
        if (socket.bufferedAmount > MAX_BUFFERED_BYTES) {
          socket.close(4008, 'too slow: over 1 MiB of events waited; reconnect with fromRevision to resume');
          return;
        }
        socket.send(JSON.stringify(b));
      });
      changes.on('end', (err) => socket.close(4000, JSON.stringify(endReason(err)).slice(0, 120)));
      socket.on('close', () => {
        release();
        void changes.close();
      });
    },
  });

  app.get<{ Params: { id: string }; Querystring: { fromRevision?: string } }>('/runs/:id/events', stream({ fromRevision: revision }), async (req, reply) => {
    const runId = param(req.params.id, id('run id'));
    const from = resumeFrom(req.headers, req.query);
    const release = slots.acquire();
    let start = from;
    let snapshot;
    try {
      if (from === undefined) {
        // A fresh waiter first gets the run as it is, then every change after that read.
        const { revision: rev } = await store.range(keys.runs, { prefix: true, countOnly: true });
        snapshot = await client.getRun(runId);
        start = rev + 1;
      }
    } catch (err) {
      release();
      throw err;
    }
    const sse = new SseStream(reply);
    sse.onClose(release);
    if (snapshot) sse.send('run', snapshot, (start ?? 1) - 1);
    const events = new RunEvents(store, keys, runId, start);
    events.on('event', (e) => sse.send(e.type, e, e.revision));
    events.on('end', (err) => sse.fail(endReason(err).error, endReason(err).message));
    sse.onClose(() => void events.close());
  });
}
