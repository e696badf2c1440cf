// Following a run from Node: `for await (const e of watchRun(api, 'run-1235')) …` — the run as it
// is, then every state change and parameter change, pushed, resumed across reconnects.
import type { RunEvent } from '../engine/runs/run-events.js';
import type { RunView } from '../engine/runs/runs.js';
import { readSse } from './sse-reader.js';

/** The first event: the run as it was when the watch began. */
export type RunSnapshot = { type: 'run'; revision: number; run: RunView };

export interface WatchRunOptions {
  token?: string;
  /** Resume after this revision instead of starting with a snapshot. */
  afterRevision?: number;
  signal?: AbortSignal;
}

/** The run's events from the API at `api`. A run that is deleted ends the iteration. */
export async function* watchRun(api: string, runId: string, options: WatchRunOptions = {}): AsyncGenerator<RunSnapshot | RunEvent> {
  const url = new URL(`/runs/${encodeURIComponent(runId)}/events`, api).href;
  const headers: Record<string, string> = options.token ? { authorization: `Bearer ${options.token}` } : {};
  for await (const e of readSse(url, { headers, signal: options.signal, lastEventId: options.afterRevision ? String(options.afterRevision) : undefined })) {
    if (e.event === 'error') throw new Error(`run events: ${e.data}`);
    const data = JSON.parse(e.data);
    if (e.event === 'run') yield { type: 'run', revision: Number(e.id ?? 0), run: data as RunView };
    else yield data as RunEvent;
    if (e.event === 'deleted') return;
  }
}
