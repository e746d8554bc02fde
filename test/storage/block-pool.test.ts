/**
 * Pooled block memory (storage/block-pool.ts) under a cache far smaller than its read-ahead, with
 * every buffer poisoned the moment it goes back to the pool: a block handed out by the cache is
 * pinned (a lease) and stays byte-exact while other reads evict it and churn the pool; a pin held
 * by a record list keeps a retired block's memory out of the pool until the list is released; a
 * reader waiting on a read in flight whose block was evicted and reused before it looked reads the
 * block again; and released memory is reused by later reads.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { RecordList } from '../../src/domain/record-list.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { PartAlloc } from '../../src/objectstore/types.js';
import { BlockMemory, BlockPool } from '../../src/storage/block-pool.js';
import type { BlockView } from '../../src/storage/block-view.js';
import { encodeSegment, type StoredRecord } from '../../src/storage/codec-segment.js';
import type { SegmentRef } from '../../src/storage/codec-manifest.js';
import { SegmentCache } from '../../src/storage/segment-cache.js';
import type { RetryPolicy } from '../../src/storage/store-ops.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import { poisonBlockPools } from './poison-block-pool.js';

const probe = poisonBlockPools();
const policy: RetryPolicy = { clock: new ManualClock(), rand: seededRand(1), timeoutMs: 0, log: () => {} };

/** Reads parts into the memory the cache supplies (`alloc`), as the local-disk store does. */
class AllocStore extends MemoryObjectStore {
  override readonly partsShareMemory = false;
  override async getParts(key: string, start: number, lengths: readonly number[], alloc?: PartAlloc) {
    const parts = await super.getParts(key, start, lengths);
    return parts.map((part) => {
      const out = alloc ? alloc(part.length) : new Uint8Array(part.length);
      out.set(part);
      return out;
    });
  }
}

/**
 * A segment of ~1 KiB uncompressed blocks (about 16), each in a 4 KiB pooled buffer (the smallest
 * class, all counted by the cache), a cache of `cacheBytes`, read-ahead `aheadBytes`.
 */
