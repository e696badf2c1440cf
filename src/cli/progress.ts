// A job's progress for people: a bar redrawn in place on a terminal, plain lines when piped.
import type { JobStatus } from '../client/types.js';

const fmtRate = (r: number) => (r >= 10 ? r.toFixed(0) : r.toFixed(1));

/** Durations as "0.4s", "42s", "3m05s", "1h02m". */
export function formatDuration(ms: number): string {
  if (ms < 10_000) return `${(ms / 1000).toFixed(1)}s`;
  const s = Math.round(ms / 1000);
  if (s < 60) return `${s}s`;
  if (s < 3600) return `${Math.floor(s / 60)}m${String(s % 60).padStart(2, '0')}s`;
  return `${Math.floor(s / 3600)}h${String(Math.floor((s % 3600) / 60)).padStart(2, '0')}m`;
}

/** One line: bar (when `width` > 0), done/total, failures, rate, ETA. */
export function progressLine(job: JobStatus, width: number): string {
  const c = job.counts;
  const remaining = job.total - job.done;
  const eta = job.rate > 0 && remaining > 0 ? ` ETA ${formatDuration((remaining / job.rate) * 1000)}` : '';
  const bar = width > 0 ? `[${'█'.repeat(Math.round(job.progress * width)).padEnd(width, '░')}] ` : '';
  const state = job.state === 'cancelled' ? ' (cancelled)' : job.finishedAt ? ' done' : '';
  return `${job.id} ${bar}${job.done}/${job.total} ${Math.floor(job.progress * 100)}%  ok ${c.succeeded}  failed ${c.failed}  running ${c.running}${c.cancelled ? `  cancelled ${c.cancelled}` : ''}  ${fmtRate(job.rate)}/s${eta}${state}`;
}

/** Draws progress: in place on a terminal, a line per change otherwise. */
export class ProgressView {
  private last = '';
  constructor(private readonly out: NodeJS.WriteStream = process.stdout) {}

  get tty(): boolean {
    return Boolean(this.out.isTTY);
  }

  show(job: JobStatus): void {
    if (this.tty) {
      const width = Math.max(10, Math.min(40, (this.out.columns ?? 80) - 70));
      this.out.write(`\r\x1b[2K${progressLine(job, width)}`);
      return;
    }
    const line = progressLine(job, 0);
    const key = `${job.done}/${job.counts.running}/${job.state}`;
    if (key !== this.last) this.out.write(`${line}\n`);
    this.last = key;
  }

  end(): void {
    if (this.tty) this.out.write('\n');
  }
}
