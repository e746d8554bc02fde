/**
 * What the block cache keeps of a fetched block: a block read into memory of its own (followed
 * there by at most the next block's alignment padding, as ObjectStore.getParts returns 8 KiB+
 * records' blocks) is kept without a copy; a block that is a view of a larger run is copied, so
 * a cached block never pins the run. Either way the records read back exactly.
 */
import { describe, expect, it } from 'vitest';
import { BlockView, pinnedSlackBytesMax } from '../../src/storage/block-view.js';
import { decodeFooter, encodeSegment, type StoredRecord } from '../../src/storage/codec-segment.js';

/** A copy in memory of its own (Buffer's `slice` would be a view). */
const copyOf = (bytes: Uint8Array): Uint8Array => Uint8Array.prototype.slice.call(bytes);

function segmentOf(bodyBytes: number, count: number) {
  const stored: StoredRecord[] = Array.from({ length: count }, (_, i) => ({
    record: {
      seqNum: i,
      timestamp: BigInt(1000 + i),
      headers: [],
      body: new Uint8Array(bodyBytes).map((_, k) => (k * 7 + i) & 0xff),
    },
    expiresAtMs: null,
  }));
  // compressMinBytes past every block: blocks stay uncompressed, as incompressible data does.
  const { bytes } = encodeSegment('s', 1, stored, { blockBytes: 3 * bodyBytes, compressMinBytes: 1 << 30 });
  const footerOffset = Number(new DataView(bytes.buffer, bytes.byteOffset).getBigUint64(bytes.length - 24, true));
  return { bytes, stored, blocks: decodeFooter(bytes.subarray(footerOffset), footerOffset, 's').blocks };
}

describe('BlockView.fromStored memory', () => {
  it('keeps a padded 8 KiB-record block read into its own memory, and copies one out of a run', () => {
    const { bytes, stored, blocks } = segmentOf(8192, 12);
    expect(blocks.length).toBeGreaterThan(2);
    // Alignment padding between blocks is what getParts hands back after each block.
    const padded = blocks.slice(0, -1).filter((b, i) => blocks[i + 1]!.offset > b.offset + b.storedLength);
    expect(padded.length).toBeGreaterThan(0);
    let seq = 0;
    for (let i = 0; i < blocks.length; i++) {
      const info = blocks[i]!;
      const partEnd = i + 1 < blocks.length ? blocks[i + 1]!.offset : info.offset + info.storedLength;
      expect(partEnd - info.offset - info.storedLength).toBeLessThanOrEqual(pinnedSlackBytesMax);
      const own = copyOf(bytes.subarray(info.offset, partEnd)).subarray(0, info.storedLength);
      const kept = BlockView.fromStored(own, info, `block ${i}`);
      expect(kept.bytes.buffer).toBe(own.buffer);
      const run = copyOf(bytes).subarray(info.offset, info.offset + info.storedLength);
      const copied = BlockView.fromStored(run, info, `block ${i}`);
      expect(copied.bytes.buffer).not.toBe(run.buffer);
      expect(copied.bytes.buffer.byteLength).toBe(info.storedLength);
      for (let j = 0; j < kept.count; j++, seq++) {
        for (const view of [kept, copied]) {
          const record = view.record(j);
          expect(record.seqNum).toBe(seq);
          expect(Buffer.from(record.body).equals(Buffer.from(stored[seq]!.record.body))).toBe(true);
        }
      }
    }
    expect(seq).toBe(stored.length);
  });
});
