/**
 * Reused memory for segment blocks read from local disk. Every block read into fresh memory made
 * V8 run a Mark-Compact about every 40 MiB of catch-up (external memory pressure): 1.1 ms of GC
 * helper time per MiB read (docs/benchmarks.md, "Fifth pass"). The segment cache asks the store
 * (`getParts`) to read blocks into memory from here, and gives that memory back once nothing can
 * see it any more.
 *
 * The lifetime rule (docs/architecture.md): a block's memory is in use while the cache holds the
 * block or anything pins it. `SegmentCache.block()` hands out a block already pinned (a lease); a
 * reader that keeps record views past that call pins the block for itself (a `RecordList` does,
 * per piece) and drops its lease. The cache retires a block when it lets go of it; the last unpin
 * of a retired block gives the memory back. A pin never dropped (JSON and SSE lists, encrypted
 * streams, a list cut by a trim) only keeps the memory out of the pool: the GC frees it as before.
 */

import { assert } from '../util/assert.js';

const KiB = 1024;
const MiB = 1024 * KiB;

/**
 * Free memory the pool keeps at most (and at most half the block cache): a sequential catch-up
 * needs about its read-ahead (1 MiB) per reader back within the cache's turnover, so this covers
 * dozens of readers; beyond it, memory given back is left to the GC.
 */
export const blockPoolFreeBytesMax = 32 * MiB;

export class BlockPool {
  /** Free buffers by capacity. */
  private readonly free = new Map<number, ArrayBuffer[]>();
  private freeBytes = 0;
  /** Buffers this pool made: only these are ever taken back. */
  private readonly made = new WeakSet<ArrayBuffer>();

  constructor(private readonly freeBytesMax: number) {}

  /** Capacity class of `n` bytes: 4 KiB at least, else `n` rounded up to an eighth of its power of two. */
  static capacity(n: number): number {
    if (n <= 4 * KiB) return 4 * KiB;
    const step = 2 ** (Math.floor(Math.log2(n)) - 3);
    return Math.ceil(n / step) * step;
  }

  /** `n` bytes of reused (or new) memory, contents undefined, at the start of a buffer of its class. */
  take(n: number): Uint8Array {
    const capacity = BlockPool.capacity(n);
    const buffer = this.free.get(capacity)?.pop();
    if (buffer) {
      this.freeBytes -= capacity;
      return new Uint8Array(buffer, 0, n);
    }
    // Not zero-filled: every byte handed out is read from disk before it is looked at.
    const made = Buffer.allocUnsafeSlow(capacity).buffer as ArrayBuffer;
    this.made.add(made);
    return new Uint8Array(made, 0, n);
  }

  /** Whether `bytes` lies in memory of this pool. */
  owns(bytes: Uint8Array): boolean {
    return this.made.has(bytes.buffer as ArrayBuffer);
  }

  /** Takes back memory from `take` that nothing references any more (kept while under the bound). */
  give(buffer: ArrayBuffer): void {
    const capacity = buffer.byteLength;
    if (!this.made.has(buffer) || this.freeBytes + capacity > this.freeBytesMax) return;
    let list = this.free.get(capacity);
    if (!list) this.free.set(capacity, (list = []));
    list.push(buffer);
    this.freeBytes += capacity;
  }
}

/**
 * The pins on one block's pooled memory. Pinning fails only once the memory went back to the
 * pool, which needs the cache to have let go of the block first: a block from the cache's own
 * map can always be pinned; one a waiter got from a read in flight is checked (`tryPin`).
 */
export class BlockMemory {
  private pins = 0;
  private retired = false;
  private freed = false;

  constructor(
    private readonly pool: BlockPool,
    private readonly buffer: ArrayBuffer,
  ) {}

  /** Bytes of the buffer beyond the block (capacity class and padding), for the cache's accounting. */
  slackOf(blockBytes: number): number {
    return this.buffer.byteLength - blockBytes;
  }

  tryPin(): boolean {
    if (this.freed) return false;
    this.pins++;
    return true;
  }

  unpin(): void {
    assert(this.pins > 0, 'block memory unpinned more often than pinned');
    if (--this.pins === 0 && this.retired) this.free();
  }

  /** The cache let go of the block: the memory goes back now, or at the last unpin. */
  retire(): void {
    if (this.retired) return;
    this.retired = true;
    if (this.pins === 0) this.free();
  }

  private free(): void {
    this.freed = true;
    this.pool.give(this.buffer);
  }
}
