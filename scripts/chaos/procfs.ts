// Reading /proc: every process on the machine with its state, parent and the few environment
// variables that tie it to a chaos run and a rota item. Processes vanish between any two reads:
// every read tolerates that and the process is then simply not listed.
import fs from 'node:fs';

/** The environment variable that tags every process of one chaos run (nodes, guards, items, etcd). */
export const RUN_TAG = 'ROTA_CHAOS_RUN';

/** One process as /proc showed it. */
export interface Proc {
  pid: number;
  ppid: number;
  pgid: number;
  /** R, S, D, T (stopped), t (traced), Z (zombie), X (dead)… */
  state: string;
  comm: string;
  /** ROTA_CHAOS_RUN, ROTA_CHAOS_ROLE, ROTA_WORK_ID, ROTA_FENCING_TOKEN, ROTA_WORKER_ID when set. */
  env: Record<string, string>;
}

const WANTED = [RUN_TAG, 'ROTA_CHAOS_ROLE', 'ROTA_WORK_ID', 'ROTA_FENCING_TOKEN', 'ROTA_WORKER_ID'];

/** Whether the process runs (a stopped, traced, zombie or dead one does not). */
export function isLive(p: Proc): boolean {
  return !'TtZXx'.includes(p.state);
}

interface Stat {
  state: string;
  ppid: number;
  pgid: number;
  comm: string;
  /** Start time in clock ticks: with the pid and comm, identifies one program in one process. */
  start: string;
}

function readStat(pid: number): Stat | undefined {
  let text: string;
  try {
    text = fs.readFileSync(`/proc/${pid}/stat`, 'latin1');
  } catch {
    return undefined;
  }
  const close = text.lastIndexOf(')');
  const fields = text.slice(close + 2).split(' ');
  return { state: fields[0], ppid: Number(fields[1]), pgid: Number(fields[2]), comm: text.slice(text.indexOf('(') + 1, close), start: fields[19] };
}

function readEnv(pid: number): Record<string, string> | undefined {
  let buf: Buffer;
  try {
    buf = fs.readFileSync(`/proc/${pid}/environ`);
  } catch {
    return undefined;
  }
  const env: Record<string, string> = {};
  let from = 0;
  while (from < buf.length) {
    let end = buf.indexOf(0, from);
    if (end < 0) end = buf.length;
    // Only names we want: check the prefix before decoding (item environments carry up to 64 KiB).
    if (buf[from] === 0x52 /* R */) {
      const eq = buf.indexOf(0x3d /* = */, from);
      if (eq > 0 && eq < end) {
        const name = buf.toString('latin1', from, eq);
        if (WANTED.includes(name)) env[name] = buf.toString('utf8', eq + 1, end);
      }
    }
    from = end + 1;
  }
  return env;
}

/** Every this many listings, processes known to be of no run are read again (a pid may be reused). */
const FULL_EVERY = 50;

/**
 * Lists processes. Environments are read once per program: a cache keyed by pid, start time and
 * command name, so an exec (which changes the command name) or a reused pid reads it again.
 * Reading /proc is slow in some sandboxes (~0.2 ms a file), so a listing for one run skips the
 * processes already known to belong to no run, but for a full pass every FULL_EVERY listings:
 * only a process started with the tag can carry it (an exec keeps or replaces the environment its
 * caller chose, and only the runner and the run's own processes choose the tag).
 */
export class ProcReader {
  private readonly envs = new Map<number, { key: string; env: Record<string, string>; outsider: boolean }>();
  private listings = 0;

  /** Every process now; with `tag`, only those of that run. */
  list(tag?: string): Proc[] {
    const full = tag === undefined || this.listings++ % FULL_EVERY === 0;
    let names: string[];
    try {
      names = fs.readdirSync('/proc');
    } catch {
      return [];
    }
    const out: Proc[] = [];
    const seen = new Set<number>();
    for (const name of names) {
      const c = name.charCodeAt(0);
      if (c < 48 || c > 57) continue;
      const pid = Number(name);
      if (!full && this.envs.get(pid)?.outsider) {
        seen.add(pid);
        continue;
      }
      const stat = readStat(pid);
      if (!stat) continue;
      seen.add(pid);
      const key = `${stat.start}:${stat.comm}`;
      let cached = this.envs.get(pid);
      if (!cached || cached.key !== key) {
        // A child of ours (or of a process of a run) forked but not yet exec'd may still change its
        // environment, and a node keeps the command name "node" across that exec: only a process
        // with no such parent is known for good. (Some environments cannot be read at all: kernel
        // threads, other sandboxes' processes.)
        const parent = this.envs.get(stat.ppid);
        const watched = stat.ppid === process.pid || (parent !== undefined && !parent.outsider);
        const env = readEnv(pid);
        if (!env && watched) continue;
        cached = { key, env: env ?? {}, outsider: !watched && env?.[RUN_TAG] === undefined };
        if (!watched || cached.env[RUN_TAG] !== undefined) this.envs.set(pid, cached);
      }
      if (tag !== undefined && cached.env[RUN_TAG] !== tag) continue;
      out.push({ pid, ppid: stat.ppid, pgid: stat.pgid, state: stat.state, comm: stat.comm, env: cached.env });
    }
    for (const pid of this.envs.keys()) if (!seen.has(pid)) this.envs.delete(pid);
    return out;
  }
}

/** The command line of `pid` ('' when it is gone). */
export function cmdline(pid: number): string {
  try {
    return fs.readFileSync(`/proc/${pid}/cmdline`, 'utf8').split('\0').join(' ');
  } catch {
    return '';
  }
}

/** SIGKILLs every process of the run tagged `tag` but `except` (and SIGCONT, so stopped ones die too); returns them. */
export function killTagged(tag: string, except: number[] = []): Proc[] {
  const procs = new ProcReader().list(tag).filter((p) => p.pid !== process.pid && !except.includes(p.pid));
  for (const p of procs) {
    for (const sig of ['SIGKILL', 'SIGCONT'] as const) {
      try {
        process.kill(p.pid, sig);
      } catch {
        // gone already
      }
    }
  }
  return procs;
}
