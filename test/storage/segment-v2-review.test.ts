/**
 * Segment format 2 (blocks of ReadBatch wire entries) keeps every record exactly: for records at
 * every edge (seq_num 0 / past 2^32 / 2^53 - 1, timestamp 0 / past 2^53 / 2^64 - 1, no headers,
 * empty header names and values, many and binary headers, bodies from 0 B to 1 MiB, expiries),
 * each record's bytes in a block equal what api/codec/proto.ts writes for it in a ReadBatch, any
 * run of them makes the same ReadBatch, and they decode to what was written; and a damaged block
 * (any flipped byte, any truncation, trailing bytes, a wrong count or length) is refused with the
 * storage corruption error, never a crash of another kind or records that were not written.
 */
import { describe, expect, it } from 'vitest';
import { encodeReadBatch } from '../../src/api/codec/proto.js';
import { decodeReadBatch } from '../../src/api/codec/proto-client.js';
import { encodeReadBatchList } from '../../src/api/codec/proto-stored.js';
import { RecordList } from '../../src/domain/record-list.js';
import { meteredBytes, type Header, type SequencedRecord } from '../../src/domain/types.js';
import { BlockView } from '../../src/storage/block-view.js';
import { decodeSegment, encodeSegment, type BlockInfo, type StoredRecord } from '../../src/storage/codec-segment.js';
import { CorruptDataError } from '../../src/storage/errors.js';
import { checksum } from '../../src/storage/framing.js';
import { seededBytes } from '../support/bytes.js';

const text = (value: string): Uint8Array => new TextEncoder().encode(value);
const empty = new Uint8Array(0);

const bytesOf = seededBytes;

const seqNums = [0, 1, 2 ** 32 + 5, Number.MAX_SAFE_INTEGER - 1];
const timestamps = [0n, 1n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n];
const headerSets: Header[][] = [
  [],
  [[empty, text('fence-token')]], // a fence command record
  [[empty, empty]], // a trim-like command with an empty value
  [[text('name'), empty]],
  [[bytesOf(3, 9), bytesOf(200, 10)]], // binary name and a value whose length needs two varint bytes
  Array.from({ length: 300 }, (_, h): Header => [text(`h${h % 7}`), bytesOf(h % 5, h)]),
];
const bodySizes = [0, 1, 127, 128, 4095, 4096, 8193, 16_384 + 3, 65_536, 1 << 20];

/** The matrix: every seq_num x timestamp x header set, each with a small body, then every body size. */
function matrix(): StoredRecord[] {
  const out: StoredRecord[] = [];
  let n = 0;
  for (const seqNum of seqNums)
    for (const timestamp of timestamps)
      for (const headers of headerSets) {
        const body = bytesOf(bodySizes[n % 5]!, n);
        out.push({ record: { seqNum, timestamp, headers, body }, expiresAtMs: n % 3 ? null : 1e12 + n });
        n++;
      }
  for (const size of bodySizes)
    for (const headers of [headerSets[0]!, headerSets[1]!, headerSets[4]!]) {
      out.push({
        record: { seqNum: 1000 + n, timestamp: BigInt(n), headers, body: bytesOf(size, n) },
        expiresAtMs: n % 2 ? null : 2e12 + n,
      });
      n++;
    }
  return out;
}

/** Records as strings (bytes as hex, bigints with n), so views, Buffers and copies compare by content. */
const hex = (bytes: Uint8Array): string =>
  Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('hex');
const plain = (records: (SequencedRecord | StoredRecord)[]): string[] =>
  records.map((r) => {
    const [record, expiry] = 'record' in r ? [r.record, r.expiresAtMs] : [r, undefined];
    const headers = record.headers.map(([name, value]) => `${hex(name)}=${hex(value)}`).join(',');
    return `${record.seqNum} ${record.timestamp}n [${headers}] ${hex(record.body)} ${expiry}`;
  });

function blocksOf(bytes: Uint8Array): { info: BlockInfo; view: BlockView; stored: Uint8Array }[] {
  const { footer } = decodeSegment(bytes);
  return footer.blocks.map((info, i) => {
    const stored = bytes.slice(info.offset, info.offset + info.storedLength);
    return { info, stored, view: BlockView.fromStored(stored, info, `block ${i}`) };
  });
}

const options = [
  { blockBytes: 4096, compressMinBytes: 1 << 30 },
  { blockBytes: 64 * 1024, compressMinBytes: 1 << 30 },
  { blockBytes: 64 * 1024, compressMinBytes: 64 },
];

