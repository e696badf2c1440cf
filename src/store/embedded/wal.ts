// Durability of the embedded store: an append-only log of committed revisions plus a snapshot.
// Each record is written to the file as soon as it commits (so kill -9 cannot lose anything a
// reader saw) and acknowledged after a group fdatasync. A torn last record is ignored on replay.
import fs from 'node:fs';
import path from 'node:path';
import { crc32 } from 'node:zlib';
import { DirLock } from './dir-lock.js';

/** A key as stored on disk: [key, value, createRevision, modRevision, version]. Never leased. */
export type StoredKv = [string, string, number, number, number];

/** One committed revision: keys written (with their lease, '0' for none) and keys deleted. */
export interface WalRecord {
  r: number;
  p?: [key: string, value: string, createRevision: number, version: number, lease: string][];
  d?: string[];
}

/** What a data directory held when it was opened. */
export interface Recovered {
  revision: number;
  snapshot: StoredKv[];
  records: WalRecord[];
}

const HEADER = 8;
/** Data directories open in this process (a clearer refusal than the lock's). */
const openHere = new Set<string>();

/** Owns a data directory: its lock, snapshot and log. */
export class DataDir {
  private readonly walPath: string;
  private readonly snapPath: string;
  private dirLock?: DirLock;
  private fd = -1;
  private bytes = 0;
  private waiting: Array<(err: Error | null) => void> = [];
  private syncing = false;

  private constructor(
    readonly dir: string,
    private readonly fsyncEnabled: boolean,
  ) {
    this.walPath = path.join(dir, 'wal.log');
    this.snapPath = path.join(dir, 'snapshot.json');
  }

  /** Locks `dir` (creating it) and reads back what it holds. */
  static async open(dir: string, fsyncEnabled: boolean): Promise<{ dataDir: DataDir; recovered: Recovered }> {
    fs.mkdirSync(dir, { recursive: true });
    const dataDir = new DataDir(dir, fsyncEnabled);
    const abs = path.resolve(dir);
    if (openHere.has(abs)) throw new Error(`data directory ${dir} is already open in this process`);
    openHere.add(abs);
    try {
      dataDir.dirLock = await DirLock.acquire(dir);
      return { dataDir, recovered: dataDir.recover() };
    } catch (err) {
      await dataDir.dirLock?.release();
      openHere.delete(abs);
      throw err;
    }
  }

  /** Size of the log in bytes since the last snapshot. */
  get logBytes(): number {
    return this.bytes;
  }

  /** Writes the record now; resolves once it is on stable storage. */
  append(record: WalRecord): Promise<void> {
    const payload = Buffer.from(JSON.stringify(record));
    const frame = Buffer.allocUnsafe(HEADER + payload.length);
    frame.writeUInt32LE(payload.length, 0);
    frame.writeUInt32LE(crc32(payload), 4);
    payload.copy(frame, HEADER);
    fs.writeSync(this.fd, frame);
    this.bytes += frame.length;
    if (!this.fsyncEnabled) return Promise.resolve();
    return new Promise((resolve, reject) => {
      this.waiting.push((err) => (err ? reject(err) : resolve()));
      this.scheduleSync();
    });
  }

  /** Replaces the log by a snapshot of `kvs` at `revision` (every record so far is in it). */
  snapshot(revision: number, kvs: Iterable<StoredKv>): void {
    const tmp = `${this.snapPath}.tmp`;
    const out = fs.openSync(tmp, 'w');
    fs.writeSync(out, `{"revision":${revision},"kvs":[`);
    let first = true;
    for (const kv of kvs) {
      fs.writeSync(out, (first ? '' : ',\n') + JSON.stringify(kv));
      first = false;
    }
    fs.writeSync(out, ']}\n');
    fs.fsyncSync(out);
    fs.closeSync(out);
    fs.renameSync(tmp, this.snapPath);
    this.syncDir();
    fs.ftruncateSync(this.fd, 0);
    fs.fsyncSync(this.fd);
    this.bytes = 0;
    // Everything acknowledged-to-be is now in the fsynced snapshot.
    const done = this.waiting;
    this.waiting = [];
    for (const cb of done) cb(null);
  }

  /** Waits for outstanding syncs, then releases the file and the lock. */
  async close(): Promise<void> {
    while (this.syncing || this.waiting.length > 0) await new Promise((r) => setTimeout(r, 1));
    if (this.fd >= 0) fs.closeSync(this.fd);
    this.fd = -1;
    await this.dirLock?.release();
    this.dirLock = undefined;
    openHere.delete(path.resolve(this.dir));
  }

  private scheduleSync(): void {
    if (this.syncing) return;
    this.syncing = true;
    // One fdatasync for everything written in this turn of the event loop (group commit).
    setImmediate(() => {
      const batch = this.waiting;
      this.waiting = [];
      fs.fdatasync(this.fd, (err) => {
        for (const cb of batch) cb(err);
        this.syncing = false;
        if (this.waiting.length > 0) this.scheduleSync();
      });
    });
  }

  private recover(): Recovered {
    let revision = 0;
    let snapshot: StoredKv[] = [];
    if (fs.existsSync(this.snapPath)) {
      const snap = JSON.parse(fs.readFileSync(this.snapPath, 'utf8')) as { revision: number; kvs: StoredKv[] };
      revision = snap.revision;
      snapshot = snap.kvs;
    }
    const records: WalRecord[] = [];
    this.fd = fs.openSync(this.walPath, 'a+');
    const buf = fs.readFileSync(this.walPath);
    let off = 0;
    while (off + HEADER <= buf.length) {
      const len = buf.readUInt32LE(off);
      const end = off + HEADER + len;
      if (end > buf.length) break;
      const payload = buf.subarray(off + HEADER, end);
      if (crc32(payload) !== buf.readUInt32LE(off + 4)) break;
      const record = JSON.parse(payload.toString('utf8')) as WalRecord;
      if (record.r > revision) records.push(record);
      off = end;
    }
    if (off < buf.length) fs.ftruncateSync(this.fd, off); // a torn tail: drop it so appends follow valid records
    this.bytes = off;
    return { revision, snapshot, records };
  }

  private syncDir(): void {
    const fd = fs.openSync(this.dir, 'r');
    try {
      fs.fsyncSync(fd);
    } finally {
      fs.closeSync(fd);
    }
  }
}
