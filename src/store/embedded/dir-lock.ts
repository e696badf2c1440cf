// One process at a time in a data directory. On Linux the lock is an abstract Unix socket named
// after the directory's device and inode: bind() is atomic, so of any number of openers exactly one
// wins, and the kernel frees the name when its process dies (kill -9 included) — there is no stale
// lock to detect, so no opener can ever remove a live owner's lock. Losers ask the socket which
// process holds it. The LOCK file beside the data is for people (`cat LOCK`): the holder writes
// its pid there whole (temp file, then rename). Where there are no abstract sockets, the LOCK file
// is the lock: created with link() from a file already holding the pid (never seen empty), and a
// dead owner's lock is taken over by renaming it aside and checking it was that one. (Abstract
// socket names live in a network namespace: containers that share a data directory but not a
// network namespace are not kept apart by them.)
import { randomBytes } from 'node:crypto';
import fs from 'node:fs';
import net from 'node:net';
import path from 'node:path';

/** The data directory is held by another live process. */
export class DirInUseError extends Error {
  constructor(dir: string, owner: string) {
    super(`data directory ${dir} is in use by ${owner} (another rota up?): stop that one, or start this one with another directory (--data-dir DIR; with npm: npm start -- --data-dir DIR) or without one (--memory)`);
    this.name = 'DirInUseError';
  }
}

/** Exclusive use of a directory by this process until released (or the process dies). */
export class DirLock {
  private constructor(
    private readonly lockPath: string,
    private readonly server?: net.Server,
  ) {}

  /** Takes the lock of `dir`, or throws DirInUseError naming the holder. */
  static async acquire(dir: string): Promise<DirLock> {
    const lockPath = path.join(dir, 'LOCK');
    if (process.platform !== 'linux') return new DirLock(lockPath, undefined).fileLock(dir);
    const st = fs.statSync(dir, { bigint: true });
    const name = `\0rota-data-${st.dev}-${st.ino}`;
    const server = net.createServer((socket) => socket.end(String(process.pid)));
    try {
      await new Promise<void>((resolve, reject) => {
        server.once('error', reject);
        server.listen(name, () => resolve());
      });
    } catch (err) {
      if ((err as NodeJS.ErrnoException).code !== 'EADDRINUSE') throw err;
      // The holder says who it is; a frozen one cannot, and its LOCK file tells instead.
      const said = await askHolder(name);
      const written = readText(lockPath);
      throw new DirInUseError(dir, said ?? (written && /^\d+$/.test(written) ? `process ${written}` : 'another process'));
    }
    server.unref(); // the lock must not keep the process alive
    writeWhole(lockPath, String(process.pid));
    return new DirLock(lockPath, server);
  }

  /** Gives the directory up. */
  async release(): Promise<void> {
    if (this.server) {
      fs.rmSync(this.lockPath, { force: true }); // before the socket goes: the next holder writes its own
      await new Promise<void>((resolve) => this.server!.close(() => resolve()));
      return;
    }
    fs.rmSync(this.lockPath, { force: true });
  }

  /** The portable fallback: the LOCK file as the lock. */
  private fileLock(dir: string): DirLock {
    for (;;) {
      const mine = `${this.lockPath}.${process.pid}.${randomBytes(4).toString('hex')}`;
      fs.writeFileSync(mine, String(process.pid));
      try {
        fs.linkSync(mine, this.lockPath); // fails if LOCK exists; never shows an empty LOCK
        return this;
      } catch (err) {
        if ((err as NodeJS.ErrnoException).code !== 'EEXIST') throw err;
      } finally {
        fs.rmSync(mine, { force: true });
      }
      const owner = readText(this.lockPath);
      if (owner === undefined) continue; // released meanwhile
      if (isAlive(Number(owner))) throw new DirInUseError(dir, `process ${owner}`);
      // Left by a dead process: set it aside, and put it back if it was not the one we read.
      const aside = `${this.lockPath}.stale.${process.pid}.${randomBytes(4).toString('hex')}`;
      try {
        fs.renameSync(this.lockPath, aside);
      } catch {
        continue;
      }
      if (readText(aside) !== owner) {
        try {
          fs.linkSync(aside, this.lockPath);
        } catch {
          // another opener took the free LOCK meanwhile
        }
      }
      fs.rmSync(aside, { force: true });
    }
  }
}

/** Which process holds the socket, as it says itself (undefined if it does not answer within 1 s). */
function askHolder(name: string): Promise<string | undefined> {
  return new Promise((resolve) => {
    let answer = '';
    const socket = net.connect(name);
    const done = () => resolve(/^\d+$/.test(answer) ? `process ${answer}` : undefined);
    socket.setTimeout(1000, () => socket.destroy());
    socket.on('data', (d) => (answer += d));
    socket.on('close', done);
    socket.on('error', () => undefined);
  });
}

/** Writes a file so that readers see the old content or the new, never a part. */
function writeWhole(file: string, text: string): void {
  const tmp = `${file}.${process.pid}.tmp`;
  fs.writeFileSync(tmp, text);
  fs.renameSync(tmp, file);
}

function readText(file: string): string | undefined {
  try {
    return fs.readFileSync(file, 'utf8');
  } catch {
    return undefined;
  }
}

function isAlive(pid: number): boolean {
  if (!Number.isInteger(pid) || pid <= 0) return false;
  try {
    process.kill(pid, 0);
    return true;
  } catch (err) {
    return (err as NodeJS.ErrnoException).code === 'EPERM';
  }
}
