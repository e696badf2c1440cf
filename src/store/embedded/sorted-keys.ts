// An ordered set of strings for range scans: a list of sorted blocks, so an insert moves at most
// one block (a plain sorted array would move half the keys on every insert).

const MAX_BLOCK = 512;

/** Compares keys in UTF-8 byte order, as etcd does (plain `<` compares UTF-16 code units). */
export function compareKeys(a: string, b: string): number {
  if (a === b) return 0;
  const n = Math.min(a.length, b.length);
  for (let i = 0; i < n; i++) {
    const x = a.charCodeAt(i);
    const y = b.charCodeAt(i);
    if (x === y) continue;
    // Surrogates (astral characters) sort after U+E000..U+FFFF in UTF-8 but before them in UTF-16.
    const xs = x >= 0xd800 && x <= 0xdfff;
    const ys = y >= 0xd800 && y <= 0xdfff;
    if (xs !== ys) return xs ? 1 : -1;
    return x < y ? -1 : 1;
  }
  return a.length - b.length;
}

/** Ordered string set with O(√n)-ish insert and delete and ordered iteration from any key. */
export class SortedKeys {
  private blocks: string[][] = [];
  private total = 0;

  get size(): number {
    return this.total;
  }

  /** Adds `key`; returns false if it was already there. */
  add(key: string): boolean {
    if (this.blocks.length === 0) {
      this.blocks.push([key]);
      this.total = 1;
      return true;
    }
    const b = this.blockFor(key);
    const block = this.blocks[b];
    const i = lowerBound(block, key);
    if (i < block.length && block[i] === key) return false;
    block.splice(i, 0, key);
    this.total++;
    if (block.length > MAX_BLOCK) this.blocks.splice(b + 1, 0, block.splice(MAX_BLOCK >> 1));
    return true;
  }

  /** Removes `key`; returns false if it was not there. */
  delete(key: string): boolean {
    if (this.blocks.length === 0) return false;
    const b = this.blockFor(key);
    const block = this.blocks[b];
    const i = lowerBound(block, key);
    if (i >= block.length || block[i] !== key) return false;
    block.splice(i, 1);
    this.total--;
    if (block.length === 0) this.blocks.splice(b, 1);
    return true;
  }

  /** Keys >= start, in order. */
  *from(start: string): Generator<string> {
    if (this.blocks.length === 0) return;
    let b = this.blockFor(start);
    let i = lowerBound(this.blocks[b], start);
    for (; b < this.blocks.length; b++, i = 0) {
      const block = this.blocks[b];
      // Copy-free iteration is safe because callers never mutate while scanning.
      for (; i < block.length; i++) yield block[i];
    }
  }

  /** The block whose range should hold `key`: the last block whose first key is <= key. */
  private blockFor(key: string): number {
    let lo = 0;
    let hi = this.blocks.length - 1;
    while (lo < hi) {
      const mid = (lo + hi + 1) >> 1;
      if (compareKeys(this.blocks[mid][0], key) <= 0) lo = mid;
      else hi = mid - 1;
    }
    return lo;
  }
}

function lowerBound(block: string[], key: string): number {
  let lo = 0;
  let hi = block.length;
  while (lo < hi) {
    const mid = (lo + hi) >> 1;
    if (compareKeys(block[mid], key) < 0) lo = mid + 1;
    else hi = mid;
  }
  return lo;
}

/** Whether `candidate` is among the keys that `key` with `selector` selects. */
export function inSelection(candidate: string, key: string, selector: { prefix?: boolean; end?: string }): boolean {
  if (selector.prefix) return candidate.startsWith(key);
  if (selector.end !== undefined) {
    return compareKeys(candidate, key) >= 0 && (selector.end === '' || compareKeys(candidate, selector.end) < 0);
  }
  return candidate === key;
}
