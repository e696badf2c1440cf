// The values bench:cache writes: text records with random fields (ids, numbers, hex), as a shuffle's
// intermediate data looks — compressible, but not trivially (gzip-1 takes it to about a third).
import { randomBytes } from 'node:crypto';

/** `size` bytes of record-like text, different per `seed`. */
export function benchValue(size: number, seed: number): Buffer {
  const out = Buffer.alloc(size);
  let at = 0;
  for (let n = 0; at < size; n++) {
    const line = Buffer.from(`{"seed":${seed},"n":${n},"user":"u${(n * 7919) % 100_003}","score":${(Math.random() * 1000).toFixed(3)},"tag":"${randomBytes(6).toString('hex')}"}\n`);
    at += line.copy(out, at);
  }
  return out;
}
