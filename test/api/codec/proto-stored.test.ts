/**
 * Proves that a ReadBatch assembled from stored segment blocks (record ranges of the block bytes,
 * mixed with records in memory) is byte-identical to the one the record-object encoder produces,
 * for every edge of the protobuf encoding (zero fields, u64 timestamps past 2^53, empty header
 * names and values, empty bodies), and that a block's records read back equal the stored ones.
 */
import { describe, expect, it } from 'vitest';
import { encodeReadBatch } from '../../../src/api/codec/proto.js';
import { encodeReadBatchList } from '../../../src/api/codec/proto-stored.js';
import { frameReserved, frameReservedBytes, encodeRegularFrame } from '../../../src/api/s2s/frame.js';
import { RecordList } from '../../../src/domain/record-list.js';
import { meteredBytes, type SequencedRecord } from '../../../src/domain/types.js';
import { BlockView } from '../../../src/storage/block-view.js';
import { decodeBlock, decodeFooter, encodeSegment, type StoredRecord } from '../../../src/storage/codec-segment.js';
import { randInt, randSequencedRecord, seededRand } from './helpers.js';

/** Bytes as hex and bigints as strings, so Buffer and Uint8Array views compare by content. */
function plainValue(value: unknown): unknown {
  if (typeof value === 'bigint') return `${value}n`;
  if (value instanceof Uint8Array) return Buffer.from(value).toString('hex');
  if (value && typeof value === 'object' && (value as { type?: string }).type === 'Buffer') {
    return Buffer.from((value as { data: number[] }).data).toString('hex');
  }
  return value;
}

function storedOf(records: SequencedRecord[], rand: ReturnType<typeof seededRand>): StoredRecord[] {
  return records.map((record) => ({ record, expiresAtMs: randInt(rand, 0, 3) === 0 ? randInt(rand, 1, 1e12) : null }));
}

/** Encodes records into a segment (small blocks, zstd allowed) and indexes every block back. */
function blocksOf(stored: StoredRecord[], blockBytes: number): BlockView[] {
  const { bytes } = encodeSegment('stream-1', 1, stored, { blockBytes, compressMinBytes: 64 });
  const trailerAt = bytes.length - 24;
  const footerOffset = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(trailerAt, true));
  const footer = decodeFooter(bytes.subarray(footerOffset), footerOffset, 'test');
  return footer.blocks.map((info, i) => {
    const storedBlock = bytes.slice(info.offset, info.offset + info.storedLength);
    const view = BlockView.fromStored(storedBlock, info, `block ${i}`);
    const plain = (rs: StoredRecord[]) => rs.map((r) => JSON.stringify(r, (_k, v) => plainValue(v)));
    expect(plain(Array.from({ length: view.count }, (_, j) => view.storedRecord(j)))).toEqual(
      plain(decodeBlock(storedBlock, info, `block ${i}`)),
    );
    return view;
  });
}

