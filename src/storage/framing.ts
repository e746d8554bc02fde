/**
 * The framed-object envelope shared by chunks, manifests and snapshots (docs/formats.md,
 * "Framed objects"): a fixed header with magic, format version, flags and type-specific
 * fields, then a body that may be zstd-compressed, with CRC32s over the header and the
 * stored body so that any flipped or missing byte is detected before it is interpreted.
 */
import { Compressor, Decompressor } from 'zstd-napi';
import { ByteReader, ByteWriter, CorruptDataError } from './binary.js';
import { crc32 } from './crc32.js';

/** Header flag: the body is a zstd frame. */
export const flagZstd = 1;

/**
 * One reused context each: creating a zstd context per call (what zstd-napi's `compress()` does)
 * cost more than compressing a small chunk. zstd level 1: chunks and blocks sit on the write path,
 * so speed beats ratio. Safe to share: calls are synchronous on this thread.
 */
const compressor = new Compressor();
compressor.setParameters({ compressionLevel: 1 });
const decompressor = new Decompressor();

export interface Compressed {
  stored: Uint8Array;
  compressed: boolean;
}

/** Compresses `raw` when it is large enough and compression saves at least 10%. */
export function maybeCompress(raw: Uint8Array, compressMinBytes: number): Compressed {
  if (raw.length < compressMinBytes) return { stored: raw, compressed: false };
  const packed = compressor.compress(raw);
  if (packed.length > raw.length * 0.9) return { stored: raw, compressed: false };
  return { stored: new Uint8Array(packed.buffer, packed.byteOffset, packed.length), compressed: true };
}

/**
 * Stops paying zstd for data that does not compress: after `missesMax` attempts in a row that saved
 * nothing, the next `skip` inputs are stored raw, then compression is tried again (Infinity: never
 * again, for one segment). Compressing incompressible chunks and blocks was 5% of the CPU of
 * batched appends of random bytes, and 120 ms per 64 MiB checkpoint.
 */
export class CompressionProbe {
  private misses = 0;
  private skipping = 0;

  constructor(
    private readonly compressMinBytes: number,
    private readonly skip: number,
    private readonly missesMax = 4,
  ) {}

  /** The threshold to pass to `maybeCompress`/`encodeFrame` for the next input. */
  threshold(): number {
    if (this.skipping > 0) {
      this.skipping--;
      return Infinity;
    }
    return this.compressMinBytes;
  }

  /**
   * The outcome of an input encoded with `threshold()`'s value; `bytes`, its stored size, tells
   * whether an uncompressed input was large enough to have been tried.
   */
  record(threshold: number, bytes: number, compressed: boolean): void {
    if (compressed) this.misses = 0;
    else if (threshold !== Infinity && bytes >= threshold) this.misses++;
    if (this.misses >= this.missesMax) {
      this.misses = 0;
      this.skipping = this.skip;
    }
  }
}

/** Reverses `maybeCompress`; `rawLength` is the length recorded when encoding. */
export function unpack(stored: Uint8Array, compressed: boolean, rawLength: number, what: string): Uint8Array {
  if (!compressed) {
    if (stored.length !== rawLength) throw new CorruptDataError(`${what}: length ${stored.length} != ${rawLength}`);
    return stored;
  }
  let raw: Buffer;
  try {
    raw = decompressor.decompress(stored);
  } catch (error) {
    throw new CorruptDataError(`${what}: zstd decompression failed: ${(error as Error).message}`);
  }
  if (raw.length !== rawLength)
    throw new CorruptDataError(`${what}: decompressed ${raw.length} bytes, expected ${rawLength}`);
  return new Uint8Array(raw.buffer, raw.byteOffset, raw.length);
}

export function checksum(bytes: Uint8Array): number {
  return crc32(bytes);
}

export interface FrameSpec {
  /** Four ASCII characters identifying the object type. */
  magic: string;
  version: number;
  compressMinBytes: number;
}

/** Whether an encoded frame's body is zstd-compressed (the flags field of the layout below). */
export function isCompressedFrame(frame: Uint8Array): boolean {
  return frame.length >= 8 && ((frame[6] | (frame[7] << 8)) & flagZstd) !== 0;
}

/**
 * Layout: magic[4] version:u16 flags:u16 <fields> bodyStored:u32 bodyRaw:u32 bodyCrc:u32
 * headerCrc:u32 body. `writeFields` writes the type-specific fixed fields.
 */
export function encodeFrame(spec: FrameSpec, writeFields: (writer: ByteWriter) => void, body: Uint8Array): Uint8Array {
  const packed = maybeCompress(body, spec.compressMinBytes);
  const writer = new ByteWriter(64 + packed.stored.length);
  writer.raw(Buffer.from(spec.magic, 'latin1'));
  writer.u16(spec.version);
  writer.u16(packed.compressed ? flagZstd : 0);
  writeFields(writer);
  writer.u32(packed.stored.length);
  writer.u32(body.length);
  writer.u32(checksum(packed.stored));
  writer.u32(checksum(writer.finish()));
  writer.raw(packed.stored);
  return writer.finish(); // sized exactly above: no copy
}

export interface DecodedFrame<Fields> {
  version: number;
  fields: Fields;
  /** The uncompressed body. */
  body: Uint8Array;
}

/**
 * Decodes and verifies the header only (enough to learn e.g. a chunk's epoch from a ranged GET).
 * Returns the fields and where the body starts and how long it is.
 */
export function decodeFrameHeader<Fields>(
  data: Uint8Array,
  spec: { magic: string; versions: number[]; what: string },
  readFields: (reader: ByteReader, version: number) => Fields,
): { version: number; flags: number; fields: Fields; bodyOffset: number; stored: number; raw: number; crc: number } {
  const reader = new ByteReader(data, spec.what);
  const magic = Buffer.from(reader.raw(4)).toString('latin1');
  if (magic !== spec.magic) throw new CorruptDataError(`${spec.what}: bad magic ${JSON.stringify(magic)}`);
  const version = reader.u16();
  if (!spec.versions.includes(version)) {
    throw new CorruptDataError(
      `${spec.what}: unsupported format version ${version} (this build reads ${spec.versions})`,
    );
  }
  const flags = reader.u16();
  if ((flags & ~flagZstd) !== 0) throw new CorruptDataError(`${spec.what}: unknown flags ${flags}`);
  const fields = readFields(reader, version);
  const stored = reader.u32();
  const raw = reader.u32();
  const crc = reader.u32();
  const headerEnd = reader.position;
  const headerCrc = reader.u32();
  if (checksum(data.subarray(0, headerEnd)) !== headerCrc) {
    throw new CorruptDataError(`${spec.what}: header checksum mismatch`);
  }
  return { version, flags, fields, bodyOffset: reader.position, stored, raw, crc };
}

export function decodeFrame<Fields>(
  data: Uint8Array,
  spec: { magic: string; versions: number[]; what: string },
  readFields: (reader: ByteReader, version: number) => Fields,
): DecodedFrame<Fields> {
  const header = decodeFrameHeader(data, spec, readFields);
  const storedBody = data.subarray(header.bodyOffset);
  if (storedBody.length !== header.stored) {
    throw new CorruptDataError(`${spec.what}: body is ${storedBody.length} bytes, header says ${header.stored}`);
  }
  if (checksum(storedBody) !== header.crc) throw new CorruptDataError(`${spec.what}: body checksum mismatch`);
  const body = unpack(storedBody, (header.flags & flagZstd) !== 0, header.raw, spec.what);
  return { version: header.version, fields: header.fields, body };
}
