/**
 * Round trips and corruption checks for every persisted format: commits inside chunks, chunks,
 * segments (blocks, footer, trailer), manifests and snapshot objects. Every decoder must reject
 * truncated or altered bytes with a CorruptDataError that says what was being decoded.
 */
import { randomBytes } from 'node:crypto';
import { describe, expect, it } from 'vitest';
import { ByteReader, ByteWriter, CorruptDataError } from '../../src/storage/binary.js';
import { chunkHeaderBytes, decodeChunk, decodeChunkHeader, encodeChunk } from '../../src/storage/codec-chunk.js';
import { appendCommit, decodeCommit, encodeCommit, encodeCommitIn } from '../../src/storage/codec-mutation.js';
import { Slab } from '../../src/storage/binary.js';
import {
  decodeManifest,
  decodeSnapshotObject,
  encodeManifest,
  encodeSnapshotObject,
  snapshotJson,
  type Snapshot,
} from '../../src/storage/codec-manifest.js';
import {
  decodeBlock,
  decodeFooter,
  decodeSegment,
  encodeSegment,
  encodeSegmentSteps,
  type SegmentScratch,
  type StoredRecord,
} from '../../src/storage/codec-segment.js';
import type { Mutation } from '../../src/storage/types.js';
import { basinMeta, bytes, makeAppend, makeRecord, streamMeta } from './helpers.js';

const u64Max = (1n << 64n) - 1n;

function allMutations(): Mutation[] {
  const big = makeAppend('stream-a', 5, 3, { timestamp: (seq) => (1n << 60n) + BigInt(seq) });
  big.records[0].headers = [
    [new Uint8Array(0), new Uint8Array(0)],
    [bytes([0, 255, 1]), bytes('dup')],
    [bytes([0, 255, 1]), bytes('dup')],
  ];
  big.records[1].body = new Uint8Array(0);
  big.records[2].body = Uint8Array.from({ length: 300 }, (_, i) => i % 256);
  big.records[2].timestamp = u64Max;
  big.tail.timestamp = u64Max;
  return [
    { kind: 'basin.put', basin: 'basin-one', meta: basinMeta() },
    { kind: 'basin.delete', basin: 'basin-two' },
    { kind: 'stream.put', stream: 'id/1', basin: 'basin-one', name: 'ünïcode ✓', meta: streamMeta() },
    { kind: 'stream.delete', stream: 'id/0' },
    big,
    makeAppend('stream-b', 0, 1, { trimPoint: 7, fencingToken: '', expiresAtMs: 9_000, writtenAtMs: 8_000 }),
    makeAppend('stream-b', 1, 1, { fencingToken: 'tok-ä' }),
  ];
}

function corruptions(bytes: Uint8Array): Uint8Array[] {
  const out = [bytes.subarray(0, 0), bytes.subarray(0, 3), bytes.subarray(0, bytes.length - 1)];
  for (const at of [0, 5, Math.floor(bytes.length / 2), bytes.length - 1]) {
    const flipped = Uint8Array.from(bytes);
    flipped[at] ^= 0x40;
    out.push(flipped);
  }
  out.push(Buffer.concat([bytes, Buffer.from([0])]));
  return out;
}

describe('binary', () => {
  it('round-trips integers at their limits', () => {
    const writer = new ByteWriter(1);
    writer
      .u8(255)
      .u16(65535)
      .u32(0xffffffff)
      .u64(Number.MAX_SAFE_INTEGER)
      .u64Big(u64Max)
      .string('')
      .bytes(new Uint8Array(0));
    const reader = new ByteReader(writer.finish(), 'test');
    expect([
      reader.u8(),
      reader.u16(),
      reader.u32(),
      reader.u64(),
      reader.u64Big(),
      reader.string(),
      reader.bytes().length,
    ]).toEqual([255, 65535, 0xffffffff, Number.MAX_SAFE_INTEGER, u64Max, '', 0]);
    reader.end();
  });

  it('rejects truncation, counts larger than the input and u64 numbers above 2^53', () => {
    expect(() => new ByteReader(new Uint8Array(3), 'thing').u32()).toThrow(/thing: truncated/);
    const count = new ByteWriter().u32(1000).finish();
    expect(() => new ByteReader(count, 'list').count(8)).toThrow(CorruptDataError);
    const big = new ByteWriter().u64Big(1n << 60n).finish();
    expect(() => new ByteReader(big, 'n').u64()).toThrow(/exceeds 2\^53/);
    expect(() => new ByteWriter().u64(2 ** 53)).toThrow();
  });
});

