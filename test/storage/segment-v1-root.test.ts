/**
 * A root written before segment format 2 (fixtures/segment-v1-root: format 1 segments with
 * expiries, zstd blocks and padded 8 KiB+ bodies, plus records left in the chunks) opens and reads
 * byte-exact under today's code; once checkpoints add format 2 segments, reads across the
 * boundary (every start, small pages, protobuf responses assembled from both layouts) return the
 * same records, through a trim, GC and a restart; and a checkpoint merging a format 1 segment
 * rewrites its records, expiries included, as format 2.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterEach, describe, expect, it } from 'vitest';
import { encodeReadBatch } from '../../src/api/codec/proto.js';
import { encodeReadBatchList } from '../../src/api/codec/proto-stored.js';
import type { SequencedRecord } from '../../src/domain/types.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ChunkLog, type ChunkLogOptions } from '../../src/storage/chunk-log.js';
import { decodeSegment } from '../../src/storage/codec-segment.js';
import type { Append } from '../../src/storage/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import { v1Bytes, v1RootOptions, v1RootReadAtMs, v1RootStreams, v1RootVisible } from './fixtures/segment-v1-root.js';
import { readAll } from './helpers.js';

const root = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'segment-v1-root');
const { a, b } = v1RootStreams;

function objectKeys(dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? objectKeys(path) : [relative(root, path).split('\\').join('/')];
  });
}

async function fixtureStore(): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  for (const key of objectKeys()) await store.put(key, new Uint8Array(readFileSync(join(root, key))));
  return store;
}

const opened: ChunkLog[] = [];
afterEach(async () => {
  for (const log of opened.splice(0)) await log.close();
});

async function open(store: MemoryObjectStore, options: ChunkLogOptions = {}): Promise<ChunkLog> {
  const log = await ChunkLog.open(store, {
    clock: new ManualClock(),
    rand: seededRand(opened.length + 3),
    checkpointBytes: 1 << 30,
    checkpointChunks: 1 << 30,
    ...v1RootOptions,
    ...options,
  });
  opened.push(log);
  return log;
}

/** Segment versions of `stream` in the store, by first seq_num. */
async function versions(store: MemoryObjectStore, stream: string): Promise<Map<number, number>> {
  const out = new Map<number, number>();
  for (const { key } of await store.list(`segment/${stream}/`)) {
    const bytes = await store.get(key);
    out.set(
      decodeSegment(bytes).records[0]!.record.seqNum,
      new DataView(bytes.buffer, bytes.byteOffset).getUint16(4, true),
    );
  }
  return out;
}

const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const plain = (records: SequencedRecord[]): string[] =>
  records.map(
    (r) => `${r.seqNum} ${r.timestamp}n [${r.headers.map(([n, v]) => `${hex(n)}=${hex(v)}`).join(',')}] ${hex(r.body)}`,
  );

/** Every start, pages of 7: the same records, and each page's protobuf response built from storage's list. */
async function expectReads(log: ChunkLog, stream: string, expected: SequencedRecord[], end: number): Promise<void> {
  const all = await log.read(readAll(stream, end, v1RootReadAtMs));
  expect(plain(all.records)).toEqual(plain(expected));
  expect(Buffer.from(encodeReadBatchList(all.list)).equals(Buffer.from(encodeReadBatch({ records: expected })))).toBe(
    true,
  );
  for (let k = 0; k < expected.length; k++) {
    const start = expected[k]!.seqNum;
    const page = await log.read({ ...readAll(stream, end, v1RootReadAtMs, start), maxRecords: 7 });
    const want = expected.slice(k, k + 7);
    expect(plain(page.records), `from ${start}`).toEqual(plain(want));
    expect(Buffer.from(encodeReadBatchList(page.list)).equals(Buffer.from(encodeReadBatch({ records: want })))).toBe(
      true,
    );
  }
}

function appendOf(stream: string, records: SequencedRecord[], extra: Partial<Append> = {}): Append {
  const last = records[records.length - 1]!;
  return {
    kind: 'append',
    stream,
    records,
    tail: { seqNum: last.seqNum + 1, timestamp: last.timestamp },
    writtenAtMs: 1_700_000_000_000,
    expiresAtMs: null,
    ...extra,
  };
}

