// Server-Sent Events on a raw response: each event with its revision as id (so a client resumes
// with Last-Event-ID), a heartbeat, and slow clients dropped with a reason instead of buffering
// without bound.
import type { FastifyReply } from 'fastify';

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

/** The revision to resume from: Last-Event-ID + 1, or ?fromRevision. */
export function resumeFrom(headers: Record<string, string | string[] | undefined>, query: { fromRevision?: string }): number | undefined {
  const last = Number(headers['last-event-id']);
  if (Number.isInteger(last) && last > 0) return last + 1;
  const from = Number(query.fromRevision);
  return Number.isInteger(from) && from > 0 ? from : undefined;
}
