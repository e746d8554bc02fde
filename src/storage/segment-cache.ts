/**
 * Fetches segment footers and blocks with ranged GETs, behind a byte-bounded LRU cache so that
 * memory stays bounded no matter how large streams grow. The block-cache hit/miss metrics count
 * footer lookups too: both live in this cache and a miss on either costs one ranged GET.
 */
import { metrics } from '../metrics.js';
import { isNotFound, type ObjectStore } from '../objectstore/types.js';
import type { SegmentRef } from './codec-manifest.js';
import { BlockMemory, BlockPool, blockPoolFreeBytesMax } from './block-pool.js';
import { BlockView } from './block-view.js';
import { decodeFooter, type BlockInfo, type SegmentFooter } from './codec-segment.js';
import { withRetry, type RetryPolicy } from './store-ops.js';

/** The segment object is gone (GC deleted it after it became unreachable, or it never existed). */
export class SegmentVanished extends Error {
  override name = 'SegmentVanished';
}

/** Least-recently-used map bounded by the sum of entry sizes. */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(
    private readonly bytesMax: number,
    /** Called with each value the cache lets go of (evicted, replaced or deleted). */
    private readonly onDrop?: (value: V) => void,
  ) {}

  get(key: string): V | undefined {
    const entry = this.entries.get(key);
    if (!entry) return undefined;
    this.entries.delete(key);
    this.entries.set(key, entry);
    return entry.value;
  }

  set(key: string, value: V, bytes: number): void {
    const existing = this.entries.get(key);
    if (existing) {
      this.bytes -= existing.bytes;
      this.entries.delete(key);
      if (existing.value !== value) this.onDrop?.(existing.value);
    }
    if (bytes > this.bytesMax) return;
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.bytesMax) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
      this.onDrop?.(entry.value);
    }
  }

  /** Drops every entry whose key `matches`. */
  deleteWhere(matches: (key: string) => boolean): void {
    for (const [key, entry] of this.entries) {
      if (!matches(key)) continue;
      this.entries.delete(key);
      this.bytes -= entry.bytes;
      this.onDrop?.(entry.value);
    }
  }

  /** Whether `key` is cached, without refreshing its recency. */
  has(key: string): boolean {
    return this.entries.has(key);
  }

  get size(): number {
    return this.bytes;
  }
}

function blockKey(segment: SegmentRef, index: number): string {
  return `b:${segment.key}:${index}`;
}

/** Approximate in-memory cost of a decoded footer entry. */
const footerEntryBytes = 160;

export class SegmentCache {
  private readonly cache: LruCache<SegmentFooter | BlockView>;
  /** Blocks being fetched, by cache key: concurrent misses share one get. */
  private readonly fetching = new Map<string, Promise<BlockView | undefined>>();
  /**
   * The first block of a run fetched ahead -> the block after that run (the block count when the
   * run ends the segment). A reader reaching that block starts the next run, or the first run of
   * the segment that follows, so a sequential reader stays one run ahead on hits too. Weak: the
   * mark goes with the block when the cache evicts it.
   */
  private readonly aheadOf = new WeakMap<BlockView, number>();
  /**
   * Reused block memory (block-pool.ts), for a store that reads parts into memory it is given
   * (local disk); not for one whose parts are views of its own memory (the memory store).
   */
  private readonly pool: BlockPool | undefined;
  private readonly alloc: ((n: number) => Uint8Array) | undefined;

  constructor(
    private readonly store: ObjectStore,
    private readonly policy: RetryPolicy,
    cacheBytes: number,
    /** Stored bytes one block miss may fetch (the block itself always, then whole following blocks). */
    private readonly readAheadBytes = 1024 * 1024,
  ) {
    // A block the cache lets go of is retired: its pooled memory returns at the last unpin.
    this.cache = new LruCache(cacheBytes, (value) => {
      if (value instanceof BlockView) value.memory?.retire();
    });
    if (store.getParts && store.partsShareMemory !== true) {
      const pool = new BlockPool(Math.min(blockPoolFreeBytesMax, cacheBytes / 2));
      this.pool = pool;
      this.alloc = (n) => pool.take(n);
    }
  }

