/**
 * The set of operations the search has placed, and the memo of (placed set, state) pairs already
 * explored (Lowe's memoisation). The set is two bitsets: required operations by index (in practice
 * a done prefix plus a short window, so the memo stores only the words between the first non-full
 * and the last non-empty one) and optional ones (few; stored whole). An incremental Zobrist hash
 * over all placed operations, mixed with the state id, keys the memo.
 */

/** Deterministic Zobrist keys (the checker must give the same answer every run). */
function zobristKeys(n: number): Int32Array {
  const keys = new Int32Array(2 * n);
  let x = 0x2545f491;
  for (let i = 0; i < keys.length; i++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    keys[i] = x;
  }
  return keys;
}

interface MemoEntry {
  state: number;
  lo: number;
  words: Uint32Array;
  optional: Uint32Array;
}

export class PlacedSet {
  private readonly required: Uint32Array;
  private readonly optional: Uint32Array;
  private readonly zobrist: Int32Array;
  private hashLo = 0;
  private hashHi = 0;
  /** At or below the first required word not full / above the last non-empty one. */
  private loHint = 0;
  private hiHint = 0;
  private readonly memo = new Map<number, MemoEntry | MemoEntry[]>();

  constructor(operations: number, required: number, optional: number) {
    this.required = new Uint32Array(Math.ceil(required / 32) + 1);
    this.optional = new Uint32Array(Math.ceil(optional / 32));
    this.zobrist = zobristKeys(operations);
  }

  hasOptional(slot: number): boolean {
    return (this.optional[slot >>> 5]! & (1 << (slot & 31))) !== 0;
  }

  flipOptional(op: number, slot: number): void {
    this.rehash(op);
    this.optional[slot >>> 5]! ^= 1 << (slot & 31);
  }

  /** Places or unplaces required operation `op` (its `slot` among the required); true if now placed. */
  flipRequired(op: number, slot: number): boolean {
    this.rehash(op);
    const w = slot >>> 5;
    const bit = 1 << (slot & 31);
    this.required[w]! ^= bit;
    if (w < this.loHint) this.loHint = w;
    if (w + 1 > this.hiHint) this.hiHint = w + 1;
    return (this.required[w]! & bit) !== 0;
  }

  /** Adds (this set, state) to the memo; false if it was there already. */
  remember(state: number): boolean {
    const bits = this.required;
    let lo = this.loHint;
    while (lo < bits.length && bits[lo] === 0xffffffff) lo++;
    this.loHint = lo;
    let hi = this.hiHint;
    while (hi > lo && bits[hi - 1] === 0) hi--;
    this.hiHint = hi;
    const opt = this.optional;
    const a = (this.hashLo ^ Math.imul(state + 1, 0x9e3779b1)) >>> 0;
    const b = (this.hashHi ^ Math.imul(state + 1, 0x85ebca77)) & 0x1fffff;
    const key = b * 0x100000000 + a;
    const found = this.memo.get(key);
    const matches = (e: MemoEntry) => {
      if (e.state !== state || e.lo !== lo || e.words.length !== hi - lo) return false;
      for (let i = 0; i < e.words.length; i++) if (e.words[i] !== bits[lo + i]) return false;
      for (let i = 0; i < opt.length; i++) if (e.optional[i] !== opt[i]) return false;
      return true;
    };
    if (found !== undefined && (Array.isArray(found) ? found.some(matches) : matches(found))) return false;
    const entry: MemoEntry = { state, lo, words: bits.slice(lo, hi), optional: opt.slice() };
    if (found === undefined) this.memo.set(key, entry);
    else if (Array.isArray(found)) found.push(entry);
    else this.memo.set(key, [found, entry]);
    return true;
  }

  private rehash(op: number): void {
    this.hashLo ^= this.zobrist[2 * op]!;
    this.hashHi ^= this.zobrist[2 * op + 1]!;
  }
}
