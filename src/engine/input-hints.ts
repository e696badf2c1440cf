// What to say about a field nobody defined: the one meant, from a list of likely slips (names other
// tools use) or the nearest known name by edit distance.

/** Names other tools use for rota's fields. */
const ALIASES: Record<string, string> = {
  timeout: 'timeoutMs (milliseconds)',
  timeout_ms: 'timeoutMs (milliseconds)',
  retries: 'maxAttempts (attempts in all: retries + 1)',
  retry: 'maxAttempts (attempts in all: retries + 1)',
  attempts: 'maxAttempts',
  max_attempts: 'maxAttempts',
  backoff: 'backoffMs (milliseconds)',
  cmd: 'command',
  run: 'command',
  script: 'command',
  args: 'command',
  environment: 'env',
  labels: 'selector (the worker labels it needs)',
  data: 'content',
  body: 'content',
};

/** Levenshtein distance, small strings only. */
function distance(a: string, b: string): number {
  const row = Array.from({ length: b.length + 1 }, (_, i) => i);
  for (let i = 1; i <= a.length; i++) {
    let prev = row[0];
    row[0] = i;
    for (let j = 1; j <= b.length; j++) {
      const here = row[j];
      row[j] = Math.min(row[j] + 1, row[j - 1] + 1, prev + (a[i - 1] === b[j - 1] ? 0 : 1));
      prev = here;
    }
  }
  return row[b.length];
}

/** "unknown field "comand" (did you mean command?)", for `key` among `known`. */
export function unknownField(key: string, known: readonly string[]): string {
  const shown = JSON.stringify(key.slice(0, 60));
  // No guess for a long key: the distance costs its length times each name's (a 1 MB key would stall the node).
  const lower = key.length <= 64 ? key.toLowerCase() : '';
  const alias = lower && Object.hasOwn(ALIASES, lower) ? ALIASES[lower] : undefined;
  const meant = !lower ? undefined : alias && known.includes(alias.split(' ')[0]) ? alias : known.find((k) => k.toLowerCase() === lower) ?? nearest(key, known);
  return `unknown field ${shown}${meant ? ` (did you mean ${meant}?)` : ''}; the fields are ${known.join(', ')}`;
}

function nearest(key: string, known: readonly string[]): string | undefined {
  let best: { name: string; d: number } | undefined;
  for (const name of known) {
    const d = distance(key.toLowerCase(), name.toLowerCase());
    if (!best || d < best.d) best = { name, d };
  }
  return best && best.d <= Math.max(1, Math.floor(key.length / 3)) ? best.name : undefined;
}