describe('segment format 2 byte equality', () => {
  const records = matrix();
  const wanted = records.map((r) => r.record);

  for (const option of options) {
    it(`blocks of ${option.blockBytes} B, compression from ${option.compressMinBytes} B`, () => {
      const { bytes } = encodeSegment('stream/review', 3, records, option);
      expect(plain(decodeSegment(bytes).records)).toEqual(plain(records));
      const blocks = blocksOf(bytes);
      if (option.compressMinBytes === 64) expect(blocks.some((b) => b.info.compressed)).toBe(true);
      const all = new RecordList();
      let n = 0;
      for (const { view } of blocks) {
        expect(view.wireAt(0)).toBeGreaterThanOrEqual(0);
        for (let i = 0; i < view.count; i++, n++) {
          // The record's stored bytes are the ReadBatch entry proto.ts writes for it.
          const entry = Buffer.from(view.bytes.subarray(view.wireAt(i), view.wireAt(i + 1)));
          expect(entry.equals(Buffer.from(encodeReadBatch({ records: [wanted[n]!] })))).toBe(true);
          expect(view.metered(i)).toBe(meteredBytes(wanted[n]!));
          expect(view.expiresAtMs(i)).toBe(records[n]!.expiresAtMs);
          expect(view.headerCount(i)).toBe(wanted[n]!.headers.length);
          expect(view.bodyLength(i)).toBe(wanted[n]!.body.length);
          all.pushStored(view, i, view.metered(i));
        }
      }
      expect(n).toBe(records.length);
      const tail = { seqNum: 2 ** 40, timestamp: 2n ** 60n };
      const batch = Buffer.from(encodeReadBatchList(all, tail, 5).subarray(5));
      expect(batch.equals(Buffer.from(encodeReadBatch({ records: wanted, tail })))).toBe(true);
      expect(plain(decodeReadBatch(batch).records)).toEqual(plain(wanted));
      expect(plain(all.toArray())).toEqual(plain(wanted));
    });
  }

  it('timestamps of every varint length read back exact, either side of the 49 bits summed as a number', () => {
    // Around every power of two up to 2^64 - 1: varints of 1 to 10 bytes, and values past 2^53
    // that a sum in a number would round.
    const timestamps = new Set<bigint>([2n ** 53n + 3n, 0x1234_5678_9abc_def1n]);
    for (let bits = 0n; bits <= 64n; bits++) {
      for (const delta of [-1n, 0n, 1n]) {
        const t = (1n << bits) + delta;
        if (t >= 0n && t < 1n << 64n) timestamps.add(t);
      }
    }
    const sorted = [...timestamps].sort((a, b) => (a < b ? -1 : a > b ? 1 : 0));
    const stored = sorted.map((timestamp, i): StoredRecord => ({
      record: { seqNum: i, timestamp, headers: [], body: empty },
      expiresAtMs: null,
    }));
    const { bytes } = encodeSegment('stream/review', 3, stored, options[0]!);
    const got = blocksOf(bytes).flatMap(({ view }) => Array.from({ length: view.count }, (_, i) => view.timestamp(i)));
    expect(got).toEqual(sorted);
  });

  it('any run of records, mixed with records of the memory tail, makes the same ReadBatch', () => {
    const { bytes } = encodeSegment('stream/review', 3, records, options[0]!);
    const blocks = blocksOf(bytes).map((b) => b.view);
    const flat = blocks.flatMap((view) => Array.from({ length: view.count }, (_, i) => ({ view, i })));
    for (let from = 0; from < flat.length; from += 37) {
      const to = Math.min(flat.length, from + 1 + ((from * 7) % 90));
      const list = new RecordList();
      const expected: SequencedRecord[] = [];
      for (let k = from; k < to; k++) {
        list.pushStored(flat[k]!.view, flat[k]!.i, 0);
        expected.push(wanted[k]!);
        if (k % 11 === 0) {
          list.pushRecord(wanted[k]!, 0); // a memory-tail record between stored runs
          expected.push(wanted[k]!);
        }
      }
      expect(Buffer.from(encodeReadBatchList(list)).equals(Buffer.from(encodeReadBatch({ records: expected })))).toBe(
        true,
      );
    }
  });
});

/** Indexes `raw` as a format 2 block with a valid CRC: only the strict parsing can refuse it. */
function indexRaw(raw: Uint8Array, count: number): BlockView {
  const info: BlockInfo = {
    format: 2,
    offset: 8,
    storedLength: raw.length,
    rawLength: raw.length,
    compressed: false,
    crc: checksum(raw),
    recordCount: count,
    firstSeqNum: 0,
    lastSeqNum: 0,
    firstTimestamp: 0n,
    lastTimestamp: 0n,
    maxExpiresAtMs: null,
  };
  return BlockView.fromStored(raw, info, 'review block');
}

/** Everything a reader may call on an indexed block (a parse that passed must be total). */
function readAll(view: BlockView): void {
  const list = new RecordList();
  for (let i = 0; i < view.count; i++) {
    view.record(i);
    view.storedRecord(i);
    view.headerCount(i);
    view.timestamp(i);
    list.pushStored(view, i, view.metered(i));
  }
  decodeReadBatch(encodeReadBatchList(list));
}

