/**
 * Fetches segment footers and blocks with ranged GETs, behind a byte-bounded LRU cache so that
 * memory stays bounded no matter how large streams grow. The block-cache hit/miss metrics count
 * footer lookups too: both live in this cache and a miss on either costs one ranged GET.
 */
import { metrics } from '../metrics.js';
import { isNotFound, type ObjectStore } from '../objectstore/types.js';
import type { SegmentRef } from './codec-manifest.js';
import { decodeBlock, decodeFooter, type SegmentFooter, type StoredRecord } from './codec-segment.js';
import { withRetry, type RetryPolicy } from './store-ops.js';

/** The segment object is gone (GC deleted it after it became unreachable, or it never existed). */
export class SegmentVanished extends Error {
  override name = 'SegmentVanished';
}

/** Least-recently-used map bounded by the sum of entry sizes. */
export class LruCache<V> {
  private readonly entries = new Map<string, { value: V; bytes: number }>();
  private bytes = 0;

  constructor(private readonly bytesMax: number) {}

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
    }
    if (bytes > this.bytesMax) return;
    this.entries.set(key, { value, bytes });
    this.bytes += bytes;
    for (const [oldest, entry] of this.entries) {
      if (this.bytes <= this.bytesMax) break;
      this.entries.delete(oldest);
      this.bytes -= entry.bytes;
    }
  }

  get size(): number {
    return this.bytes;
  }
}

/** Approximate in-memory cost of a decoded footer entry. */
const footerEntryBytes = 160;

export class SegmentCache {
  private readonly cache: LruCache<SegmentFooter | StoredRecord[]>;

  constructor(
    private readonly store: ObjectStore,
    private readonly policy: RetryPolicy,
    cacheBytes: number,
  ) {
    this.cache = new LruCache(cacheBytes);
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

  async block(segment: SegmentRef, footer: SegmentFooter, index: number): Promise<StoredRecord[]> {
    const cacheKey = `b:${segment.key}:${index}`;
    const cached = this.cache.get(cacheKey) as StoredRecord[] | undefined;
    if (cached) {
      metrics.blockCacheHits.inc();
      return cached;
    }
    metrics.blockCacheMisses.inc();
    const info = footer.blocks[index];
    const stored = await this.get(segment.key, info.offset, info.offset + info.storedLength);
    const records = decodeBlock(stored, info, `segment ${segment.key} block ${index}`);
    this.cache.set(cacheKey, records, info.rawLength + 64 * info.recordCount);
    return records;
  }

  private async get(key: string, start: number, end: number): Promise<Uint8Array> {
    try {
      return await withRetry(`get ${key}`, this.store, this.policy, () => this.store.get(key, { start, end }));
    } catch (error) {
      if (isNotFound(error)) throw new SegmentVanished(`segment ${key} not found`);
      throw error;
    }
  }
}
