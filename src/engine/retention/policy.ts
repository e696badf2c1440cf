// How long finished work is kept: an age and a count, both optional (0 = no limit). The unit is a
// finished standalone task or a whole finished job (its tasks go together, never one by one).
import { ValidationError } from '../model.js';

/** Limits on finished tasks and jobs; the leader deletes what is beyond them. */
export interface RetentionPolicy {
  /** Delete what finished longer ago than this (ms; 0 = keep regardless of age). */
  maxAgeMs: number;
  /** Keep at most this many finished tasks, newest first, a job counting as its tasks (0 = no limit). */
  maxCount: number;
}

/** Keep a week and at most 10,000 finished tasks: at most 10,000 × 64 KiB of output tails (640 MiB), well inside etcd's 2 GiB quota. */
export const DEFAULT_RETENTION: RetentionPolicy = { maxAgeMs: 7 * 24 * 3600_000, maxCount: 10_000 };

const UNITS: Record<string, number> = { ms: 1, s: 1000, m: 60_000, h: 3600_000, d: 24 * 3600_000 };

/** "7d", "12h", "30m", "45s", "500ms", or "0" / "forever" for no limit → ms. */
export function parseAge(text: string): number {
  const t = text.trim();
  if (t === '0' || t === 'forever') return 0;
  const m = /^(\d+(?:\.\d+)?)(ms|s|m|h|d)$/.exec(t);
  if (!m) throw new ValidationError(`retention age "${text}" is not a duration: write e.g. 7d, 12h, 30m or 45s (0 keeps results forever)`);
  return Math.round(Number(m[1]) * UNITS[m[2]]);
}

/** A whole number of finished tasks to keep (0 = no limit). */
export function parseCount(text: string): number {
  const n = Number(text);
  if (!Number.isInteger(n) || n < 0) throw new ValidationError(`retention count "${text}" must be a whole number (0 = no limit)`);
  return n;
}