describe('commit codec', () => {
  it('round-trips every mutation kind, binary data and u64 timestamps', () => {
    const mutations = allMutations();
    const encoded = encodeCommit(mutations);
    const reader = new ByteReader(encoded, 'commit');
    expect(decodeCommit(reader)).toEqual(mutations);
    reader.end();
  });

  it('refuses an append whose seq_nums are not consecutive', () => {
    const append = makeAppend('s', 0, 2);
    append.records[1].seqNum = 5;
    expect(() => encodeCommit([append])).toThrow(/consecutive/);
    expect(() => appendCommit([append])).toThrow(/consecutive/);
  });

  it('writes appends in place byte for byte as the general encoder lays them out', () => {
    const appends = allMutations().filter((m) => m.kind === 'append');
    // A commit that is not all appends takes the ByteWriter path; its appends are the reference.
    const reference = encodeCommit([{ kind: 'basin.delete', basin: 'b' }, ...appends]);
    const prefix = encodeCommit([{ kind: 'basin.delete', basin: 'b' }]).length;
    const writer = appendCommit(appends)!;
    const inPlace = new Uint8Array(writer.length + 8).fill(0xee);
    writer.writeTo(inPlace.subarray(3, 3 + writer.length));
    expect(Buffer.from(inPlace.subarray(3 + 4, 3 + writer.length))).toEqual(Buffer.from(reference.subarray(prefix)));
    expect([...inPlace.subarray(0, 3), ...inPlace.subarray(3 + writer.length)]).toEqual(Array(8).fill(0xee));
    const decoded = decodeCommit(new ByteReader(inPlace.subarray(3, 3 + writer.length), 'commit'));
    expect(decoded).toEqual(appends);
    expect(Buffer.from(encodeCommitIn(new Slab(64), appends))).toEqual(Buffer.from(encodeCommit(appends)));
    expect(appendCommit([{ kind: 'basin.delete', basin: 'b' }])).toBeUndefined();
  });

  it('says where the largest body of a commit goes and how its source is aligned', () => {
    const small = makeAppend('s', 0, 2);
    expect(appendCommit([small])!.align).toBeUndefined();
    const large = makeAppend('ß', 2, 3);
    const source = new Uint8Array(3 * 8192 + 5).map((_, i) => i % 251);
    large.records[1].body = source.subarray(5, 5 + 8192);
    large.records[2].body = source.subarray(5 + 8192, 5 + 8192 + 6000);
    const writer = appendCommit([small, large])!;
    expect(writer.align).toMatchObject({ mod: 5, bytes: 8192 });
    const out = new Uint8Array(writer.length);
    writer.writeTo(out);
    const { at } = writer.align!;
    expect(Buffer.from(out.subarray(at, at + 8192))).toEqual(Buffer.from(large.records[1].body));
  });

  it('refuses, when sized, what the encoder cannot store', () => {
    expect(() => appendCommit([makeAppend('s', 2 ** 53, 1)])).toThrow(/out of range/);
    expect(() => appendCommit([{ ...makeAppend('s', 0, 1), trimPoint: -1 }])).toThrow(/out of range/);
    const late = makeAppend('s', 0, 1, { timestamp: () => 1n << 64n });
    expect(() => appendCommit([late])).toThrow(/out of range/);
    expect(() => appendCommit([{ ...makeAppend('s', 0, 1), records: [] }])).toThrow(/at least one record/);
  });
});

