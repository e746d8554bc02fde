/**
 * The write-ahead log's byte layout: frames and file headers round-trip, CRC32 is the IEEE
 * polynomial (checked against its published check value), and a frame is recognised only when
 * every byte is intact and it names its own file (seq and salt).
 */
import { crc32 } from 'node:zlib';
import { describe, expect, it } from 'vitest';
import {
  crcOf,
  decodeFileHeader,
  decodeFrameAt,
  encodeFileHeader,
  encodeFrame,
  fileHeaderBytes,
  fileIdentity,
  frameHeaderBytes,
  frameSpan,
  UnsupportedVersionError,
} from '../../../src/storage/wal/format.js';

const salt = '0123456789abcdef';

function frameBytes(
  body: Uint8Array,
  fields: { chunkId: number; epoch?: number; opening?: boolean; syncedThrough?: number },
  seq = 7,
) {
  const out = new Uint8Array(frameSpan(body.length)).fill(0xee);
  out.set(body, frameHeaderBytes);
  encodeFrame(out, fileIdentity(seq, salt), {
    opening: fields.opening ?? false,
    bodyLength: body.length,
    epoch: fields.epoch ?? 3,
    chunkId: fields.chunkId,
    syncedThrough: fields.syncedThrough ?? fields.chunkId - 1,
  });
  return out;
}

describe('CRC32', () => {
  it('is the IEEE polynomial: the published check value of "123456789" is 0xCBF43926', () => {
    expect(crcOf(Buffer.from('123456789'))).toBe(0xcbf43926);
    expect(crc32('')).toBe(0);
  });
});

describe('frames', () => {
  it('round-trip every field, with the padding zeroed', () => {
    for (const length of [0, 1, 7, 8, 9, 1000]) {
      const body = Buffer.alloc(length, 0x5a);
      const bytes = frameBytes(body, {
        chunkId: 2 ** 40 + 5,
        epoch: 2 ** 33,
        opening: length === 0,
        syncedThrough: 17,
      });
      expect(bytes.length % 8).toBe(0);
      const frame = decodeFrameAt(bytes, 0, fileIdentity(7, salt));
      expect(frame).toEqual({
        opening: length === 0,
        bodyLength: length,
        bodyCrc: crcOf(body),
        epoch: 2 ** 33,
        chunkId: 2 ** 40 + 5,
        syncedThrough: 17,
      });
      expect([...bytes.subarray(frameHeaderBytes + length)].every((b) => b === 0)).toBe(true);
    }
  });

  it('is not recognised in another file (seq or salt) or with any byte changed', () => {
    const bytes = frameBytes(Buffer.from('some commit bytes'), { chunkId: 9 });
    expect(decodeFrameAt(bytes, 0, fileIdentity(8, salt))).toBeNull();
    expect(decodeFrameAt(bytes, 0, fileIdentity(7, 'fedcba9876543210'))).toBeNull();
    const used = frameHeaderBytes + 'some commit bytes'.length;
    for (let i = 0; i < used; i++) {
      const damaged = Uint8Array.from(bytes);
      damaged[i] ^= 0x10;
      expect(decodeFrameAt(damaged, 0, fileIdentity(7, salt)), `byte ${i}`).toBeNull();
    }
  });

  it('is not recognised when cut short or absent', () => {
    const bytes = frameBytes(Buffer.alloc(100, 1), { chunkId: 1 });
    for (const cut of [0, 10, frameHeaderBytes - 1, frameHeaderBytes, frameHeaderBytes + 99]) {
      expect(decodeFrameAt(bytes.subarray(0, cut), 0, fileIdentity(7, salt))).toBeNull();
    }
    expect(decodeFrameAt(new Uint8Array(256), 0, fileIdentity(7, salt))).toBeNull();
  });
});

describe('file headers', () => {
  it('round-trip, and an intact header of another version is refused, not ignored', () => {
    const bytes = new Uint8Array(fileHeaderBytes);
    const header = { seq: 12, salt, epoch: 4, firstChunkId: 99, fileBytes: 64 * 1024 * 1024 };
    encodeFileHeader(bytes, header);
    expect(decodeFileHeader(bytes)).toEqual(header);
    const damaged = Uint8Array.from(bytes);
    damaged[30] ^= 1;
    expect(decodeFileHeader(damaged)).toBeNull();
    expect(decodeFileHeader(new Uint8Array(fileHeaderBytes))).toBeNull();
    const newer = Uint8Array.from(bytes);
    newer[4] = 2;
    new DataView(newer.buffer).setUint32(60, crcOf(newer.subarray(0, 60)), true);
    expect(() => decodeFileHeader(newer)).toThrow(UnsupportedVersionError);
  });
});
