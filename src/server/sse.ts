// Server-Sent Events on a raw response: each event with its revision as id (so a client resumes
// with Last-Event-ID), a heartbeat, and slow clients dropped with a reason instead of buffering
// without bound.
import type { FastifyReply } from 'fastify';
import { HttpError } from './errors.js';

/** Most bytes waiting for a slow client before it is dropped. */
export const MAX_BUFFERED_BYTES = 1024 * 1024;

/** One SSE connection. */
export class SseStream {
  private closed = false;
  private readonly heartbeat: NodeJS.Timeout;
  private readonly closers: Array<() => void> = [];

  constructor(private readonly reply: FastifyReply) {
    reply.hijack();
    const raw = reply.raw;
    raw.writeHead(200, { 'content-type': 'text/event-stream; charset=utf-8', 'cache-control': 'no-cache', connection: 'keep-alive', 'x-accel-buffering': 'no' });
    raw.write(': rota event stream\n\n');
    this.heartbeat = setInterval(() => this.write(': ping\n\n'), 15_000);
    raw.on('close', () => this.end());
  }

  /** Calls `fn` once when the stream ends (client gone, dropped, or closed). */
  onClose(fn: () => void): void {
    if (this.closed) fn();
    else this.closers.push(fn);
  }

  /** Sends one event; false once the stream is closed. */
  send(event: string, data: unknown, id?: number): boolean {
    if (this.closed) return false;
    if (this.reply.raw.writableLength > MAX_BUFFERED_BYTES) {
      this.fail('too_slow', `the client read too slowly: over ${MAX_BUFFERED_BYTES} bytes of events waited; reconnect with Last-Event-ID to resume`);
      return false;
    }
    return this.write(`${id !== undefined ? `id: ${id}\n` : ''}event: ${event}\ndata: ${JSON.stringify(data)}\n\n`);
  }

  /** Sends an error event and closes. */
  fail(error: string, message: string): void {
    this.write(`event: error\ndata: ${JSON.stringify({ error, message })}\n\n`);
    this.end();
  }

  end(): void {
    if (this.closed) return;
    this.closed = true;
    clearInterval(this.heartbeat);
    this.reply.raw.end();
    for (const fn of this.closers.splice(0)) fn();
  }

  private write(text: string): boolean {
    if (this.closed) return false;
    this.reply.raw.write(text);
    return true;
  }
}

/** Largest revision a client may name (beyond it a number loses precision). */
const MAX_REVISION = Number.MAX_SAFE_INTEGER;

/**
 * The revision to resume from: Last-Event-ID + 1, or ?fromRevision; undefined for "from now".
 * A value that is not a revision is refused (400), never taken as "from now".
 */
export function resumeFrom(headers: Record<string, string | string[] | undefined>, query: { fromRevision?: string }): number | undefined {
  const header = headers['last-event-id'];
  if (header !== undefined && header !== '') {
    const last = typeof header === 'string' && /^[0-9]{1,16}$/.test(header.trim()) ? Number(header.trim()) : NaN;
    if (!Number.isSafeInteger(last) || last >= MAX_REVISION) throw new HttpError(400, 'invalid', `Last-Event-ID "${String(header).slice(0, 40)}" is not an event id (a whole number)`);
    if (last > 0) return last + 1;
  }
  if (query.fromRevision === undefined) return undefined;
  const from = /^[0-9]{1,16}$/.test(query.fromRevision) ? Number(query.fromRevision) : NaN;
  if (!Number.isSafeInteger(from) || from < 1) throw new HttpError(400, 'invalid', `query parameter fromRevision: "${query.fromRevision.slice(0, 40)}" is not a revision (a whole number from 1)`);
  return from;
}
