/**
 * The segment cache's read-ahead: a reader walking a segment block by block gets every record
 * byte-exact, each block is read from the store once, reaching the first block of a run fetched
 * ahead starts the fetch of the run after it (before the reader asks), and a block whose checksum
 * is wrong is refused every time, whether it arrived by read-ahead or by a miss, never cached.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { ByteRange } from '../../src/objectstore/types.js';
import { CorruptDataError } from '../../src/storage/binary.js';
import { encodeSegment, type StoredRecord } from '../../src/storage/codec-segment.js';
import type { SegmentRef } from '../../src/storage/codec-manifest.js';
import { SegmentCache } from '../../src/storage/segment-cache.js';
import type { RetryPolicy } from '../../src/storage/store-ops.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';

const policy: RetryPolicy = { clock: new ManualClock(), rand: seededRand(1), timeoutMs: 0, log: () => {} };

/** A memory store that logs every ranged read (get or getParts). */
class LoggingStore extends MemoryObjectStore {
  readonly gets: { key: string; start: number; end: number }[] = [];
  override async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    this.gets.push({ key, start: range?.start ?? 0, end: range?.end ?? -1 });
    return super.get(key, range);
  }
  override async getParts(key: string, start: number, lengths: readonly number[]): Promise<Uint8Array[]> {
    this.gets.push({ key, start, end: lengths.reduce((sum, n) => sum + n, start) });
    return super.getParts(key, start, lengths);
  }
}

/** Parts in memory of their own, as from the local-disk store (one buffer per part, no views of the store). */
class OwnPartsStore extends LoggingStore {
  override readonly partsShareMemory = false;
  override async getParts(key: string, start: number, lengths: readonly number[]): Promise<Uint8Array[]> {
    return (await super.getParts(key, start, lengths)).map((part) => part.slice());
  }
}

/** The same store without `getParts`: runs arrive as one buffer (as from S3). */
class RunOnlyStore extends OwnPartsStore {
  override getParts = undefined as never;
}

function records(count: number): StoredRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    record: { seqNum: i, timestamp: BigInt(1000 + i), headers: [], body: randomBytes(200) },
    expiresAtMs: null,
  }));
}

async function setup(Store: typeof LoggingStore, corruptBlock?: number) {
  const stored = records(80);
  // ~1 KiB blocks of incompressible bodies, never compressed: about 16 blocks.
  const encoded = encodeSegment('s', 1, stored, { blockBytes: 1000, compressMinBytes: 1 << 30 });
  const bytes = new Uint8Array(encoded.bytes);
  const store = new Store();
  const segment: SegmentRef = { key: 'segment/s/0', ...encoded.summary };
  // Three blocks per run.
  const cache = new SegmentCache(store, policy, 1 << 20, 3 * 1200);
  if (corruptBlock !== undefined) {
    await store.put(segment.key, bytes);
    const footer = await cache.footer(segment);
    const block = footer.blocks[corruptBlock]!;
    bytes[block.offset + block.storedLength - 3]! ^= 0xff;
  }
  await store.put(segment.key, bytes);
  const fresh = new SegmentCache(store, policy, 1 << 20, 3 * 1200);
  const footer = await fresh.footer(segment);
  store.gets.length = 0;
  return { stored, store, segment, cache: fresh, footer };
}

/** Lets pending store reads and their continuations run. */
const settle = () => new Promise((resolve) => setImmediate(resolve));

