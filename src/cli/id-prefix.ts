// Ids as people copy them from the dashboard and tables: any unique start of one (`8817aee2` for
// 8817aee2-4c1e-…). The full id is tried first; only when the node says 404 is the start looked up
// (a page of ids after it, in id order), and used if exactly one id begins with it. A command that
// changes or deletes takes a start only of MIN_CHANGE_PREFIX characters or more: `rota work rm
// svc-1`, run twice, must not delete svc-10 the second time.
import { ApiError, type HttpClient } from '../client/http-client.js';

type Kind = 'work' | 'worker' | 'job' | 'run';

/** The ids of `kind` that begin with `start` (at most a page of them). */
async function idsStarting(client: HttpClient, kind: Kind, start: string): Promise<string[]> {
  const page = { after: start, limit: 50 };
  const ids =
    kind === 'work'
      ? (await client.listWorkPage(page)).items.map((i) => i.id)
      : kind === 'job'
        ? (await client.listJobPage(page)).items.map((j) => j.id)
        : kind === 'run'
          ? (await client.listRuns()).map((r) => r.id) // runs/<id>/… keys: "x-1/" sorts before "x/", so no page starts at x

          : (await client.listWorkers()).map((w) => w.id);
  return ids.filter((id) => id.startsWith(start));
}

/** The shortest start of an id a changing command resolves (the dashboard shows 8). */
export const MIN_CHANGE_PREFIX = 8;

/** The methods that only read. */
const READS = new Set(['getWork', 'workerConfig', 'getJob', 'jobTasks', 'jobTaskPage', 'getRun', 'getRunParam']);

/** The methods whose first argument is an id, and its kind. */
const TAKES_ID: Record<string, Kind> = {
  getWork: 'work', updateWork: 'work', deleteWork: 'work',
  setDraining: 'worker', workerConfig: 'worker', configureWorker: 'worker',
  getJob: 'job', jobTasks: 'job', jobTaskPage: 'job', cancelJob: 'job', deleteJob: 'job',
  getRun: 'run', completeRun: 'run', setRunParam: 'run', getRunParam: 'run', deleteRun: 'run',
};

/** The one id of `kind` that `start` begins; undefined if none does; throws naming them if several do. */
export async function resolveId(client: HttpClient, kind: Kind, start: string): Promise<string | undefined> {
  const ids = await idsStarting(client, kind, start);
  if (ids.length > 1) throw new Error(`"${start}" is the start of ${ids.length === 50 ? 'many' : ids.length} ${kind} ids (${ids.slice(0, 5).join(', ')}${ids.length > 5 ? ', …' : ''}): give more of it`);
  return ids[0];
}

/** `client` taking a unique start of an id wherever it takes an id. */
export function withIdPrefixes(client: HttpClient): HttpClient {
  return new Proxy(client, {
    get(target, prop, receiver) {
      const value = Reflect.get(target, prop, receiver) as unknown;
      const kind = typeof prop === 'string' ? TAKES_ID[prop] : undefined;
      if (!kind || typeof value !== 'function') return typeof value === 'function' ? value.bind(target) : value;
      const call = (args: unknown[]) => (value as (...a: unknown[]) => Promise<unknown>).apply(target, args);
      return async (id: string, ...rest: unknown[]) => {
        const resolves = READS.has(prop as string) || id.length >= MIN_CHANGE_PREFIX;
        // A worker's configuration may be set before it runs (no 404 to go by): a running worker's id start is taken first.
        if (prop === 'configureWorker') {
          const live = resolves ? await idsStarting(target, 'worker', id) : [];
          return call([live.includes(id) || live.length !== 1 ? id : live[0], ...rest]);
        }
        try {
          return await call([id, ...rest]);
        } catch (err) {
          if (!(err instanceof ApiError) || err.status !== 404 || !resolves) throw err;
          const full = await resolveId(target, kind, id);
          if (full === undefined || full === id) throw err;
          return call([full, ...rest]);
        }
      };
    },
  });
}
