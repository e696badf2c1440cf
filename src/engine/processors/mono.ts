// The clock a node and its guard share: CLOCK_MONOTONIC (what process.hrtime reads), one for every
// process on a host, never stepped by NTP or by hand. Deadlines between the two processes are
// instants on it, so a wall clock set back during a partition cannot delay fencing. (The engine's
// Clock is per process and may be simulated; this one must be the kernel's, as two processes read it.)

/** Milliseconds on the host's monotonic clock. */
export function monoNow(): number {
  return Number(process.hrtime.bigint()) / 1e6;
}
