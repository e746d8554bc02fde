/**
 * Byte layout of the write-ahead log (docs/formats.md, "Write-ahead log (local disk)").
 *
 * A log file is preallocated at `fileBytes` and starts with a 64-byte file header; frames follow
 * back to back, each 8-byte aligned:
 *
 *   file header                              frame header
 *   0   4  magic "S2WL"                      0   4  magic "S2WF"
 *   4   2  version (1)                       4   2  version (1)
 *   6   2  flags (0)                         6   2  flags: bit 0 = opening frame (a writer's first)
 *   8   8  file seq                          8   4  body length
 *   16  8  file salt                         12  4  CRC32 of the body
 *   24  8  writer epoch                      16  8  file seq
 *   32  8  first chunk id                    24  8  file salt
 *   40  8  file bytes                        32  8  writer epoch
 *   48  12 reserved (0)                      40  8  chunk id
 *   60  4  CRC32 of bytes [0, 60)            48  8  synced-through chunk id
 *                                            56  4  reserved (0)
 *                                            60  4  CRC32 of bytes [0, 60)
 *                                            64     body, zero-padded to a multiple of 8
 *
 * Every frame repeats the file's seq and salt: a frame left from an earlier use of a recycled file,
 * or bytes inside a record body that happen to look like a frame, never match both. The
 * synced-through chunk id is the last chunk a completed fdatasync covered when the frame was
 * written; recovery uses it to tell a torn tail (never acknowledged) from damaged data that a
 * later sync proves was durable (reader.ts).
 */
import { crc32 } from '../crc32.js';

/** An intact header of a format version this build does not know. */
export class UnsupportedVersionError extends Error {
  override name = 'UnsupportedVersionError';
  constructor(readonly version: number) {
    super(`unsupported write-ahead log format version ${version}`);
  }
}

export const fileMagic = 0x4c573253; // "S2WL" read as a little-endian u32
export const frameMagic = 0x46573253; // "S2WF"
export const walVersion = 1;
export const fileHeaderBytes = 64;
export const frameHeaderBytes = 64;
export const frameAlign = 8;
export const frameFlagOpening = 1;

/** Ids, epochs and seqs are stored as u64 but must be safe integers (as in every other format). */
const safeMax = Number.MAX_SAFE_INTEGER;

export interface FileHeader {
  seq: number;
  /** 8 random bytes, as a hex string (compared, never computed with). */
  salt: string;
  epoch: number;
  firstChunkId: number;
  fileBytes: number;
}

export interface FrameHeader {
  opening: boolean;
  bodyLength: number;
  bodyCrc: number;
  epoch: number;
  chunkId: number;
  syncedThrough: number;
}

/** Bytes a frame with this body occupies in a file, padding included. */
export function frameSpan(bodyLength: number): number {
  return alignUp(frameHeaderBytes + bodyLength);
}

export function alignUp(n: number): number {
  return Math.ceil(n / frameAlign) * frameAlign;
}

export function crcOf(bytes: Uint8Array, initial = 0): number {
  return crc32(bytes, initial);
}

function view(bytes: Uint8Array): DataView {
  return new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

function setU64(dv: DataView, at: number, value: number): void {
  dv.setUint32(at, value % 2 ** 32, true);
  dv.setUint32(at + 4, Math.floor(value / 2 ** 32), true);
}

function getU64(dv: DataView, at: number): number {
  const value = dv.getUint32(at + 4, true) * 2 ** 32 + dv.getUint32(at, true);
  return value <= safeMax ? value : -1;
}

/**
 * Bytes 16..32 of a frame header (file seq and salt), the same for every frame of a file:
 * computed once per file and copied, so encoding a frame does no string or bigint work.
 */
export function fileIdentity(seq: number, salt: string): Uint8Array {
  const out = new Uint8Array(16);
  setU64(view(out), 0, seq);
  out.set(Buffer.from(salt, 'hex'), 8);
  return out;
}

function getSalt(bytes: Uint8Array, at: number): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset + at, 8).toString('hex');
}

export function encodeFileHeader(out: Uint8Array, header: FileHeader): void {
  const dv = view(out);
  out.fill(0, 0, fileHeaderBytes);
  dv.setUint32(0, fileMagic, true);
  dv.setUint16(4, walVersion, true);
  out.set(fileIdentity(header.seq, header.salt), 8);
  setU64(dv, 24, header.epoch);
  setU64(dv, 32, header.firstChunkId);
  setU64(dv, 40, header.fileBytes);
  dv.setUint32(60, crcOf(out.subarray(0, 60)), true);
}

