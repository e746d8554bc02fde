/**
 * Exact prunings for the search (search.ts), all resting on one fact of the model: the tail never
 * decreases, and every append moves it. They let the search drop a state long before it would
 * meet the operation that rules it out.
 */
import { foldHashes } from './hash.js';
import type { Operation } from './checker.js';

const compareBig = (a: bigint, b: bigint) => (a < b ? -1 : a > b ? 1 : 0);

/**
 * Seq_num ranges occupied by acknowledged appends: [T - n, T) for a success with tail T and n
 * records. Every legal order gives them exactly these ranges, so an indefinite append can only take
 * effect where it overlaps none of them, and from the start of a range on the records are known.
 */
export class ClaimedRanges {
  private readonly starts: bigint[] = [];
  /** Largest end among the ranges up to each index (ranges overlap only in illegal histories). */
  private readonly maxEnds: bigint[] = [];

  /** Each range's end and record hashes. */
  private readonly ranges: { end: bigint; hashes: bigint[] }[] = [];
  /** Call time of the append whose range ends at a position. */
  private readonly callEndingAt = new Map<bigint, number>();

  constructor(ops: Operation[]) {
    const ranges: { start: bigint; end: bigint; hashes: bigint[] }[] = [];
    for (const op of ops) {
      if (op.call.kind === 'append' && op.ret?.kind === 'appendSuccess') {
        const start = op.ret.tail - BigInt(op.call.numRecords);
        ranges.push({ start, end: op.ret.tail, hashes: op.call.recordHashes });
        this.callEndingAt.set(op.ret.tail, op.start.line);
      }
    }
    ranges.sort((a, b) => compareBig(a.start, b.start));
    let maxEnd = -1n;
    for (const range of ranges) {
      if (range.end > maxEnd) maxEnd = range.end;
      this.starts.push(range.start);
      this.maxEnds.push(maxEnd);
      this.ranges.push(range);
    }
  }

  /** When the acknowledged append that ends at `position` was called (a history line), if any. */
  callTimeEndingAt(position: bigint): number | undefined {
    return this.callEndingAt.get(position);
  }

  /**
   * Folds the claimed records from `tail` on (while they continue without a gap) and says whether
   * the first tail a read saw on the way gets a hash other than the read's.
   */
  contradictsAhead(tail: bigint, hash: bigint, reads: ReadHashes): boolean {
    let i = this.indexAt(tail);
    let position = tail;
    let h = hash;
    for (;;) {
      const seen = reads.hashAt(position);
      if (seen !== undefined) return seen !== h;
      if (i >= this.starts.length || this.starts[i]! !== position) return false; // a gap: no conclusion
      const { end, hashes } = this.ranges[i]!;
      h = foldHashes(h, hashes);
      position = end;
      i++;
    }
  }

  /** Index of the first range starting at or after `position`. */
  private indexAt(position: bigint): number {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < position) lo = mid + 1;
      else hi = mid;
    }
    return lo;
  }

  /** Start of the first claimed range at or after `position` (a huge value if there is none). */
  nextStart(position: bigint): bigint {
    const i = this.indexAt(position);
    return i < this.starts.length ? this.starts[i]! : 1n << 64n;
  }

  /** Whether [start, end) meets a claimed range. */
  overlaps(start: bigint, end: bigint): boolean {
    let lo = 0;
    let hi = this.starts.length;
    while (lo < hi) {
      const mid = (lo + hi) >> 1;
      if (this.starts[mid]! < end) lo = mid + 1;
      else hi = mid;
    }
    return lo > 0 && this.maxEnds[lo - 1]! > start;
  }
}

/**
 * The stream hash each successful read saw at its tail. Along any order, all states with a given
 * tail have the same hash (an append always moves the tail), so a state whose tail some read saw
 * with another hash can never lead to that read: it is dead, however much later the read comes.
 * This refutes a wrong guess (say, which of two indefinite appends of the same size took effect)
 * at the next tail any read saw, rather than after every order of the operations in between.
 */
export class ReadHashes {
  private readonly byTail = new Map<bigint, bigint>();
  /** Two reads saw one tail with different hashes: no state can satisfy both. */
  private readonly conflicted = new Set<bigint>();

  constructor(ops: Operation[]) {
    for (const op of ops) {
      if (op.ret?.kind !== 'readSuccess') continue;
      const seen = this.byTail.get(op.ret.tail);
      if (seen !== undefined && seen !== op.ret.streamHash) this.conflicted.add(op.ret.tail);
      this.byTail.set(op.ret.tail, op.ret.streamHash);
    }
  }

  /** The hash reads saw at this tail (a value no state has if two reads disagree), if any. */
  hashAt(tail: bigint): bigint | undefined {
    return this.conflicted.has(tail) ? -1n : this.byTail.get(tail);
  }
}

const none = 0x7fffffff;

/**
 * The tail each required operation not placed yet needs when it takes effect (T - n for an
 * acknowledged append, T for a read or check-tail), as a min segment tree over the operations. The
 * tail never decreases, so a state whose tail passed the smallest of them is dead.
 */
export class PinnedTails {
  private readonly values: bigint[];
  private readonly ranks: Int32Array;
  private readonly tree: Int32Array;
  private readonly size: number;

  constructor(pins: (bigint | null)[]) {
    this.values = [...new Set(pins.filter((p): p is bigint => p !== null))].sort(compareBig);
    const rankOf = new Map(this.values.map((v, i) => [v, i]));
    this.ranks = Int32Array.from(pins, (p) => (p === null ? none : rankOf.get(p)!));
    let size = 1;
    while (size < Math.max(1, pins.length)) size *= 2;
    this.size = size;
    this.tree = new Int32Array(2 * size).fill(none);
    for (let i = 0; i < pins.length; i++) this.tree[size + i] = this.ranks[i]!;
    for (let i = size - 1; i >= 1; i--) this.tree[i] = Math.min(this.tree[2 * i]!, this.tree[2 * i + 1]!);
  }

  /** Marks operation `op` placed (or not placed again). */
  set(op: number, placed: boolean): void {
    let i = this.size + op;
    this.tree[i] = placed ? none : this.ranks[op]!;
    for (i >>= 1; i >= 1; i >>= 1) this.tree[i] = Math.min(this.tree[2 * i]!, this.tree[2 * i + 1]!);
  }

  /** Whether a state with this tail can no longer place some operation still to be placed. */
  passed(tail: bigint): boolean {
    const min = this.tree[1]!;
    return min !== none && tail > this.values[min]!;
  }
}

/** The tail a required operation needs when it takes effect. */
export function pinnedTail(op: Operation): bigint | null {
  const ret = op.ret;
  if (ret?.kind === 'appendSuccess' && op.call.kind === 'append') return ret.tail - BigInt(op.call.numRecords);
  if (ret?.kind === 'readSuccess' || ret?.kind === 'checkTailSuccess') return ret.tail;
  return null;
}