describe('chunk codec', () => {
  const commits = [allMutations(), [], allMutations().slice(0, 2)];
  const header = { epoch: 7, chunkId: 123, prevChunkId: 121 };

  it.each([
    ['uncompressed', 1 << 30],
    ['zstd', 16],
  ])('round-trips (%s)', (_name, compressMinBytes) => {
    const bytes = encodeChunk(header, commits.map(encodeCommit), compressMinBytes);
    expect(decodeChunk(bytes, 123)).toEqual({ ...header, commits });
    expect(decodeChunkHeader(bytes.subarray(0, chunkHeaderBytes), 123)).toEqual(header);
  });

  it('compresses a repetitive body', () => {
    const many = Array.from({ length: 20 }, () => allMutations());
    const plain = encodeChunk(header, many.map(encodeCommit), 1 << 30);
    const packed = encodeChunk(header, many.map(encodeCommit), 1024);
    expect(packed.length).toBeLessThan(plain.length / 2);
    expect(decodeChunk(packed).commits).toEqual(many);
  });

  it('encodes a fence chunk (no commits)', () => {
    expect(decodeChunk(encodeChunk(header, [], 0))).toEqual({ ...header, commits: [] });
  });

  it('rejects corrupt or truncated chunks, and a chunk stored under the wrong id', () => {
    for (const compressMinBytes of [1 << 30, 16]) {
      const bytes = encodeChunk(header, commits.map(encodeCommit), compressMinBytes);
      for (const bad of corruptions(bytes)) expect(() => decodeChunk(bad, 123)).toThrow(CorruptDataError);
      expect(() => decodeChunk(bytes, 124)).toThrow(/header says chunk 123/);
    }
  });

  it('rejects an unknown format version with a clear message', () => {
    const bytes = encodeChunk(header, [], 0);
    bytes[4] = 9;
    expect(() => decodeChunk(bytes)).toThrow(/unsupported format version 9/);
  });
});

function withHeaders(stored: StoredRecord, count: number, valueBytes: number): StoredRecord {
  const headers: [Uint8Array, Uint8Array][] = Array.from({ length: count }, (_, i) => [
    bytes(`h${i}`),
    new Uint8Array(valueBytes).fill(i),
  ]);
  return { ...stored, record: { ...stored.record, headers } };
}

