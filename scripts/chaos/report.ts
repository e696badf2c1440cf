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
  unclaimed: number;
  stray: number;
  endProblems: string[];
  lost: number;
  lostList: string[];
  /** How long after everything was restored every item ran exactly once (null: not within the watch). */
  settledMs: number | null;
  items: { seeded: number; added: number; updated: number; deleted: number; inRegistry: number; failedCalls: number; largest: number; oddAnswers: string[] };
  nodeStarts: number;
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
  if (f.unclaimed > 0) out.push(`unclaimed: ${f.unclaimed} items did not run exactly once within TTL + 3 s of the end of the faults`);
  if (f.stray > 0) out.push(`stray: ${f.stray} deleted items still ran at the end`);
  if (f.lost > 0) out.push(`lost: ${f.lost} acknowledged items are not in the registry`);
  if (f.nodeCrashes.length > 0) out.push(`crashes: ${f.nodeCrashes.length} node exits nobody asked for`);
  if (f.missingFaults.length > 0) out.push(`coverage: never injected ${f.missingFaults.join(', ')}`);
  if (f.runsSeen === 0) out.push('sampler: saw no item process at all');
  if (f.problems.length > 0) out.push(`runner: ${f.problems.length} problems (${f.problems[0]})`);
  return out;
}
