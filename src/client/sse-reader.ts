// Reading Server-Sent Events with fetch: parsed events, and reconnection that resumes from the
// last event id, so a reader that is cut off misses nothing.

export interface SseEvent {
  id?: string;
  event: string;
  data: string;
}

export interface SseOptions {
  headers?: Record<string, string>;
  /** Resume after this event id (sent as Last-Event-ID). */
  lastEventId?: string;
  signal?: AbortSignal;
  /** Delay before reconnecting after the connection dropped (default 500 ms). */
  retryMs?: number;
}

/** Yields the events of `url`, reconnecting with Last-Event-ID until `signal` aborts. */
export async function* readSse(url: string, options: SseOptions = {}): AsyncGenerator<SseEvent> {
  let lastId = options.lastEventId;
  for (;;) {
    if (options.signal?.aborted) return;
    let res: Response;
    try {
      res = await fetch(url, { headers: { accept: 'text/event-stream', ...options.headers, ...(lastId ? { 'last-event-id': lastId } : {}) }, signal: options.signal });
    } catch (err) {
      if (options.signal?.aborted) return;
      await new Promise((r) => setTimeout(r, options.retryMs ?? 500));
      continue;
    }
    if (!res.ok || !res.body) {
      const text = await res.text().catch(() => '');
      throw new Error(`${url} answered ${res.status}: ${text}`);
    }
    let buffer = '';
    let event: Partial<SseEvent> = {};
    const decoder = new TextDecoder();
    try {
      for await (const chunk of res.body) {
        buffer += decoder.decode(chunk as Uint8Array, { stream: true });
        let nl: number;
        while ((nl = buffer.indexOf('\n')) >= 0) {
          const line = buffer.slice(0, nl).replace(/\r$/, '');
          buffer = buffer.slice(nl + 1);
          if (line === '') {
            if (event.data !== undefined) {
              if (event.id) lastId = event.id;
              yield { id: event.id, event: event.event ?? 'message', data: event.data };
            }
            event = {};
          } else if (!line.startsWith(':')) {
            const colon = line.indexOf(':');
            const field = colon < 0 ? line : line.slice(0, colon);
            const value = colon < 0 ? '' : line.slice(colon + 1).replace(/^ /, '');
            if (field === 'data') event.data = event.data === undefined ? value : `${event.data}\n${value}`;
            else if (field === 'event') event.event = value;
            else if (field === 'id') event.id = value;
          }
        }
      }
    } catch {
      if (options.signal?.aborted) return;
    }
    await new Promise((r) => setTimeout(r, options.retryMs ?? 500));
  }
}
