/**
 * CRC-32 (the IEEE polynomial, as zlib computes it) of every stored format: WAL frames, framed
 * objects, segment blocks and footers (docs/formats.md). Inputs of `simdBytesMin` or more go to
 * @node-rs/crc32 (carry-less multiply, PCLMULQDQ): zlib's table-driven crc32 took 29 us per 64 KiB
 * here against 10, and a 64 KiB record is checksummed twice on its way in (its WAL frame, its
 * segment block): 11% of the main thread in a W5/large profile (issue 14). Smaller inputs stay on
 * zlib, whose call costs less than a native-addon call (crossover measured between 256 B and 1 KiB).
 */
import { crc32 as simdCrc32 } from '@node-rs/crc32';
import { crc32 as zlibCrc32 } from 'node:zlib';

const simdBytesMin = 1024;

/** The CRC-32 of `bytes`, continuing from `initial` (the CRC of the bytes before them). */
export function crc32(bytes: Uint8Array, initial = 0): number {
  return (bytes.length >= simdBytesMin ? simdCrc32(bytes, initial) : zlibCrc32(bytes, initial)) >>> 0;
}
