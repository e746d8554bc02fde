/**
 * Segments of format 1 (written before format 2's wire-layout blocks, issue 14) stay readable: a
 * segment written by the format 1 encoder (fixtures/segment-v1.bin, its records written out in
 * fixtures/segment-v1.ts) decodes to the same records, its blocks index with the same metered
 * sizes, and a protobuf ReadBatch built from them is byte-identical to one built from the records;
 * the same records written today (format 2) read back identically.
 */
import { readFileSync } from 'node:fs';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import { encodeReadBatch } from '../../src/api/codec/proto.js';
import { encodeReadBatchList } from '../../src/api/codec/proto-stored.js';
import { RecordList } from '../../src/domain/record-list.js';
import { meteredBytes } from '../../src/domain/types.js';
import { BlockView } from '../../src/storage/block-view.js';
import {
  decodeSegment,
  encodeSegment,
  segmentFormatVersion,
  type StoredRecord,
} from '../../src/storage/codec-segment.js';
import { segmentV1Options, segmentV1Records } from './fixtures/segment-v1.js';

const fixture = new Uint8Array(
  readFileSync(join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'segment-v1.bin')),
);

/** Bytes as hex and bigints as strings, so Buffer and Uint8Array views compare by content. */
const plain = (records: StoredRecord[]) =>
  records.map((r) =>
    JSON.stringify(r, (_k, v: unknown) =>
      typeof v === 'bigint' ? `${v}n` : v instanceof Uint8Array ? Buffer.from(v).toString('hex') : v,
    ),
  );

function views(bytes: Uint8Array): BlockView[] {
  const { footer } = decodeSegment(bytes);
  return footer.blocks.map((info, i) =>
    BlockView.fromStored(bytes.slice(info.offset, info.offset + info.storedLength), info, `block ${i}`),
  );
}

function readBatchOf(blocks: BlockView[]): Buffer {
  const list = new RecordList();
  for (const block of blocks) for (let i = 0; i < block.count; i++) list.pushStored(block, i, block.metered(i));
  return Buffer.from(encodeReadBatchList(list));
}

describe('segment format 1', () => {
  const expected = segmentV1Records();

  it('is what the fixture holds: version 1, compressed and plain blocks', () => {
    expect(new DataView(fixture.buffer).getUint16(4, true)).toBe(1);
    const { footer } = decodeSegment(fixture);
    expect(footer.stream).toBe('stream/v1');
    expect(footer.blocks.every((b) => b.format === 1)).toBe(true);
    expect(footer.blocks.some((b) => b.compressed)).toBe(true);
    expect(footer.blocks.some((b) => !b.compressed)).toBe(true);
  });

  it('decodes to the records it was written from', () => {
    expect(plain(decodeSegment(fixture).records)).toEqual(plain(expected));
  });

  it('indexes into blocks whose records, metered sizes and ReadBatch match the records', () => {
    const blocks = views(fixture);
    expect(blocks.every((b) => b.wireAt(0) === -1)).toBe(true);
    const records = blocks.flatMap((b) => Array.from({ length: b.count }, (_, i) => b.storedRecord(i)));
    expect(plain(records)).toEqual(plain(expected));
    const metered = blocks.flatMap((b) => Array.from({ length: b.count }, (_, i) => b.metered(i)));
    expect(metered).toEqual(expected.map((r) => meteredBytes(r.record)));
    expect(readBatchOf(blocks).equals(Buffer.from(encodeReadBatch({ records: expected.map((r) => r.record) })))).toBe(
      true,
    );
  });

  it('reads back the same as the same records written today (format 2)', () => {
    const { bytes } = encodeSegment('stream/v1', 7, expected, segmentV1Options);
    expect(new DataView(bytes.buffer, bytes.byteOffset).getUint16(4, true)).toBe(segmentFormatVersion);
    expect(segmentFormatVersion).toBe(2);
    const today = views(bytes);
    expect(today.every((b) => b.wireAt(0) >= 0)).toBe(true);
    expect(plain(decodeSegment(bytes).records)).toEqual(plain(expected));
    const expiries = today.flatMap((b) => Array.from({ length: b.count }, (_, i) => b.expiresAtMs(i)));
    expect(expiries).toEqual(expected.map((r) => r.expiresAtMs));
    expect(readBatchOf(today).equals(readBatchOf(views(fixture)))).toBe(true);
  });

  it('format 2 keeps seq_nums and timestamps at their limits', () => {
    const limits = [0n, 1n, 127n, 128n, 2n ** 53n - 1n, 2n ** 53n, 2n ** 64n - 1n];
    const records: StoredRecord[] = limits.map((timestamp, i) => ({
      record: {
        seqNum: Number.MAX_SAFE_INTEGER - limits.length + i,
        timestamp,
        headers: [],
        body: new Uint8Array([i]),
      },
      expiresAtMs: null,
    }));
    const { bytes } = encodeSegment('limits', 1, records, segmentV1Options);
    expect(plain(decodeSegment(bytes).records)).toEqual(plain(records));
    expect(
      readBatchOf(views(bytes)).equals(Buffer.from(encodeReadBatch({ records: records.map((r) => r.record) }))),
    ).toBe(true);
  });
});