/** New records after the fixture's, timestamps not below its last (2^64 - 1). */
function later(first: number, count: number): SequencedRecord[] {
  return Array.from({ length: count }, (_, i) => ({
    seqNum: first + i,
    timestamp: 2n ** 64n - 1n,
    headers: i % 3 ? [] : [[new Uint8Array(0), v1Bytes(i % 4, i)]],
    body: v1Bytes(i === 5 ? 9000 : 40 + i, first + i),
  }));
}

describe('a root of format 1 segments under format 2', () => {
  it('holds what the fixture says: format 1 segments of both streams', async () => {
    const store = await fixtureStore();
    expect([...(await versions(store, a)).entries()]).toEqual([
      [0, 1],
      [44, 1],
    ]);
    expect([...(await versions(store, b)).entries()]).toEqual([[0, 1]]);
  });

  it('reads byte-exact, then across format 1 and format 2 segments, through a trim, GC and a restart', async () => {
    const store = await fixtureStore();
    let log = await open(store);
    const expected = v1RootVisible(a);
    expect(expected.at(-1)!.seqNum).toBe(109);
    await expectReads(log, a, expected, 110);

    // Records in the chunks (100-109) and new ones become a format 2 segment, next to the format 1 ones.
    const added = later(110, 40);
    await log.commit([appendOf(a, added.slice(0, 20))]);
    await log.commit([appendOf(a, added.slice(20), { expiresAtMs: 5_000_000_000_000 })]);
    await log.checkpoint();
    expect([...(await versions(store, a)).entries()]).toEqual([
      [0, 1],
      [44, 1],
      [100, 2],
    ]);
    await expectReads(log, a, [...expected, ...added], 150);
    // Timestamps past 2^53 are compared exactly in both layouts: by `until` and by timestamp lookups.
    const until = await log.read({ ...readAll(a, 150, v1RootReadAtMs, 44), until: 2n ** 63n + 60n });
    expect(until.records.map((r) => r.seqNum)).toEqual(
      expected.filter((r) => r.seqNum >= 44 && r.seqNum < 60).map((r) => r.seqNum),
    );
    expect(await log.seqNumForTimestamp(a, 2n ** 63n + 50n, 150, v1RootReadAtMs)).toBe(50);
    expect(await log.seqNumForTimestamp(a, 2n ** 64n - 1n, 150, v1RootReadAtMs)).toBe(100);
    expect(await log.seqNumForTimestamp(a, 2n ** 60n + 1n, 150, v1RootReadAtMs)).toBe(41);

    // A trim into the first format 1 segment, then GC.
    const trimmed = later(150, 1);
    await log.commit([appendOf(a, trimmed, { trimPoint: 42 })]);
    await log.checkpoint();
    await log.collectGarbage();
    const afterTrim = [...expected, ...added, ...trimmed].filter((r) => r.seqNum >= 42);
    await expectReads(log, a, afterTrim, 151);

    await log.close();
    log = await open(store);
    await expectReads(log, a, afterTrim, 151);
  });

  it('a checkpoint merging a format 1 segment rewrites its records and expiries as format 2', async () => {
    const store = await fixtureStore();
    const log = await open(store, { segmentMergeBytesMax: 1 << 20 });
    const old = v1RootVisible(b);
    expect(old).toHaveLength(20);
    const added = later(20, 10);
    await log.commit([appendOf(b, added, { expiresAtMs: 1_750_000_000_000 })]);
    await log.checkpoint();
    await log.collectGarbage();
    const segments = await store.list(`segment/${b}/`);
    const merged = segments.map(async ({ key }) => decodeSegment(await store.get(key)));
    const withAll = (await Promise.all(merged)).filter((s) => s.records.length === 30);
    expect(withAll).toHaveLength(1);
    const { records } = withAll[0]!;
    expect(plain(records.map((r) => r.record))).toEqual(plain([...old, ...added]));
    expect(records.map((r) => r.expiresAtMs)).toEqual([...old.map(() => null), ...added.map(() => 1_750_000_000_000)]);
    expect(withAll[0]!.footer.blocks.every((block) => block.format === 2)).toBe(true);
    await expectReads(log, b, old, 30); // the added records are past their expiry at the read time
    const early = await log.read(readAll(b, 30, 1_700_000_000_000));
    expect(plain(early.records)).toEqual(plain([...old, ...added]));
  });
});