describe('segment codec', () => {
  function records(count: number, expiry: (i: number) => number | null = () => null): StoredRecord[] {
    return Array.from({ length: count }, (_, i) => ({
      record: makeRecord(100 + i, (1n << 62n) + BigInt(Math.floor(i / 3))),
      expiresAtMs: expiry(i),
    }));
  }

  it.each([
    ['uncompressed', 1 << 30],
    ['zstd', 64],
  ])('round-trips many blocks (%s)', (_name, compressMinBytes) => {
    const input = records(500, (i) => (i % 7 === 0 ? null : 10_000 + i));
    const { bytes, summary } = encodeSegment('stream/x', 3, input, { blockBytes: 512, compressMinBytes });
    const decoded = decodeSegment(bytes);
    expect(decoded.records).toEqual(input);
    expect(decoded.footer.stream).toBe('stream/x');
    expect(decoded.footer.epoch).toBe(3);
    expect(decoded.footer.blocks.length).toBeGreaterThan(5);
    expect(summary).toMatchObject({
      firstSeqNum: 100,
      lastSeqNum: 599,
      recordCount: 500,
      size: bytes.length,
      maxExpiresAtMs: null,
    });
    // Blocks are contiguous in seq_num and their index matches their contents.
    const blocks = decoded.footer.blocks;
    for (let i = 1; i < blocks.length; i++) expect(blocks[i].firstSeqNum).toBe(blocks[i - 1].lastSeqNum + 1);
    const footer = decodeFooter(bytes.subarray(summary.footerOffset), summary.footerOffset, 'seg');
    const block = footer.blocks[2];
    const got = decodeBlock(bytes.subarray(block.offset, block.offset + block.storedLength), block, 'blk');
    expect(got.map((r) => r.record.seqNum)).toEqual(range(block.firstSeqNum, block.lastSeqNum + 1));
  });

  it('records the latest expiry when every record expires', () => {
    const { summary } = encodeSegment(
      's',
      1,
      records(10, (i) => 5_000 + i),
      { blockBytes: 64, compressMinBytes: 0 },
    );
    expect(summary.maxExpiresAtMs).toBe(5_009);
  });

  it('holds a single record larger than a block', () => {
    const big = records(1);
    big[0].record.body = new Uint8Array(10_000).fill(7);
    const { bytes } = encodeSegment('s', 1, big, { blockBytes: 100, compressMinBytes: 1 << 30 });
    expect(decodeSegment(bytes).records).toEqual(big);
  });

  it('encodes into an allocated scratch without outgrowing it, whatever the record and block sizes', () => {
    // Checkpoints on the local-filesystem store hand the scratch (a SharedArrayBuffer) to a writer
    // thread as it is; outgrowing it would fall back to a copy. The size bound must hold for tiny
    // blocks (one record each: a footer entry per record), big headers and empty bodies.
    const shapes: [string, StoredRecord[], number][] = [
      ['one record per block', records(300), 1],
      ['headers only', records(50).map((r) => withHeaders(r, 40, 200)), 4096],
      [
        'empty bodies',
        records(200).map((r) => ({ ...r, record: { ...r.record, headers: [], body: new Uint8Array(0) } })),
        64,
      ],
    ];
    const allocated: number[] = [];
    const scratch: SegmentScratch = {
      allocate: (size) => {
        allocated.push(size);
        return new Uint8Array(new SharedArrayBuffer(size));
      },
    };
    for (const [name, input, blockBytes] of shapes) {
      const steps = encodeSegmentSteps('stream/x', 1, input, { blockBytes, compressMinBytes: 1 << 30 }, scratch);
      let step = steps.next();
      while (!step.done) step = steps.next();
      const { bytes } = step.value;
      expect(bytes.buffer, name).toBe(scratch.buffer!.buffer);
      expect(bytes.buffer, name).toBeInstanceOf(SharedArrayBuffer);
      expect(decodeSegment(bytes).records, name).toEqual(input);
    }
    // Reused while large enough: allocated again only for a larger segment.
    expect(allocated.length).toBeLessThanOrEqual(shapes.length);
    expect(allocated.length).toBeGreaterThan(0);
  });

  it('stores compressible blocks as zstd in place and incompressible ones raw, contiguous and byte-exact', () => {
    // Blocks are written straight into the segment and a zstd frame, when smaller, overwrites its
    // raw bytes: the next block must start right after the shorter frame, in a shared scratch too.
    const input = records(12).map((r, i) => {
      const body = new Uint8Array(3000);
      if (i % 2 === 0) body.fill(i);
      else body.set(randomBytes(body.length));
      return { ...r, record: { ...r.record, body } };
    });
    const scratch: SegmentScratch = { allocate: (size) => new Uint8Array(new SharedArrayBuffer(size)) };
    const steps = encodeSegmentSteps('s', 1, input, { blockBytes: 2048, compressMinBytes: 64 }, scratch);
    let step = steps.next();
    while (!step.done) step = steps.next();
    const { bytes, summary } = step.value;
    const { footer, records: decoded } = decodeSegment(bytes);
    expect(decoded).toEqual(input);
    const blocks = footer.blocks;
    expect(blocks.map((b) => b.compressed)).toEqual(input.map((_, i) => i % 2 === 0));
    for (const block of blocks.filter((b) => !b.compressed)) expect(block.storedLength).toBe(block.rawLength);
    for (const block of blocks.filter((b) => b.compressed))
      expect(block.storedLength).toBeLessThan(block.rawLength / 10);
    for (let i = 1; i < blocks.length; i++)
      expect(blocks[i].offset).toBe(blocks[i - 1].offset + blocks[i - 1].storedLength);
    expect(summary.footerOffset).toBe(blocks.at(-1)!.offset + blocks.at(-1)!.storedLength);
  });

  it('places a large body at its source address mod 8, whatever precedes it, and reads it back', () => {
    // Copies into the shared scratch are fast only between addresses equal mod 8, so blocks whose
    // first body is large start after a few zero bytes; readers find them by the footer's offsets.
    const source = new Uint8Array(randomBytes(9000 * 16 + 64));
    const input = records(16, (i) => (i % 3 === 0 ? 10_000 + i : null)).map((r, i) => {
      const body = source.subarray(i * 9000 + (i % 8), i * 9000 + (i % 8) + 5000 + i);
      const headers: [Uint8Array, Uint8Array][] = i % 2 ? [[bytes('h'.repeat(i)), bytes('v')]] : [];
      return { ...r, record: { ...r.record, headers, body } };
    });
    const allocated: number[] = [];
    const scratch: SegmentScratch = {
      allocate: (size) => {
        allocated.push(size);
        return new Uint8Array(new SharedArrayBuffer(size));
      },
    };
    const steps = encodeSegmentSteps('s', 1, input, { blockBytes: 4096, compressMinBytes: 1 << 30 }, scratch);
    let step = steps.next();
    while (!step.done) step = steps.next();
    const { bytes: encoded } = step.value;
    expect(allocated).toHaveLength(1);
    expect(encoded.buffer).toBe(scratch.buffer!.buffer);
    const { footer, records: decoded } = decodeSegment(encoded);
    expect(decoded).toEqual(input);
    expect(footer.blocks).toHaveLength(input.length);
    for (const [i, block] of footer.blocks.entries()) {
      const body = input[i].record.body;
      const at = Buffer.from(encoded).indexOf(Buffer.from(body), block.offset);
      expect(at, `block ${i}`).toBeLessThan(block.offset + block.storedLength);
      expect((encoded.byteOffset + at) % 8, `block ${i}`).toBe(body.byteOffset % 8);
      if (i > 0)
        expect(block.offset - (footer.blocks[i - 1].offset + footer.blocks[i - 1].storedLength)).toBeLessThan(8);
    }
  });

  it('rejects corrupt or truncated segments', () => {
    const { bytes, summary } = encodeSegment('s', 1, records(50), { blockBytes: 256, compressMinBytes: 64 });
    for (const bad of corruptions(bytes)) expect(() => decodeSegment(bad)).toThrow(CorruptDataError);
    const tail = bytes.subarray(summary.footerOffset);
    expect(() => decodeFooter(tail, summary.footerOffset + 1, 'seg')).toThrow(/footer position mismatch/);
    for (const bad of corruptions(tail))
      expect(() => decodeFooter(bad, summary.footerOffset, 'seg')).toThrow(CorruptDataError);
  });
});