async function setup(cacheBytes: number, aheadBytes: number) {
  const stored: StoredRecord[] = Array.from({ length: 80 }, (_, i) => ({
    record: { seqNum: i, timestamp: BigInt(1000 + i), headers: [], body: randomBytes(200) },
    expiresAtMs: null,
  }));
  const encoded = encodeSegment('s', 1, stored, { blockBytes: 1000, compressMinBytes: 1 << 30 });
  encoded.bytes = Buffer.from(encoded.bytes);
  const store = new AllocStore();
  const segment: SegmentRef = { key: 'segment/s/0', ...encoded.summary };
  await store.put(segment.key, new Uint8Array(encoded.bytes));
  const cache = new SegmentCache(store, policy, cacheBytes, aheadBytes);
  const footer = await cache.footer(segment);
  // The block's bytes against the segment's (stored uncompressed): decoding poisoned records
  // could loop over billions of headers instead of failing.
  const exact = (view: BlockView): boolean => {
    const info = footer.blocks.find((b) => b.firstSeqNum === view.seqNum(0))!;
    return Buffer.from(view.bytes).equals(encoded.bytes.subarray(info.offset, info.offset + info.storedLength));
  };
  /** Every block `passes` times, each lease ended at once (a page copied the records out). */
  const churn = async (passes: number, from = 1): Promise<Set<ArrayBufferLike>> => {
    const memory = new Set<ArrayBufferLike>();
    for (let pass = 0; pass < passes; pass++) {
      for (let b = from; b < footer.blocks.length; b++) {
        const view = await cache.block(segment, footer, b);
        expect(exact(view), `block ${b} pass ${pass}`).toBe(true);
        memory.add(view.bytes.buffer);
        view.unpin();
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    return memory;
  };
  return { segment, cache, footer, exact, churn };
}

describe('pooled block memory', () => {
  it('keeps a leased block byte-exact while the cache evicts it and reuses memory, and takes it back at unpin', async () => {
    const { segment, cache, footer, exact, churn } = await setup(16 * 1024, 1024);
    const miss = await cache.block(segment, footer, 0);
    const lease = await cache.block(segment, footer, 0); // a hit: pinned as well
    expect(lease).toBe(miss);
    miss.unpin();
    const given = probe.given();
    const memory = await churn(3);
    expect(probe.given()).toBeGreaterThan(given); // the pool was used, and poisoned
    expect(probe.reused()).toBeGreaterThan(0);
    expect(exact(lease)).toBe(true);
    expect(memory.has(lease.bytes.buffer)).toBe(false);
    // Released memory came back for later reads: far fewer buffers than block reads.
    expect(memory.size).toBeLessThan((3 * (footer.blocks.length - 1)) / 2);
    const before = probe.given();
    lease.unpin(); // evicted long ago: its memory goes back now
    expect(probe.given()).toBe(before + 1);
  });

  it('keeps a retired block for a record list until the list is released', async () => {
    const { segment, cache, footer, churn } = await setup(16 * 1024, 1024);
    const lease = await cache.block(segment, footer, 0);
    const list = new RecordList();
    for (let i = 0; i < lease.count; i++) list.pushStored(lease, i, lease.metered(i));
    lease.unpin(); // the reader's lease ends; the list holds its own pin
    const bodies = list.toArray().map((r) => Buffer.from(r.body));
    await churn(2);
    expect(list.toArray().map((r) => Buffer.from(r.body))).toEqual(bodies);
    const before = probe.given();
    list.release();
    expect(probe.given()).toBe(before + 1);
    expect(() => list.toArray()).toThrow(/released/);
  });

  it('reads a block again when it was evicted and reused while a reader waited for its read', async () => {
    // Runs of 4 blocks into a cache of 2 (each block accounted with its 4 KiB buffer): the
    // waiter's block is evicted by its own run, and its memory goes back before it looks.
    const { segment, cache, footer, exact } = await setup(9 * 1024, 4 * 1024);
    const given = probe.given();
    const [first, second] = await Promise.all([cache.block(segment, footer, 0), cache.block(segment, footer, 1)]);
    expect(probe.given()).toBeGreaterThan(given);
    expect(first.seqNum(0)).toBe(footer.blocks[0]!.firstSeqNum);
    expect(second.seqNum(0)).toBe(footer.blocks[1]!.firstSeqNum);
    expect(exact(first)).toBe(true);
    expect(exact(second)).toBe(true);
  });

  it('pins each block once per list that holds it: an appended list may be released first', async () => {
    // collectUnary: the first batch's list takes the later ones' pieces, which are then released.
    const { segment, cache, footer, exact, churn } = await setup(16 * 1024, 1024);
    const [first, second] = [await cache.block(segment, footer, 0), await cache.block(segment, footer, 1)];
    const [gathered, later] = [new RecordList(), new RecordList()];
    for (let i = 0; i < first.count; i++) gathered.pushStored(first, i, first.metered(i));
    for (let i = 0; i < second.count; i++) later.pushStored(second, i, second.metered(i));
    first.unpin();
    second.unpin();
    gathered.append(later);
    later.release();
    await churn(2);
    expect(exact(first)).toBe(true);
    expect(exact(second)).toBe(true);
    expect(gathered.length).toBe(first.count + second.count);
    const before = probe.given();
    gathered.release();
    expect(probe.given()).toBe(before + 2); // both evicted by the churn: back at the last unpin
  });

  it('keeps the blocks of a list cut by a trim for good: its kept records are views of them', async () => {
    const { segment, cache, footer, exact, churn } = await setup(16 * 1024, 1024);
    const lease = await cache.block(segment, footer, 0);
    const list = new RecordList();
    for (let i = 0; i < lease.count; i++) list.pushStored(lease, i, lease.metered(i));
    lease.unpin();
    list.dropBelow(lease.seqNum(1));
    const bodies = list.toArray().map((r) => Buffer.from(r.body));
    const before = probe.given();
    list.release(); // a page copied the kept records out; the pin dropBelow left stays taken
    await churn(2);
    expect(exact(lease)).toBe(true);
    expect(list.length).toBe(lease.count - 1);
    expect(bodies[0]!.equals(Buffer.from(lease.record(1).body))).toBe(true);
    expect(probe.given()).toBeGreaterThan(before); // the churn did reuse memory meanwhile
  });

  it('keeps a leased block of a segment GC deleted until the lease ends', async () => {
    const { segment, cache, footer, exact, churn } = await setup(64 * 1024, 1024);
    const lease = await cache.block(segment, footer, 0);
    (await cache.block(segment, footer, 1)).unpin(); // cached, pinned by nothing
    const before = probe.given();
    cache.forget([segment.key]);
    expect(probe.given()).toBeGreaterThan(before); // the unpinned blocks went back at once
    await churn(2);
    expect(exact(lease)).toBe(true);
    const after = probe.given();
    lease.unpin();
    expect(probe.given()).toBe(after + 1);
  });

  it('gives memory back only at the last unpin of a retired block, and never twice', () => {
    const pool = new BlockPool(1 << 20);
    const bytes = pool.take(5000);
    const memory = new BlockMemory(pool, bytes.buffer as ArrayBuffer);
    expect(memory.slackOf(5000)).toBe(BlockPool.capacity(5000) - 5000);
    expect(memory.tryPin()).toBe(true);
    expect(memory.tryPin()).toBe(true);
    const before = probe.given();
    memory.retire();
    memory.unpin();
    expect(probe.given()).toBe(before);
    memory.unpin();
    expect(probe.given()).toBe(before + 1);
    expect(memory.tryPin()).toBe(false);
    expect(() => memory.unpin()).toThrow();
    memory.retire();
    expect(probe.given()).toBe(before + 1);
    expect(pool.take(5000).buffer).toBe(bytes.buffer);
  });
});