  /**
   * Garbage collection deleted these segments: drop their footers and blocks now rather than when
   * the LRU gets to them. A cached block may be a view of its whole segment (a store with
   * `partsShareMemory`), and the cache accounts only the block, so a deleted segment's memory
   * stayed held (57 MiB for 16 trimmed segments of 4 MiB in the review's measurement). A read that
   * already holds a block keeps it; its next block of that segment is a miss, which finds the
   * segment vanished (its records count as trimmed, as for any read racing GC).
   */
  forget(segmentKeys: readonly string[]): void {
    if (segmentKeys.length === 0 || this.cache.size === 0) return;
    const gone = new Set(segmentKeys);
    // Keys are `f:<segment key>` and `b:<segment key>:<block index>`.
    this.cache.deleteWhere((key) => {
      const end = key.startsWith('b:') ? key.lastIndexOf(':') : key.length;
      return gone.has(key.slice(2, end));
    });
  }

  async footer(segment: SegmentRef): Promise<SegmentFooter> {
    const cacheKey = `f:${segment.key}`;
    const cached = this.cache.get(cacheKey) as SegmentFooter | undefined;
    if (cached) {
      metrics.blockCacheHits.inc();
      return cached;
    }
    metrics.blockCacheMisses.inc();
    const bytes = await this.get(segment.key, segment.footerOffset, segment.size);
    const footer = decodeFooter(bytes, segment.footerOffset, `segment ${segment.key}`);
    this.cache.set(cacheKey, footer, footerEntryBytes * (footer.blocks.length + 1));
    return footer;
  }

  /**
   * Block `index`, as bytes plus a record index (block-view.ts), already pinned for the caller: a lease the
   * caller must end with `unpin()` once it holds no view of the block's bytes (after pinning it
   * for whatever keeps views longer, such as a RecordList). Pinned here, before any other task can
   * run, so that the cache evicting the block meanwhile cannot hand its memory to another read.
   * A miss reads ahead: the following blocks that are not cached
   * either come in the same ranged GET, up to `readAheadBytes` stored bytes, because a read that
   * needs one block of a segment almost always needs the next (catch-up reads walk whole segments).
   * One GET of 1 MiB instead of 16 of 64 KiB: on local disk each get is several syscalls, on S3 a
   * round trip. When a run fills the read-ahead window, the next run is fetched in the background
   * (sequential prefetch), and a reader reaching the first block of such a run starts the one after,
   * so a reader walking the segment finds its next blocks cached or in flight, and the reads (on
   * libuv's threads for local disk) overlap the work on the ones before.
   */
  async block(segment: SegmentRef, footer: SegmentFooter, index: number, following?: SegmentRef): Promise<BlockView> {
    const key = blockKey(segment, index);
    const cached = this.cache.get(key) as BlockView | undefined;
    if (cached) {
      metrics.blockCacheHits.inc();
      cached.pin(); // in the cache, so never retired
      return this.reached(segment, footer, cached, following);
    }
    const pending = this.fetching.get(key);
    if (pending) {
      const records = await pending;
      // Evicted and reused since it arrived (a tiny cache): read it again.
      if (records?.tryPin()) return this.reached(segment, footer, records, following);
    }
    metrics.blockCacheMisses.inc();
    const run = this.fetchRun(segment, footer, index, false);
    // Started now rather than after this run arrives: both reads proceed at once.
    if (run.full || run.last + 1 === footer.blocks.length) this.fetchAhead(segment, footer, run.last + 1, following);
    return run.done;
  }

  /** A reader got `block`: if it starts a run fetched ahead, the run after it is fetched now. */
  private reached(segment: SegmentRef, footer: SegmentFooter, block: BlockView, following?: SegmentRef): BlockView {
    const next = this.aheadOf.get(block);
    if (next !== undefined) {
      this.aheadOf.delete(block);
      this.fetchAhead(segment, footer, next, following);
    }
    return block;
  }

  /**
   * Fetches the run starting at block `index` in the background, unless it is cached or in flight;
   * past the last block, the footer and first run of `following` (the stream's next segment).
   */
  private fetchAhead(segment: SegmentRef, footer: SegmentFooter, index: number, following?: SegmentRef): void {
    if (index >= footer.blocks.length) {
      if (following) this.warm(following);
      return;
    }
    const key = blockKey(segment, index);
    if (this.cache.has(key) || this.fetching.has(key)) return;
    // Errors of the read-ahead are for the reader that needs those blocks: it fetches them again.
    this.fetchRun(segment, footer, index, true).done.catch(() => undefined);
  }

  private warm(segment: SegmentRef): void {
    // A vanished segment or a failed read is the business of the reader that gets there, if any.
    this.footer(segment).then(
      (footer) => this.fetchAhead(segment, footer, 0),
      () => undefined,
    );
  }

