// What a task leaves behind: one record per attempt, and one result when it is done for good.

/** How a task ended for good. */
export type TaskStatus = 'succeeded' | 'failed' | 'cancelled';
/** Why an attempt or a task ended. */
export type EndReason = 'exit' | 'timeout' | 'lost' | 'cancelled';

/** attempts/<taskId>/<attemptId>: written when the attempt begins, completed when it ends. */
export interface AttemptRecord {
  worker: string;
  /** The claim's fencing token (attempts are numbered by it: oldest first). */
  token: number;
  startedAt: number;
  end?: {
    ok: boolean;
    reason: EndReason;
    exitCode: number | null;
    signal: string | null;
    finishedAt: number;
    /** When a retry may start (absent when this was the last attempt). */
    retryAt?: number;
    /** The last ATTEMPT_OUTPUT_BYTES of its output (the final attempt's is in the result, longer). */
    output?: string;
  };
}

/** How much output an attempt that will be retried keeps (its whole history stays small: at most maxAttempts of these). */
export const ATTEMPT_OUTPUT_BYTES = 4096;

/** The last `max` bytes of `text`, cut between characters. */
export function outputTail(text: string, max: number): string {
  if (text.length * 3 <= max || Buffer.byteLength(text) <= max) return text;
  const buf = Buffer.from(text);
  return buf.subarray(buf.length - max).toString('utf8').replace(/^\ufffd+/, '');
}

/** results/<taskId>: the outcome, written exactly once. */
export interface TaskResult {
  status: TaskStatus;
  reason: EndReason;
  exitCode: number | null;
  signal: string | null;
  attempts: number;
  worker?: string;
  startedAt?: number;
  finishedAt: number;
  durationMs?: number;
  /** The last 64 KiB of stdout and stderr, interleaved as written. */
  output: string;
}

export const DEFAULT_MAX_ATTEMPTS = 3;
export const DEFAULT_BACKOFF_MS = 1000;
/** How much output a result keeps. */
export const OUTPUT_TAIL_BYTES = 64 * 1024;

/** Delay before retry number `attempt` (1 = after the first failure): doubling, ±25 % jitter, at most 5 min. */
export function retryDelay(attempt: number, baseMs: number, random: () => number): number {
  const plain = Math.min(5 * 60_000, baseMs * 2 ** Math.max(0, attempt - 1));
  return Math.round(plain * (0.75 + random() * 0.5));
}

/** A JSON record, or undefined when damaged. */
export function decodeJson<T>(value: string | undefined): T | undefined {
  if (value === undefined) return undefined;
  try {
    return JSON.parse(value) as T;
  } catch {
    return undefined;
  }
}

/** Keeps the last `max` bytes of what is appended. */
export class OutputTail {
  private chunks: string[] = [];
  private size = 0;

  constructor(private readonly max = OUTPUT_TAIL_BYTES) {}

  append(line: string): void {
    const text = `${line}\n`;
    this.chunks.push(text);
    this.size += Buffer.byteLength(text);
    while (this.size > this.max && this.chunks.length > 1) this.size -= Buffer.byteLength(this.chunks.shift()!);
  }

  toString(): string {
    const all = this.chunks.join('');
    if (Buffer.byteLength(all) <= this.max) return all;
    return Buffer.from(all).subarray(-this.max).toString('utf8');
  }
}
