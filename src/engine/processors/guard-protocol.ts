// What a node and its guard say to each other: JSON lines over the guard's fd 3.
// Deadlines travel as a duration and the instant it was measured at on the host's monotonic clock
// (mono.ts), never as wall-clock times: the guard ends a child `ms` after `at`, however late it
// reads the message, and a clock stepped by NTP changes nothing.
import type { EtcdGateway } from './guard-release.js';

/** A deadline: `ms` milliseconds after monotonic instant `at`. */
export interface Deadline {
  ms: number;
  at: number;
}

export interface SpawnMsg {
  op: 'spawn';
  id: number;
  command: string[];
  env: NodeJS.ProcessEnv;
  cwd?: string;
  input: string;
  deadline: Deadline;
  /** Between SIGTERM and SIGKILL when the deadline passes. */
  killAfterMs: number;
}

/** Node → guard. */
export type GuardIn =
  | SpawnMsg
  | { op: 'feed'; id: number; deadline: Deadline }
  | { op: 'stop'; id: number; graceMs: number; at: number }
  | { op: 'release'; lease: string; gateway: EtcdGateway }
  | { op: 'forget'; lease: string };

/** Guard → node. `stopping` and `killed` let the node check that the guard does its job. */
export type GuardOut =
  | { op: 'hello' }
  | { op: 'tick' }
  | { op: 'started'; id: number; pid: number }
  | { op: 'out'; id: number; stream: 'stdout' | 'stderr'; line: string }
  | { op: 'stopping'; id: number }
  | { op: 'killed'; id: number }
  | { op: 'exit'; id: number; code: number | null; signal: string | null; reason: string; error?: string; lingering?: boolean };

/** The longest output line the guard passes on whole; longer ones are cut into pieces. */
export const OUTPUT_LINE_MAX = 64 * 1024;
/** The longest message from the guard the node reads (an output line, JSON-escaped, fits). */
export const GUARD_OUT_MAX = 1024 * 1024;
/** The longest message the guard reads (a spawn carries the item's content, up to a few MiB escaped). */
export const GUARD_IN_MAX = 64 * 1024 * 1024;
/** How often the guard says it is alive. */
export const TICK_MS = 500;
