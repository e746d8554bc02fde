/**
 * The checksum of every stored format is zlib's CRC-32 whichever implementation computes it: the
 * SIMD one for large inputs must give zlib's value for every length around the switch, for views
 * at odd offsets (also of shared memory, as the WAL ring and segment scratch are), and when
 * continuing from an earlier CRC; otherwise data written before would read as corrupt.
 */
import { randomBytes } from 'node:crypto';
import { crc32 as zlibCrc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import { crc32 } from '../../src/storage/crc32.js';

describe('crc32', () => {
  const data = randomBytes(70_000);

  it('equals zlib for every length around the switch and for large inputs', () => {
    const lengths = [0, 1, 7, 255, 256, 1000, 1023, 1024, 1025, 4096, 65_536 + 13, 69_999];
    for (const length of lengths) {
      const bytes = data.subarray(3, 3 + length);
      expect(crc32(bytes), `length ${length}`).toBe(zlibCrc32(bytes) >>> 0);
    }
  });

  it('equals zlib on views of shared memory and when continuing from an earlier CRC', () => {
    const shared = new Uint8Array(new SharedArrayBuffer(data.length + 8), 5, data.length);
    shared.set(data);
    expect(crc32(shared)).toBe(zlibCrc32(data) >>> 0);
    for (const split of [0, 100, 2048, 50_000]) {
      const first = crc32(shared.subarray(0, split));
      expect(crc32(shared.subarray(split), first), `split ${split}`).toBe(zlibCrc32(data) >>> 0);
      expect(crc32(data.subarray(0, 10), first)).toBe(zlibCrc32(data.subarray(0, 10), first) >>> 0);
    }
  });
});
