// Bytes to lines with a bound: a writer that never sends a newline must not grow a buffer forever.
// Used for children's output in the guard and for the control channel on both sides of it.

export interface LineOptions {
  /** The longest line kept whole, in bytes. */
  maxBytes: number;
  /** A longer line is cut into pieces of maxBytes (output), or dropped whole (protocol messages). */
  overflow: 'split' | 'drop';
  /** Told the size of each dropped line. */
  onDrop?: (bytes: number) => void;
}

/** Splits a byte stream at "\n" (a trailing "\r" is removed), holding at most `maxBytes` of a line. */
export class LineSplitter {
  private parts: Buffer[] = [];
  private size = 0;
  /** Bytes of an overlong line being dropped (-1: not dropping). */
  private dropped = -1;

  constructor(
    private readonly onLine: (line: string) => void,
    private readonly options: LineOptions,
  ) {}

  /** Feeds a chunk; complete lines are handed to onLine at once. */
  push(chunk: Buffer): void {
    for (let start = 0; start < chunk.length; ) {
      const nl = chunk.indexOf(0x0a, start);
      this.add(chunk.subarray(start, nl === -1 ? chunk.length : nl));
      if (nl === -1) return;
      this.lineEnd();
      start = nl + 1;
    }
  }

  /** The stream ended: a last line without a newline still counts. */
  end(): void {
    if (this.size > 0 || this.dropped >= 0) this.lineEnd();
  }

  private add(piece: Buffer): void {
    while (piece.length > 0) {
      if (this.dropped >= 0) {
        this.dropped += piece.length;
        return;
      }
      const room = this.options.maxBytes - this.size;
      if (piece.length <= room) {
        this.parts.push(piece);
        this.size += piece.length;
        return;
      }
      if (this.options.overflow === 'drop') {
        this.dropped = this.size + piece.length;
        this.parts = [];
        this.size = 0;
        return;
      }
      // Cut at a character boundary: never inside a UTF-8 sequence (continuation bytes are 10xxxxxx),
      // which may have begun in what is held already.
      const all = this.size > 0 ? Buffer.concat([...this.parts, piece]) : piece;
      const max = this.options.maxBytes;
      let cut = max;
      while (cut > 0 && max - cut < 3 && (all[cut] & 0xc0) === 0x80) cut--;
      if (cut === 0) cut = max; // a bound smaller than one character
      this.parts = [all.subarray(0, cut)];
      this.size = cut;
      this.emit();
      piece = all.subarray(cut);
    }
  }

  private lineEnd(): void {
    if (this.dropped >= 0) {
      this.options.onDrop?.(this.dropped);
      this.dropped = -1;
      return;
    }
    this.emit(true);
  }

  private emit(complete = false): void {
    let line = Buffer.concat(this.parts, this.size).toString('utf8');
    if (complete && line.endsWith('\r')) line = line.slice(0, -1);
    this.parts = [];
    this.size = 0;
    this.onLine(line);
  }
}
