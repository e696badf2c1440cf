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
export function stat(pid: number): { state: string; ppid: number; pgid: number } | undefined {
  try {
    const s = fs.readFileSync(`/proc/${pid}/stat`, 'utf8');
    const f = s.slice(s.lastIndexOf(')') + 2).split(' ');
    return { state: f[0], ppid: Number(f[1]), pgid: Number(f[2]) };
  } catch {
    return undefined;
  }
}

/** Live processes (zombies excluded) whose environment has `name` (equal to `value` if given). */
export function processesWith(name: string, value?: string): ProcInfo[] {
  const found: ProcInfo[] = [];
  for (const d of fs.readdirSync('/proc')) {
    if (!/^\d+$/.test(d)) continue;
    const pid = Number(d);
    let raw: string;
    try {
      raw = fs.readFileSync(`/proc/${pid}/environ`, 'utf8');
    } catch {
      continue;
    }
    if (!raw.includes(`${name}=`)) continue;
    const env: Record<string, string> = {};
    for (const kv of raw.split('\0')) {
      const i = kv.indexOf('=');
      if (i > 0) env[kv.slice(0, i)] = kv.slice(i + 1);
    }
    if (env[name] === undefined || (value !== undefined && env[name] !== value)) continue;
    const s = stat(pid);
    if (!s || s.state === 'Z' || s.state === 'X') continue;
    found.push({ pid, ...s, env });
  }
  return found;
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

  constructor(private readonly marker: { name: string; value: string }, everyMs = 20) {
    this.timer = setInterval(() => this.sample(), everyMs);
  }

  sample(): void {
    const byItem = new Map<string, Set<string>>();
    for (const p of processesWith(this.marker.name, this.marker.value)) {
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