describe('segment format 2 damage', () => {
  // Small records of every shape, two blocks: one with an expiry table, one without.
  const small: StoredRecord[] = [
    { record: { seqNum: 0, timestamp: 0n, headers: [], body: empty }, expiresAtMs: null },
    { record: { seqNum: 1, timestamp: 2n ** 60n, headers: [[empty, text('f')]], body: empty }, expiresAtMs: 5 },
    {
      record: {
        seqNum: 300,
        timestamp: 301n,
        headers: [
          [text('a'), empty],
          [empty, empty],
        ],
        body: text('xyz'),
      },
      expiresAtMs: null,
    },
    { record: { seqNum: 2 ** 33, timestamp: 9n, headers: [], body: bytesOf(130, 1) }, expiresAtMs: null },
  ];
  const expiring = encodeSegment('s', 1, small, { blockBytes: 1 << 20, compressMinBytes: 1 << 30 }).bytes;
  const plainBlock = encodeSegment(
    's',
    1,
    small.map((r) => ({ ...r, expiresAtMs: null })),
    { blockBytes: 1 << 20, compressMinBytes: 1 << 30 },
  ).bytes;
  const cases = [
    ['with an expiry table', blocksOf(expiring)[0]!],
    ['without an expiry table', blocksOf(plainBlock)[0]!],
  ] as const;

  for (const [name, { stored, info }] of cases) {
    it(`${name}: a flipped byte with the CRC left as written is a checksum mismatch`, () => {
      for (let at = 0; at < stored.length; at++) {
        const bad = stored.slice();
        bad[at]! ^= 0x10;
        expect(() => BlockView.fromStored(bad, info, 'b')).toThrow(/checksum mismatch/);
      }
    });

    it(`${name}: every flipped byte under a valid CRC is refused as corrupt or parses to a total block`, () => {
      const wanted = plain(small.map((r) => r.record));
      for (let at = 0; at < stored.length; at++) {
        for (const mask of [0x01, 0x02, 0x08, 0x40, 0x80, 0xff]) {
          const bad = stored.slice();
          bad[at]! ^= mask;
          let view: BlockView;
          try {
            view = indexRaw(bad, small.length);
          } catch (error) {
            expect(error, `byte ${at} ^ ${mask}`).toBeInstanceOf(CorruptDataError);
            continue;
          }
          // A parse that passed may only differ in the bytes of a header, body or field value.
          readAll(view);
          expect(view.count).toBe(small.length);
          const got = plain(Array.from({ length: view.count }, (_, i) => view.record(i)));
          expect(got.filter((r, i) => r !== wanted[i]).length, `byte ${at} ^ ${mask}`).toBeLessThanOrEqual(1);
        }
      }
    });

    it(`${name}: every truncation and any trailing byte is refused as corrupt`, () => {
      for (let length = 0; length < stored.length; length++) {
        expect(() => indexRaw(stored.slice(0, length), small.length), `length ${length}`).toThrow(CorruptDataError);
      }
      for (const extra of [[0], [0x0a, 0x00], [1, 0, 0, 0, 0, 0, 0, 0, 0]]) {
        const longer = new Uint8Array([...stored, ...extra]);
        expect(() => indexRaw(longer, small.length)).toThrow(CorruptDataError);
      }
    });

    it(`${name}: a wrong record count, unknown flags or a length past the block is refused`, () => {
      for (const count of [0, small.length - 1, small.length + 1, 0xffffffff]) {
        const bad = stored.slice();
        new DataView(bad.buffer).setUint32(0, count, true);
        expect(() => indexRaw(bad, count), `count ${count}`).toThrow(CorruptDataError);
        expect(() => indexRaw(bad, small.length), `count ${count}`).toThrow(CorruptDataError);
      }
      const flags = stored.slice();
      flags[4]! |= 0x02;
      expect(() => indexRaw(flags, small.length)).toThrow(/unknown block flags/);
      // The last record's length prefix made to run past the block (its body is 130 B: two varint bytes).
      const view = indexRaw(stored, small.length);
      const last = view.wireAt(small.length - 1);
      for (const grow of [1, 50, 0x3f00]) {
        const bad = stored.slice();
        const length = (bad[last + 1]! & 0x7f) | (bad[last + 2]! << 7);
        bad[last + 1] = ((length + grow) & 0x7f) | 0x80;
        bad[last + 2] = (length + grow) >> 7;
        expect(() => indexRaw(bad, small.length), `length + ${grow}`).toThrow(CorruptDataError);
      }
    });
  }

  it('an expiry table entry whose has-expiry byte is neither 0 nor 1 is refused', () => {
    const { stored } = cases[0][1];
    const table = stored.length - 9 * small.length;
    for (const [i, value] of [
      [0, 2],
      [1, 0x81],
      [3, 0xff],
    ] as const) {
      const bad = stored.slice();
      bad[table + 9 * i] = value;
      expect(() => indexRaw(bad, small.length), `record ${i}`).toThrow(
        new RegExp(`expiry flag ${value} of record ${i}`),
      );
    }
    expect(indexRaw(stored, small.length).count).toBe(small.length);
  });
});