describe('ReadBatch from stored blocks', () => {
  it('sizes every stored record as meteredBytes does: sealed (encrypted) ones by their plaintext', () => {
    const rand = seededRand(7);
    const marker = new TextEncoder().encode('encrypted');
    const records = Array.from({ length: 60 }, (_, i) => {
      const record = randSequencedRecord(rand, i);
      if (i % 3 !== 0) return record;
      // A sealed body: version, algorithm, u32 LE plaintext metered size, then opaque bytes.
      const body = new Uint8Array(6 + randInt(rand, 0, 300));
      body[0] = 1;
      body[1] = 1 + (i % 2);
      new DataView(body.buffer).setUint32(2, randInt(rand, 8, 1 << 20), true);
      return { ...record, headers: [[new Uint8Array(0), marker]] as SequencedRecord['headers'], body };
    });
    const blocks = blocksOf(storedOf(records, rand), 512);
    const sizes = blocks.flatMap((block) => Array.from({ length: block.count }, (_, j) => block.metered(j)));
    expect(sizes).toEqual(records.map((record) => meteredBytes(record)));
    expect(sizes[0]).not.toBe(8 + 2 + marker.length + records[0]!.body.length); // not the stored size
  });

  it('is byte-identical to the record encoder, for mixed stored and memory pieces', () => {
    for (let seed = 1; seed <= 40; seed++) {
      const rand = seededRand(seed);
      const first = randInt(rand, 0, 3) === 0 ? 0 : randInt(rand, 0, 2 ** 40);
      const records = Array.from({ length: randInt(rand, 1, 120) }, (_, i) => randSequencedRecord(rand, first + i));
      const blocks = blocksOf(storedOf(records, rand), randInt(rand, 1, 2048));
      // A list in read order: blocks from a random record on, then the rest as memory records.
      const list = new RecordList();
      const start = randInt(rand, 0, records.length - 1);
      const memoryFrom = randInt(rand, start, records.length);
      let seq = 0;
      for (const block of blocks) {
        for (let i = 0; i < block.count; i++, seq++) {
          if (seq >= start && seq < memoryFrom) list.pushStored(block, i, block.metered(i));
        }
      }
      for (let i = memoryFrom; i < records.length; i++) list.pushRecord(records[i]!, meteredBytes(records[i]!));
      const expected = records.slice(start);
      expect(list.length).toBe(expected.length);
      expect(list.bytes).toBe(expected.reduce((n, r) => n + meteredBytes(r), 0));
      const tail = randInt(rand, 0, 1) ? { seqNum: first + records.length, timestamp: 5n } : undefined;
      const want = encodeReadBatch(tail ? { records: expected, tail } : { records: expected });
      expect(Buffer.from(encodeReadBatchList(list, tail)).equals(Buffer.from(want)), `seed ${seed}`).toBe(true);
      expect(list.toArray().map((r) => JSON.stringify(r, (_k, v) => plainValue(v)))).toEqual(
        expected.map((r) => JSON.stringify(r, (_k, v) => plainValue(v))),
      );
      // Reserved room for the S2S frame header: the same frame as framing a copy.
      const framed = frameReserved(encodeReadBatchList(list, tail, frameReservedBytes), 'none');
      expect(Buffer.from(framed).equals(Buffer.from(encodeRegularFrame(want, 'none')))).toBe(true);
    }
  });

  it('frames live batches and heartbeats in place exactly as encoding then framing a copy did', () => {
    const rand = seededRand(99);
    const tail = { seqNum: 40, timestamp: 123_456n };
    for (const bodyBytes of [0, 10, 1024, 8192, 65536]) {
      const records = Array.from({ length: 5 }, (_, i) => ({
        ...randSequencedRecord(rand, 35 + i),
        body: new Uint8Array(bodyBytes).map((_, k) => (k * 13 + i) & 0xff),
      }));
      for (const compression of ['none', 'zstd', 'gzip'] as const) {
        const want = encodeRegularFrame(encodeReadBatch({ records, tail }), compression);
        const got = frameReserved(encodeReadBatchList(RecordList.of(records), tail, frameReservedBytes), compression);
        expect(Buffer.from(got).equals(Buffer.from(want)), `${bodyBytes} B, ${compression}`).toBe(true);
        const heartbeat = frameReserved(encodeReadBatchList(new RecordList(), tail, frameReservedBytes), compression);
        expect(
          Buffer.from(heartbeat).equals(
            Buffer.from(encodeRegularFrame(encodeReadBatch({ records: [], tail }), compression)),
          ),
        ).toBe(true);
      }
    }
  });

  it('drops records below a trim point that landed during the read', () => {
    const rand = seededRand(7);
    const records = Array.from({ length: 50 }, (_, i) => randSequencedRecord(rand, 100 + i));
    const blocks = blocksOf(storedOf(records, rand), 512);
    const list = new RecordList();
    for (const block of blocks) for (let i = 0; i < block.count; i++) list.pushStored(block, i, block.metered(i));
    list.dropBelow(120);
    expect(list.seqNumAt(0)).toBe(120);
    expect(
      Buffer.from(encodeReadBatchList(list)).equals(Buffer.from(encodeReadBatch({ records: records.slice(20) }))),
    ).toBe(true);
  });

  it('refuses a block whose record lengths run past its end', () => {
    const rand = seededRand(3);
    const records = Array.from({ length: 3 }, (_, i) => randSequencedRecord(rand, i));
    const raw = new Uint8Array(blocksOf(storedOf(records, rand), 1 << 20)[0]!.bytes);
    expect(BlockView.indexWire(raw, 'ok').count).toBe(3);
    expect(() => BlockView.indexWire(raw.subarray(0, raw.length - 1), 'cut')).toThrow(/malformed|trailing|expiry table/);
    const wrongCount = new Uint8Array(raw);
    wrongCount[0] = 2;
    expect(() => BlockView.indexWire(wrongCount, 'count')).toThrow(/trailing|expiry table/);
    const badTag = new Uint8Array(raw);
    badTag[5] = 0x12;
    expect(() => BlockView.indexWire(badTag, 'tag')).toThrow(/malformed/);
  });
});

describe('fresh messages (live batch frames, shared by every follower)', () => {
  it('never share bytes with another message, and keep their content while later ones are encoded', () => {
    const rand = seededRand(11);
    const held: { bytes: Uint8Array; copy: Buffer }[] = [];
    for (let i = 0; i < 200; i++) {
      const records = Array.from({ length: randInt(rand, 1, 40) }, (_, j) => randSequencedRecord(rand, i * 40 + j));
      const tail = { seqNum: i * 40 + 40, timestamp: 5n };
      const bytes = encodeReadBatchList(RecordList.of(records), tail, frameReservedBytes);
      expect(Buffer.from(bytes.subarray(frameReservedBytes)).equals(Buffer.from(encodeReadBatch({ records, tail })))).toBe(
        true,
      );
      held.push({ bytes, copy: Buffer.from(bytes) });
    }
    for (const { bytes, copy } of held) expect(Buffer.from(bytes).equals(copy)).toBe(true);
    // No two messages overlap in memory.
    const ranges = held
      .map(({ bytes }) => ({ memory: bytes.buffer, from: bytes.byteOffset, to: bytes.byteOffset + bytes.byteLength }))
      .sort((a, b) => a.from - b.from);
    for (let i = 0; i < ranges.length; i++) {
      for (let j = i + 1; j < ranges.length && ranges[j]!.from < ranges[i]!.to; j++) {
        expect(ranges[j]!.memory).not.toBe(ranges[i]!.memory);
      }
    }
  });
});
