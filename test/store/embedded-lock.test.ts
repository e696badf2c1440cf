// The embedded store's data directory belongs to one process at a time: of many openers in real
// child processes started at the same moment exactly one wins, every round; a killed owner's lock
// dies with it; leftovers of older versions (an empty LOCK, a dead pid) never let two in.
import assert from 'node:assert/strict';
import type { ChildProcess } from 'node:child_process';
import fs from 'node:fs';
import path from 'node:path';
import readline from 'node:readline';
import { describe, it } from 'node:test';
import { EmbeddedStore } from '../../src/store/index.js';
import { exited, spawnTracked, stopChild, tempDir } from '../helpers/processes.js';

const OPENERS = 6;
const ROUNDS = 30;

/** An opener child and the lines it printed, awaited one at a time. */
interface Opener {
  child: ChildProcess;
  next(): Promise<string>;
}

function startOpener(dir: string): Opener {
  const child = spawnTracked(process.execPath, ['--import', 'tsx', 'test/fixtures/lock-opener.ts', dir], { stdio: ['pipe', 'pipe', 'inherit'] });
  const queue: string[] = [];
  const waiting: Array<(line: string) => void> = [];
  readline.createInterface({ input: child.stdout! }).on('line', (line) => (waiting.length ? waiting.shift()!(line) : queue.push(line)));
  child.once('exit', () => waiting.splice(0).forEach((w) => w('exited')));
  return { child, next: () => (queue.length ? Promise.resolve(queue.shift()!) : new Promise((resolve) => waiting.push(resolve))) };
}

describe('embedded store: one process per data directory', () => {
  it(`of ${OPENERS} openers started at once exactly one wins, ${ROUNDS} rounds in a row`, { timeout: 120_000 }, async () => {
    const tmp = tempDir('lock-race');
    const lockFile = path.join(tmp.dir, 'LOCK');
    let openers: Opener[] = [];
    let killed = 0;
    try {
      openers = Array.from({ length: OPENERS }, () => startOpener(tmp.dir));
      for (const o of openers) assert.equal(await o.next(), 'ready');
      for (let round = 0; round < ROUNDS; round++) {
        // What a crashed owner of an older version could leave: an empty LOCK, or a dead pid in it.
        if (round % 5 === 1) fs.writeFileSync(lockFile, '');
        if (round % 5 === 2) fs.writeFileSync(lockFile, '999999999');
        for (const o of openers) o.child.stdin!.write('open\n');
        const answers = await Promise.all(openers.map((o) => o.next()));
        const winners = openers.filter((_, i) => answers[i] === 'won');
        assert.equal(winners.length, 1, `round ${round}: exactly one winner, got ${answers.join(' | ')}`);
        const winner = winners[0];
        for (const a of answers.filter((x) => x !== 'won')) assert.match(a, new RegExp(`^lost data directory .* is in use by process ${winner.child.pid}`), `round ${round}`);
        assert.equal(fs.readFileSync(lockFile, 'utf8'), String(winner.child.pid), 'LOCK names the holder');
        if (round % 10 === 9) {
          // kill -9: its lock must go with it, or no later round has a winner.
          winner.child.kill('SIGKILL');
          await exited(winner.child);
          killed++;
          const fresh = startOpener(tmp.dir);
          assert.equal(await fresh.next(), 'ready');
          openers[openers.indexOf(winner)] = fresh;
        } else {
          winner.child.stdin!.write('close\n');
          assert.equal(await winner.next(), 'closed');
        }
      }
    } finally {
      for (const o of openers) o.child.stdin!.end();
      await Promise.all(openers.map((o) => stopChild(o.child)));
    }
    // Every winner wrote to the log alone: each round's key is there.
    const store = await EmbeddedStore.open({ dir: tmp.dir });
    try {
      assert.equal((await store.range('/owner/', { prefix: true, countOnly: true })).count, ROUNDS);
      assert.ok(killed > 0);
    } finally {
      await store.close();
      tmp.remove();
    }
  });
});
