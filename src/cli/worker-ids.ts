// `rota up`'s worker ids, kept in its data directory: restarted, the same workers come back under
// the same ids, and their items, still assigned to them in the store, start where they ran.
import { randomUUID } from 'node:crypto';
import fs from 'node:fs';
import path from 'node:path';

/** `n` ids: those of the last run in `dir` first, new ones after (written back); all new without a directory. */
export function workerIds(dir: string | undefined, n: number): string[] {
  const file = dir && path.join(dir, 'worker-ids.json');
  let known: string[] = [];
  try {
    const read = file ? (JSON.parse(fs.readFileSync(file, 'utf8')) as unknown) : [];
    if (Array.isArray(read)) known = read.filter((id): id is string => typeof id === 'string' && /^[A-Za-z0-9._:-]{1,128}$/.test(id));
  } catch {
    // none yet, or unreadable: new ids
  }
  const ids = [...known.slice(0, n)];
  while (ids.length < Math.max(1, n)) ids.push(randomUUID());
  if (file) fs.writeFileSync(file, JSON.stringify([...ids, ...known.slice(ids.length)]));
  return ids;
}