describe('manifest codec', () => {
  const snapshot: Snapshot = {
    basins: new Map([
      ['basin-one', basinMeta(5)],
      ['basin-two', { ...basinMeta(6), deletedAtMs: 9 }],
    ]),
    streams: [
      {
        id: 's-1',
        basin: 'basin-one',
        name: 'näme',
        meta: streamMeta(3),
        tail: { seqNum: 42, timestamp: u64Max },
        fencingToken: 'fence',
        trimPoint: 10,
        lastWriteMs: 1234,
        segments: [
          {
            key: 'segment/s-1/x',
            firstSeqNum: 10,
            lastSeqNum: 20,
            firstTimestamp: 1n << 60n,
            lastTimestamp: u64Max,
            recordCount: 11,
            size: 999,
            footerOffset: 900,
            maxExpiresAtMs: null,
          },
        ],
      },
      {
        id: 's-2',
        basin: 'basin-two',
        name: '',
        meta: streamMeta(4),
        tail: { seqNum: 0, timestamp: 0n },
        fencingToken: '',
        trimPoint: 0,
        lastWriteMs: 4,
        segments: [],
      },
    ],
    accessTokens: new Map(),
    rootTokenHash: null,
  };
  const header = { epoch: 4, manifestId: 17, lastAppliedChunkId: 99, lastAppliedChunkEpoch: 3 };

  it('round-trips an inline snapshot', () => {
    const bytes = encodeManifest(header, { json: snapshotJson(snapshot) }, 64);
    expect(decodeManifest(bytes, 17)).toEqual({ ...header, snapshot: { inline: snapshot } });
  });

  it('round-trips an empty snapshot', () => {
    const empty = { basins: new Map(), streams: [], accessTokens: new Map(), rootTokenHash: null };
    expect(decodeManifest(encodeManifest(header, { json: snapshotJson(empty) }, 0), 17).snapshot).toEqual({
      inline: empty,
    });
  });

  it('round-trips a snapshot object and its reference', () => {
    const ref = { key: 'snapshot/x', manifestId: 17, epoch: 4 };
    const manifest = decodeManifest(encodeManifest(header, { ref }, 0), 17);
    expect(manifest.snapshot).toEqual({ ref });
    const object = encodeSnapshotObject(ref, snapshotJson(snapshot), 0);
    expect(decodeSnapshotObject(object, ref)).toEqual(snapshot);
    expect(() => decodeSnapshotObject(object, { ...ref, manifestId: 18 })).toThrow(/does not match/);
  });

  it('rejects corrupt manifests, a manifest under the wrong id and malformed JSON content', () => {
    const bytes = encodeManifest(header, { json: snapshotJson(snapshot) }, 64);
    for (const bad of corruptions(bytes)) expect(() => decodeManifest(bad, 17)).toThrow(CorruptDataError);
    expect(() => decodeManifest(bytes, 18)).toThrow(/header says manifest 17/);
    const badTail = encodeManifest(header, { json: Buffer.from('{"basins":[],"streams":[{"id":"x","tail":5}]}') }, 0);
    expect(() => decodeManifest(badTail, 17)).toThrow(CorruptDataError);
    const notJson = encodeManifest(header, { json: Buffer.from('{') }, 0);
    expect(() => decodeManifest(notJson, 17)).toThrow(/not valid JSON/);
  });
});

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