  /**
   * Fetches blocks [index, last] (last chosen by the read-ahead window) in one ranged get, caches
   * them, and resolves with block `index`. Each block's promise is registered in `fetching` so a
   * concurrent reader waits for this get instead of issuing its own.
   */
  private fetchRun(
    segment: SegmentRef,
    footer: SegmentFooter,
    index: number,
    /** Read ahead: no caller waits for block `index` (else it gets it pinned). */
    ahead: boolean,
  ): { last: number; full: boolean; done: Promise<BlockView> } {
    const first = footer.blocks[index];
    let last = index;
    let full = false;
    while (last + 1 < footer.blocks.length) {
      const next = footer.blocks[last + 1];
      if (next.offset + next.storedLength - first.offset > this.readAheadBytes) {
        full = true;
        break;
      }
      const nextKey = blockKey(segment, last + 1);
      if (this.cache.has(nextKey) || this.fetching.has(nextKey)) break;
      last++;
    }
    const decoded = (async () => {
      const { parts, shared } = await this.getBlocks(segment.key, footer.blocks.slice(index, last + 1));
      const out: BlockView[] = [];
      for (let i = index; i <= last; i++) {
        const info = footer.blocks[i];
        const what = `segment ${segment.key} block ${i}`;
        const part = parts[i - index]!;
        const pooled = this.pool?.owns(part) === true;
        const block = BlockView.fromStored(part, info, what, shared || pooled);
        if (pooled) {
          // Kept as it is when stored uncompressed; a compressed block was unpacked elsewhere.
          if (block.bytes.buffer === part.buffer) block.memory = new BlockMemory(this.pool!, part.buffer as ArrayBuffer);
          else this.pool!.give(part.buffer as ArrayBuffer);
        }
        // The caller's lease, taken before caching it may evict it (a cache smaller than the run).
        if (i === index && !ahead) block.pin();
        this.cache.set(blockKey(segment, i), block, block.memoryBytes);
        out.push(block);
      }
      // Marked before any waiter gets the block (waiters run after this function returns).
      if (ahead && (full || last + 1 === footer.blocks.length)) this.aheadOf.set(out[0]!, last + 1);
      return out;
    })();
    const keys: string[] = [];
    for (let i = index; i <= last; i++) {
      const k = blockKey(segment, i);
      keys.push(k);
      // Waiters get the block, or undefined on failure (they then fetch it themselves).
      this.fetching.set(
        k,
        decoded.then(
          (all) => all[i - index],
          () => undefined,
        ),
      );
    }
    const done = decoded.finally(() => {
      for (const k of keys) this.fetching.delete(k);
    });
    return { last, full, done: done.then((all) => all[0]!) };
  }

  /**
   * The stored bytes of consecutive blocks, in one request. With `getParts` each block arrives in
   * memory of its own, kept as it is (an uncompressed block copied out of a shared run buffer was
   * 9% of a cold S2S catch-up's CPU), or as views of the store's own memory (`shared`, the memory
   * store); otherwise they are views of one run (BlockView copies them).
   */
  private async getBlocks(
    key: string,
    blocks: readonly BlockInfo[],
  ): Promise<{ parts: Uint8Array[]; shared: boolean }> {
    const start = blocks[0]!.offset;
    const store = this.store;
    if (store.getParts) {
      // A block may start after up to 7 bytes of padding (codec-segment aligns large bodies), so each
      // part runs to the next block's offset and is cut to the block's own length.
      const lengths = blocks.map((b, i) => (i + 1 < blocks.length ? blocks[i + 1]!.offset - b.offset : b.storedLength));
      if (lengths.every((n, i) => n >= blocks[i]!.storedLength)) {
        const alloc = this.alloc;
        const parts = await this.attempt(key, () => store.getParts!(key, start, lengths, alloc));
        return {
          parts: parts.map((part, i) => {
            const length = blocks[i]!.storedLength;
            return part.byteLength === length ? part : part.subarray(0, length);
          }),
          shared: store.partsShareMemory === true,
        };
      }
    }
    const last = blocks[blocks.length - 1]!;
    const run = await this.get(key, start, last.offset + last.storedLength);
    return {
      parts: blocks.map((b) => run.subarray(b.offset - start, b.offset - start + b.storedLength)),
      shared: false,
    };
  }

  private get(key: string, start: number, end: number): Promise<Uint8Array> {
    return this.attempt(key, () => this.store.get(key, { start, end }));
  }

  private async attempt<T>(key: string, call: () => Promise<T>): Promise<T> {
    try {
      return await withRetry(`get ${key}`, this.store, this.policy, call);
    } catch (error) {
      if (isNotFound(error)) throw new SegmentVanished(`segment ${key} not found`);
      throw error;
    }
  }
}