/**
 * The file header, or null if these bytes are not an intact header. An intact header of another
 * format version throws: a newer build wrote it, and guessing would lose its data.
 */
export function decodeFileHeader(bytes: Uint8Array): FileHeader | null {
  if (bytes.length < fileHeaderBytes) return null;
  const dv = view(bytes);
  if (dv.getUint32(0, true) !== fileMagic) return null;
  if (dv.getUint32(60, true) !== crcOf(bytes.subarray(0, 60))) return null;
  const version = dv.getUint16(4, true);
  if (version !== walVersion) throw new UnsupportedVersionError(version);
  if (dv.getUint16(6, true) !== 0) return null;
  const header = {
    seq: getU64(dv, 8),
    salt: getSalt(bytes, 16),
    epoch: getU64(dv, 24),
    firstChunkId: getU64(dv, 32),
    fileBytes: getU64(dv, 40),
  };
  if (header.seq < 0 || header.epoch < 0 || header.firstChunkId < 0 || header.fileBytes < 0) return null;
  return header;
}

/**
 * Writes a frame header at the start of `out`; the body must already be in place right after it
 * (the body CRC is computed here, over `out[64, 64 + bodyLength)`), and the padding is zeroed.
 */
export function encodeFrame(out: Uint8Array, identity: Uint8Array, frame: Omit<FrameHeader, 'bodyCrc'>): void {
  const dv = view(out);
  const end = frameHeaderBytes + frame.bodyLength;
  out.fill(0, end, alignUp(end));
  dv.setUint32(0, frameMagic, true);
  dv.setUint16(4, walVersion, true);
  dv.setUint16(6, frame.opening ? frameFlagOpening : 0, true);
  dv.setUint32(8, frame.bodyLength, true);
  dv.setUint32(12, crcOf(out.subarray(frameHeaderBytes, end)), true);
  out.set(identity, 16);
  setU64(dv, 32, frame.epoch);
  setU64(dv, 40, frame.chunkId);
  setU64(dv, 48, frame.syncedThrough);
  dv.setUint32(56, 0, true);
  dv.setUint32(60, crcOf(out.subarray(0, 60)), true);
}

/**
 * The frame at `at` if it is a complete, intact frame of the file whose `fileIdentity` is given;
 * otherwise null (zeros, a torn write, damage, a frame of an earlier use of the file, or the end
 * of the buffer).
 */
export function decodeFrameAt(bytes: Uint8Array, at: number, identity: Uint8Array): FrameHeader | null {
  if (at + frameHeaderBytes > bytes.length) return null;
  const dv = new DataView(bytes.buffer, bytes.byteOffset + at, frameHeaderBytes);
  if (dv.getUint32(0, true) !== frameMagic) return null;
  // Identity before CRC: recycled files are full of intact frames of their earlier use.
  for (let i = 0; i < 16; i++) if (bytes[at + 16 + i] !== identity[i]) return null;
  if (dv.getUint32(60, true) !== crcOf(bytes.subarray(at, at + 60))) return null;
  // The file header's version decides the format (a newer one throws there); a frame of another
  // version inside a version-1 file is damage, not a newer format.
  const flags = dv.getUint16(6, true);
  if (dv.getUint16(4, true) !== walVersion || (flags & ~frameFlagOpening) !== 0) return null;
  const bodyLength = dv.getUint32(8, true);
  const bodyEnd = at + frameHeaderBytes + bodyLength;
  if (bodyEnd > bytes.length) return null;
  const frame: FrameHeader = {
    opening: (flags & frameFlagOpening) !== 0,
    bodyLength,
    bodyCrc: dv.getUint32(12, true),
    epoch: getU64(dv, 32),
    chunkId: getU64(dv, 40),
    syncedThrough: getU64(dv, 48),
  };
  if (frame.epoch < 1 || frame.chunkId < 1 || frame.syncedThrough < 0) return null;
  if (frame.bodyCrc !== crcOf(bytes.subarray(at + frameHeaderBytes, bodyEnd))) return null;
  return frame;
}
