// The run's figures (one JSON line) and the verdict: which promises were broken.

/** Everything a run measured. */
export interface Figures {
  run: string;
  seconds: number;
  seed: number;
  nodes: number;
  ttl: number;
  /** Faults injected, by kind; churn counts item operations. */
  faults: Record<string, number>;
  /** Fault kinds never injected (the run did not do its job). */
  missingFaults: string[];
  samples: number;
  maxSampleGapMs: number;
  /** The longest one reading of /proc took. */
  maxSampleListMs: number;
  /** Distinct (item, token) runs the sampler saw: proof it sees items at all. */
  runsSeen: number;
  itemStarts: number;
  doubleRunSamples: number;
  doubleRunItems: number;
  /** Distinct (item, tokens) sets seen running at once, and the first few described. */
  doubleRunPairs: number;
  doubleRuns: string[];
  orphans: number;
  orphanList: string[];
  /** Nodes running but not registered as workers throughout the second after the deadline. */
  unregistered: number;
  /** Registry items still not running exactly once throughout the second after the deadline. */
  unclaimed: number;
  /** Deleted items still running throughout that second. */
  stray: number;
  /** Those items by what was wrong, and the first few described. */
  endReasons: Record<string, number>;
  endProblems: string[];
  lost: number;
  lostList: string[];
  /** How long after everything was restored every item ran exactly once (null: not within the watch). */
  settledMs: number | null;
  /** TTL + 3 s: the promise. */
  settleDeadlineMs: number;
  items: { seeded: number; added: number; updated: number; deleted: number; inRegistry: number; failedCalls: number; largest: number; oddAnswers: string[] };
  nodeStarts: number;
  /** Node starts that failed because another process took the free port first (restarted, not counted as crashes). */
  portRaces: number;
  /** Nodes that exited without being told to. */
  nodeCrashes: string[];
  /** Nodes that did not stop within the grace of a SIGTERM at the end. */
  nodesKilledAtEnd: number;
  problems: string[];
  violations: string[];
}

/** The promises a run checks, each broken one named. */
export function violations(f: Omit<Figures, 'violations'>): string[] {
  const out: string[] = [];
  if (f.doubleRunSamples > 0) out.push(`double runs: ${f.doubleRunItems} items ran twice at once, in ${f.doubleRunSamples} samples`);
  if (f.orphans > 0) out.push(`orphans: ${f.orphans} processes of the run were left after every node and etcd stopped`);
  if (f.unregistered > 0) out.push(`unregistered: ${f.unregistered} running nodes were not registered as workers within TTL + 3 s of the end of the faults`);
  if (f.unclaimed > 0) out.push(`unclaimed: ${f.unclaimed} items did not run exactly once within TTL + 3 s of the end of the faults`);
  if (f.settledMs === null || f.settledMs > f.settleDeadlineMs) {
    out.push(`late: every item ran exactly once ${f.settledMs === null ? 'at no time in 20 s' : `only after ${f.settledMs} ms`} (promise: ${f.settleDeadlineMs} ms)`);
  }
  if (f.stray > 0) out.push(`stray: ${f.stray} deleted items still ran at the end`);
  if (f.lost > 0) out.push(`lost: ${f.lost} acknowledged items are not in the registry`);
  if (f.nodeCrashes.length > 0) out.push(`crashes: ${f.nodeCrashes.length} node exits nobody asked for`);
  if (f.missingFaults.length > 0) out.push(`coverage: never injected ${f.missingFaults.join(', ')}`);
  if (f.runsSeen === 0) out.push('sampler: saw no item process at all');
  if (f.problems.length > 0) out.push(`runner: ${f.problems.length} problems (${f.problems[0]})`);
  return out;
}
