// What runs on the machine, read from /proc: processes by a variable of their environment (what a
// node gives its children: ROTA_WORKER_ID, ROTA_WORK_ID, ROTA_FENCING_TOKEN), and a sampler that
// sees two runs of one item at once. Also the last resort of a test's cleanup: kill what it left.
import fs from 'node:fs';

export interface ProcInfo {
  pid: number;
  ppid: number;
  pgid: number;
  /** One-letter state: R, S, D, T (stopped), Z (zombie)... */
  state: string;
  env: Record<string, string>;
}

/** The stat fields of `pid`, or undefined when it is gone. */
export function stat(pid: number): { state: string; ppid: number; pgid: number; started: string } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], ppid: Number(f[1]), pgid: Number(f[2]), started: f[19] };
  } catch {
    return undefined;
  }
}

/** Processes known not to carry the variable, by pid and start time (a pid may be reused). */
export type EnvCache = Map<string, null>;

/** Live processes (zombies excluded) whose environment has `name` (equal to `value` if given). */
export function processesWith(name: string, value?: string, cache: EnvCache = new Map()): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    const s = stat(pid);
    if (!s || s.state === 'Z' || s.state === 'X') continue;
    // One found without the variable is not read again: what matters here are the forks of marked
    // processes, which carry it from the start. A marked one is read each time (an exec may change it).
    const key = `${pid}@${s.started}`;
    if (cache.get(key) === null) continue;
    const env = readEnv(pid, name);
    if (!env) cache.set(key, null);
    if (!env || env[name] === undefined || (value !== undefined && env[name] !== value)) continue;
    found.push({ pid, ...s, env });
  }
  return found;
}

function readEnv(pid: number, name: string): Record<string, string> | null {
  let raw: string;
  try {
    raw = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
  } catch {
    return null;
  }
  if (!raw.includes(`${name}=`)) return null;
  const env: Record<string, string> = {};
  for (const kv of raw.split('\0')) {
    const i = kv.indexOf('=');
    if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
  }
  return env;
}

/** SIGCONT then SIGKILL every process whose environment has `name`=`value` (a test's leftovers); returns how many. */
export function killAllWith(name: string, value: string): number {
  const left = processesWith(name, value).filter((p) => p.pid !== process.pid);
  for (const p of left) {
    for (const sig of ['SIGCONT', 'SIGKILL'] as const) {
      try {
        process.kill(p.pid, sig);
      } catch {
        // gone
      }
    }
  }
  return left.length;
}

/**
 * Samples /proc every `everyMs`: for each item (ROTA_WORK_ID) the fencing tokens of its live
 * processes; two tokens of one item alive at once is a double run.
 */
export class RunSampler {
  readonly doubles: string[] = [];
  samples = 0;
  private readonly timer: NodeJS.Timeout;
  private readonly cache: EnvCache = new Map();

  constructor(private readonly marker: { name: string; value: string }, everyMs = 20) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    const byItem = new Map<string, Set<string>>();
    for (const p of processesWith(this.marker.name, this.marker.value, this.cache)) {
      const item = p.env.ROTA_WORK_ID;
      if (!item || p.state === 'T') continue;
      const runs = byItem.get(item) ?? new Set<string>();
      runs.add(`${p.env.ROTA_WORKER_ID}#${p.env.ROTA_FENCING_TOKEN}`);
      byItem.set(item, runs);
    }
    this.samples++;
    for (const [item, runs] of byItem) if (runs.size > 1) this.doubles.push(`${item}: ${[...runs].join(' and ')}`);
  }

  stop(): void {
    clearInterval(this.timer);
  }
}