describe.each([
  ["views of the memory store's own memory (getParts)", LoggingStore],
  ['parts in memory of their own (getParts)', OwnPartsStore],
  ['one buffer per run (get)', RunOnlyStore],
])('segment cache read-ahead, %s', (_, Store) => {
  it('walks every block byte-exact, reading each block once, one run ahead of the reader', async () => {
    const { stored, store, segment, cache, footer } = await setup(Store);
    const blocks = footer.blocks;
    expect(blocks.length).toBeGreaterThanOrEqual(12);
    const seen: StoredRecord[] = [];
    const memory = new Set<ArrayBufferLike>();
    for (let b = 0; b < blocks.length; b++) {
      const view = await cache.block(segment, footer, b);
      // Each cached block holds memory of its own, never a view pinning its whole run; or, from
      // the memory store, a view of the segment it keeps (no copy of what the store holds anyway).
      if (!store.partsShareMemory) expect(view.bytes.byteLength).toBe(view.bytes.buffer.byteLength);
      memory.add(view.bytes.buffer);
      for (let i = 0; i < view.count; i++) seen.push(view.storedRecord(i));
      await settle();
      // Whatever the reader has reached, the run after the one it is in is already fetched or in flight.
      const fetchedTo = Math.max(...store.gets.map((g) => g.end));
      const runEnd = (at: number) => blocks[Math.min(at, blocks.length - 1)]!;
      const nextRunLast = runEnd(b - (b % 3) + 5);
      expect(fetchedTo).toBeGreaterThanOrEqual(nextRunLast.offset + nextRunLast.storedLength);
    }
    expect(memory.size).toBe(store.partsShareMemory ? 1 : blocks.length);
    expect(seen.map((r) => r.record.seqNum)).toEqual(stored.map((r) => r.record.seqNum));
    for (let i = 0; i < stored.length; i++) {
      expect(Buffer.from(seen[i]!.record.body).equals(Buffer.from(stored[i]!.record.body))).toBe(true);
      expect(seen[i]!.record.timestamp).toBe(stored[i]!.record.timestamp);
    }
    // Every block came from exactly one get: the ranges tile the block area without overlap.
    const ranges = [...store.gets].sort((a, b) => a.start - b.start);
    expect(ranges[0]!.start).toBe(blocks[0]!.offset);
    for (let i = 1; i < ranges.length; i++) expect(ranges[i]!.start).toBe(ranges[i - 1]!.end);
    const last = blocks[blocks.length - 1]!;
    expect(ranges[ranges.length - 1]!.end).toBe(last.offset + last.storedLength);
  });

  it('reads blocks that start after alignment padding (large bodies at odd source offsets) byte-exact', async () => {
    // Bodies of 5000 bytes (aligned by the encoder: >= 4 KiB) cut at every offset mod 8 of their
    // source, so blocks start after 0-7 padding bytes and do not tile the block area.
    const stored: StoredRecord[] = Array.from({ length: 24 }, (_, i) => ({
      record: { seqNum: i, timestamp: BigInt(i), headers: [], body: randomBytes(5016).subarray(i % 8, (i % 8) + 5000) },
      expiresAtMs: null,
    }));
    const encoded = encodeSegment('s', 1, stored, { blockBytes: 4096, compressMinBytes: 1 << 30 });
    const store = new Store();
    const segment: SegmentRef = { key: 'segment/s/padded', ...encoded.summary };
    await store.put(segment.key, new Uint8Array(encoded.bytes));
    const cache = new SegmentCache(store, policy, 1 << 20, 3 * 5200);
    const footer = await cache.footer(segment);
    const blocks = footer.blocks;
    const gaps = blocks.slice(1).filter((b, i) => b.offset > blocks[i]!.offset + blocks[i]!.storedLength);
    expect(gaps.length).toBeGreaterThan(0);
    const seen: StoredRecord[] = [];
    for (let b = 0; b < blocks.length; b++) {
      const view = await cache.block(segment, footer, b);
      for (let i = 0; i < view.count; i++) seen.push(view.storedRecord(i));
      await settle();
    }
    expect(seen.length).toBe(stored.length);
    for (let i = 0; i < stored.length; i++)
      expect(Buffer.from(seen[i]!.record.body).equals(Buffer.from(stored[i]!.record.body))).toBe(true);
  });

  it('reaching the last run of a segment reads the footer and first run of the next one ahead', async () => {
    const { store, segment, cache, footer } = await setup(Store);
    const second = encodeSegment('s', 1, records(30), { blockBytes: 1000, compressMinBytes: 1 << 30 });
    const next: SegmentRef = { key: 'segment/s/1', ...second.summary };
    await store.put(next.key, second.bytes);
    const lastRunStart = footer.blocks.length - (footer.blocks.length % 3 || 3);
    for (let b = 0; b < footer.blocks.length; b++) {
      await cache.block(segment, footer, b, next);
      await settle();
      await settle();
      const ahead = store.gets.filter((g) => g.key === next.key);
      // Nothing of the next segment before the reader is in this one's last run; its footer and first run once it is.
      expect(ahead.length).toBe(b < lastRunStart ? 0 : 2);
    }
    const nextFooter = await cache.footer(next);
    const before = store.gets.length;
    const first = await cache.block(next, nextFooter, 0);
    expect(first.seqNum(0)).toBe(0);
    // Block 0 was cached; reaching it started the next segment's second run (the chain goes on).
    expect(store.gets.slice(before).map((g) => g.start)).toEqual([nextFooter.blocks[3]!.offset]);
  });

  it('refuses a block with a bad checksum every time, fetched ahead or not, and serves its neighbours', async () => {
    // Block 4 lies in the second run (blocks 3-5), which the first miss fetches ahead.
    const { segment, cache, footer, store } = await setup(Store, 4);
    await cache.block(segment, footer, 0);
    await settle();
    expect(store.gets.length).toBe(2);
    // The bad block failed its run: the good blocks of that run are fetched again as needed.
    const next = await cache.block(segment, footer, 3);
    expect(next.seqNum(0)).toBe(footer.blocks[3]!.firstSeqNum);
    for (let attempt = 0; attempt < 2; attempt++) {
      await expect(cache.block(segment, footer, 4)).rejects.toThrow(CorruptDataError);
      await expect(cache.block(segment, footer, 4)).rejects.toThrow(/block checksum mismatch/);
    }
    const after = await cache.block(segment, footer, 5);
    expect(after.seqNum(0)).toBe(footer.blocks[5]!.firstSeqNum);
  });
});

describe('segment cache after garbage collection', () => {
  it('forgets the footers and blocks of deleted segments, and only theirs', async () => {
    const { store, segment, cache, footer } = await setup(LoggingStore);
    const other = encodeSegment('s', 1, records(30), { blockBytes: 1000, compressMinBytes: 1 << 30 });
    const kept: SegmentRef = { key: 'segment/s/1', ...other.summary };
    await store.put(kept.key, other.bytes);
    const keptFooter = await cache.footer(kept);
    for (let b = 0; b < footer.blocks.length; b++) await cache.block(segment, footer, b);
    for (let b = 0; b < keptFooter.blocks.length; b++) await cache.block(kept, keptFooter, b);
    await settle();

    cache.forget([segment.key]);
    store.gets.length = 0;
    // The kept segment is still cached: no store read.
    for (let b = 0; b < keptFooter.blocks.length; b++) await cache.block(kept, keptFooter, b);
    expect(await cache.footer(kept)).toBe(keptFooter);
    expect(store.gets).toEqual([]);
    // The deleted one is gone from the cache (here still on the store, so it is read again).
    await cache.footer(segment);
    await cache.block(segment, footer, footer.blocks.length - 1);
    expect(store.gets.map((g) => g.key)).toEqual([segment.key, segment.key]);
  });
});
