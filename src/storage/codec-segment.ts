/**
 * Segment objects (`segment/<stream>/<first seq>-<epoch>-<random>`): the records of one stream
 * over a seq_num range, written by a checkpoint and never modified.
 *
 *   header   magic "S2LS", version u16, reserved u16
 *   blocks   each ~blockBytes of records, optionally zstd, CRC32 in the footer; since version 2
 *            the records are in the protobuf wire layout of a read response (block-view.ts)
 *   footer   stream id, epoch, block index [(offset, lengths, crc, counts, first/last seq and
 *            timestamp, max expiry)]
 *   trailer  footer offset u64, footer length u32, footer crc u32, version u16, flags u16, "S2LT"
 *
 * Readers fetch the footer (its offset is also in the manifest) and then single blocks with
 * ranged GETs. Layout details: docs/formats.md.
 */
import { assert } from '../util/assert.js';
import type { StreamId } from './types.js';
import type { SequencedRecord } from '../domain/types.js';
import { ByteReader, ByteWriter, CorruptDataError, maxSafeBig, varintBigBytes, varintBytes } from './binary.js';
import { BlockView } from './block-view.js';
import { checksum, CompressionProbe, flagZstd, maybeCompress } from './framing.js';

export const segmentMagic = 'S2LS';
const trailerMagic = 'S2LT';
/**
 * 2: records in blocks are in the protobuf `SequencedRecord` wire layout a read response sends
 * (docs/formats.md); 1: fixed-width fields and u32 lengths. Both are read.
 */
export const segmentFormatVersion = 2;
const readableVersions = new Set([1, 2]);
/** Block flag (format 2): a table of per-record expiries follows the records. */
export const blockFlagExpiry = 1;
const headerBytes = 8;
export const segmentTrailerBytes = 24;

/** A record as stored after its commit: retention is fixed at write time. */
export interface StoredRecord {
  record: SequencedRecord;
  /** Wall time (ms) after which the record is invisible; null = never. */
  expiresAtMs: number | null;
}

export interface BlockInfo {
  /** The segment's format version, which decides the block's record layout. */
  format: number;
  offset: number;
  storedLength: number;
  rawLength: number;
  compressed: boolean;
  crc: number;
  recordCount: number;
  firstSeqNum: number;
  lastSeqNum: number;
  firstTimestamp: bigint;
  lastTimestamp: bigint;
  /** Latest expiry of the block's records; null if any never expires. */
  maxExpiresAtMs: number | null;
}

export interface SegmentFooter {
  stream: StreamId;
  epoch: number;
  blocks: BlockInfo[];
}

/** What the manifest keeps about a segment (plus its key). */
export interface SegmentSummary {
  firstSeqNum: number;
  lastSeqNum: number;
  firstTimestamp: bigint;
  lastTimestamp: bigint;
  recordCount: number;
  size: number;
  footerOffset: number;
  maxExpiresAtMs: number | null;
}

export interface SegmentOptions {
  blockBytes: number;
  compressMinBytes: number;
}

/**
 * A buffer reused from one segment encoding to the next (checkpoints encode one segment at a
 * time): fresh large buffers cost page faults on first touch (~3.5 ms per MiB on this kind of VM)
 * and external-memory GC pressure. With a scratch, the result's bytes are a view of it, valid
 * until the next encoding with the same scratch.
 */
export interface SegmentScratch {
  buffer?: Uint8Array;
  /**
   * Allocates the scratch when it is missing or too small (default: the writer's own buffer). The
   * local-filesystem store passes bodies in a SharedArrayBuffer to its writer thread without a copy.
   */
  allocate?: (bytes: number) => Uint8Array;
}

export interface EncodedSegment {
  bytes: Uint8Array;
  summary: SegmentSummary;
}

export function encodeSegment(
  stream: StreamId,
  epoch: number,
  records: StoredRecord[],
  options: SegmentOptions,
): EncodedSegment {
  const steps = encodeSegmentSteps(stream, epoch, records, options);
  for (;;) {
    const step = steps.next();
    if (step.done) return step.value;
  }
}

/**
 * `encodeSegment` one block at a time: yields after each block (the value: about how many bytes of
 * work that step was), so a caller on the event loop (checkpoints) can let other work run between
 * blocks. Encoding a 32 MiB segment in one go
 * stalled appends and reads for tens of milliseconds (p99 spikes in the benchmarks).
 */
export function* encodeSegmentSteps(
  stream: StreamId,
  epoch: number,
  records: StoredRecord[],
  options: SegmentOptions,
  scratch?: SegmentScratch,
): Generator<number, EncodedSegment, void> {
  assert(records.length > 0, 'a segment holds at least one record');
  // Sized for the uncompressed records up front: growing by doubling copied a 32 MiB segment ~5 times.
  const estimate = yield* segmentBytesBound(records, options.blockBytes);
  if (scratch?.allocate && (scratch.buffer?.length ?? 0) < estimate) scratch.buffer = scratch.allocate(estimate);
  const out = new ByteWriter(estimate, scratch?.buffer);
  if (scratch) scratch.buffer = out.backing;
  out.raw(Buffer.from(segmentMagic, 'latin1')).u16(segmentFormatVersion).u16(0);
  const blocks: BlockInfo[] = [];
  const probe = new CompressionProbe(options.compressMinBytes, Infinity);
  let start = 0;
  while (start < records.length) {
    // Each block is written straight into the segment, then replaced by its zstd frame if that is
    // smaller: a block assembled apart and copied in cost a second copy of every body (the largest
    // CPU cost of checkpoints of 64 KiB records, issue 14). `out` was sized for the raw blocks.
    out.zeros(alignmentPad(out, records[start]));
    const blockStart = out.size;
    out.u32(0).u8(0);
    let end = start;
    let expiring = false;
    // Always at least one record per block, then stop once the block reaches its target size.
    while (end < records.length && (end === start || out.size - blockStart < options.blockBytes)) {
      writeWireRecord(out, records[end].record);
      expiring ||= records[end].expiresAtMs !== null;
      end++;
    }
    out.patchU32(blockStart, end - start);
    if (expiring) {
      out.patchU8(blockStart + 4, blockFlagExpiry);
      for (let i = start; i < end; i++) {
        const expiry = records[i].expiresAtMs;
        out.u8(expiry === null ? 0 : 1).u64(expiry ?? 0);
      }
    }
    const raw = out.writtenSince(blockStart);
    const rawLength = raw.length;
    const threshold = probe.threshold();
    const packed = maybeCompress(raw, threshold);
    probe.record(threshold, rawLength, packed.compressed);
    if (packed.compressed) {
      out.truncate(blockStart); // the zstd frame is a buffer of its own, and shorter: no overlap
      out.raw(packed.stored);
    }
    const stored = out.writtenSince(blockStart);
    blocks.push(blockInfo(records.slice(start, end), blockStart, stored, rawLength, packed.compressed));
    start = end;
    yield rawLength;
  }
  const footerOffset = out.size;
  const footer = encodeFooter({ stream, epoch, blocks });
  out.raw(footer);
  out.u64(footerOffset).u32(footer.length).u32(checksum(footer)).u16(segmentFormatVersion).u16(0);
  out.raw(Buffer.from(trailerMagic, 'latin1'));
  // No copy: the writer was sized for the segment, and a fresh copy costs page faults per MiB.
  const bytes = out.finish();
  if (scratch) scratch.buffer = out.backing;
  const last = records[records.length - 1].record;
  const summary: SegmentSummary = {
    firstSeqNum: records[0].record.seqNum,
    lastSeqNum: last.seqNum,
    firstTimestamp: records[0].record.timestamp,
    lastTimestamp: last.timestamp,
    recordCount: records.length,
    size: bytes.length,
    footerOffset,
    maxExpiresAtMs: maxExpiry(blocks.map((b) => b.maxExpiresAtMs)),
  };
  return { bytes, summary };
}

/**
 * An upper bound of the encoded size when no block compresses: per record its payload and at most
 * 64 bytes of fields and prefixes; per block (each but the last holds at least `blockBytes`) a count
 * and a footer entry; header, stream id and trailer.
 */
function* segmentBytesBound(records: StoredRecord[], blockBytes: number): Generator<number, number, void> {
  let bytes = 0;
  for (let i = 0; i < records.length; i++) {
    const { record } = records[i];
    bytes += record.body.length + 64;
    for (const [name, value] of record.headers) bytes += name.length + value.length + 18;
    if (i % 4096 === 4095) yield 4096 * 64; // a pass over many small records: let the caller yield
  }
  const blocks = Math.min(records.length, Math.floor(bytes / blockBytes) + 1);
  return bytes + blocks * 96 + 2048;
}

/** Bodies below this are not worth a gap before their block (as in the log's ring, wal/parts.ts). */
const alignBytesMin = 4096;

/**
 * Zero bytes (0-7) to leave before a block whose first record has a large body, so that the body
 * lands at the same address mod 8 as its source: V8 copies into shared memory (the local store's
 * scratch) byte by byte when source and target differ mod 8, 3-5x slower than aligned (measured
 * 150-210 against 30-80 us per 64 KiB here). Readers locate blocks by the footer's offsets.
 */
function alignmentPad(out: ByteWriter, first: StoredRecord): number {
  const { body } = first.record;
  if (body.length < alignBytesMin) return 0;
  // count, flags, record tag and length, fields before the body, body tag and length
  const fields = wireRecordSize(first.record);
  const prefix = 4 + 1 + 1 + varintBytes(fields) + fields - body.length;
  const at = out.address(out.size + prefix);
  return (((body.byteOffset - at) % 8) + 8) % 8;
}

function maxExpiry(values: (number | null)[]): number | null {
  let max = 0;
  for (const value of values) {
    if (value === null) return null;
    max = Math.max(max, value);
  }
  return max;
}

function blockInfo(
  records: StoredRecord[],
  offset: number,
  stored: Uint8Array,
  rawLength: number,
  compressed: boolean,
): BlockInfo {
  const first = records[0].record;
  const last = records[records.length - 1].record;
  return {
    format: segmentFormatVersion,
    offset,
    storedLength: stored.length,
    rawLength,
    compressed,
    crc: checksum(stored),
    recordCount: records.length,
    firstSeqNum: first.seqNum,
    lastSeqNum: last.seqNum,
    firstTimestamp: first.timestamp,
    lastTimestamp: last.timestamp,
    maxExpiresAtMs: maxExpiry(records.map((r) => r.expiresAtMs)),
  };
}

function headerFieldsSize(name: Uint8Array, value: Uint8Array): number {
  return (
    (name.length ? 1 + varintBytes(name.length) + name.length : 0) +
    (value.length ? 1 + varintBytes(value.length) + value.length : 0)
  );
}

/** Size of a record's `SequencedRecord` fields (proto3: default values omitted). */
function wireRecordSize(record: SequencedRecord): number {
  const { seqNum, timestamp, headers, body } = record;
  let size = seqNum ? 1 + varintBytes(seqNum) : 0;
  if (timestamp) size += 1 + varintBigBytes(timestamp);
  for (let h = 0; h < headers.length; h++) {
    const header = headerFieldsSize(headers[h]![0], headers[h]![1]);
    size += 1 + varintBytes(header) + header;
  }
  return body.length ? size + 1 + varintBytes(body.length) + body.length : size;
}

/**
 * A record as a `ReadBatch.records` entry (format 2): tag 0x0a, length, then `SequencedRecord`
 * fields in field order (seq_num 1, timestamp 2, headers 3 with name 1 and value 2, body 4),
 * exactly as api/codec/proto.ts encodes them, so a response is the block's bytes (api.md 4.7).
 */
function writeWireRecord(out: ByteWriter, record: SequencedRecord): void {
  const { seqNum, timestamp, headers, body } = record;
  // Timestamps are bigints; one comparison and conversion, then number arithmetic (the usual case).
  const safe = timestamp <= maxSafeBig ? Number(timestamp) : -1;
  let size = seqNum ? 1 + varintBytes(seqNum) : 0;
  if (safe !== 0) size += 1 + (safe > 0 ? varintBytes(safe) : varintBigBytes(timestamp));
  for (let h = 0; h < headers.length; h++) {
    const header = headerFieldsSize(headers[h]![0], headers[h]![1]);
    size += 1 + varintBytes(header) + header;
  }
  if (body.length) size += 1 + varintBytes(body.length) + body.length;
  out.fields(0x0a, size, 0x08, seqNum, 0x10, safe > 0 ? safe : 0);
  if (safe < 0) out.u8(0x10).varintBig(timestamp);
  for (let h = 0; h < headers.length; h++) {
    const [name, value] = headers[h]!;
    out.field(0x1a, headerFieldsSize(name, value));
    if (name.length) out.field(0x0a, name.length).raw(name);
    if (value.length) out.field(0x12, value.length).raw(value);
  }
  if (body.length) out.field(0x22, body.length).raw(body);
}

function encodeFooter(footer: SegmentFooter): Uint8Array {
  const writer = new ByteWriter(64 + footer.blocks.length * 80);
  writer.string(footer.stream).u64(footer.epoch).u32(footer.blocks.length);
  for (const block of footer.blocks) {
    writer
      .u64(block.offset)
      .u32(block.storedLength)
      .u32(block.rawLength)
      .u8(block.compressed ? flagZstd : 0);
    writer.u32(block.crc).u32(block.recordCount).u64(block.firstSeqNum).u64(block.lastSeqNum);
    writer.u64Big(block.firstTimestamp).u64Big(block.lastTimestamp);
    writer.u8(block.maxExpiresAtMs === null ? 0 : 1).u64(block.maxExpiresAtMs ?? 0);
  }
  return new Uint8Array(writer.finish());
}

/**
 * Decodes the footer from the bytes [footerOffset, end of object): footer followed by trailer.
 * `footerOffset` (from the manifest) is cross-checked with the trailer.
 */
export function decodeFooter(tail: Uint8Array, footerOffset: number, what: string): SegmentFooter {
  if (tail.length < segmentTrailerBytes) throw new CorruptDataError(`${what}: truncated footer`);
  const trailer = new ByteReader(tail.subarray(tail.length - segmentTrailerBytes), `${what} trailer`);
  const offset = trailer.u64();
  const length = trailer.u32();
  const crc = trailer.u32();
  const version = trailer.u16();
  trailer.u16();
  const magic = Buffer.from(trailer.raw(4)).toString('latin1');
  if (magic !== trailerMagic) throw new CorruptDataError(`${what}: bad trailer magic`);
  if (!readableVersions.has(version)) throw new CorruptDataError(`${what}: unsupported segment version ${version}`);
  if (offset !== footerOffset || length !== tail.length - segmentTrailerBytes) {
    throw new CorruptDataError(`${what}: footer position mismatch`);
  }
  const bytes = tail.subarray(0, length);
  if (checksum(bytes) !== crc) throw new CorruptDataError(`${what}: footer checksum mismatch`);
  const reader = new ByteReader(bytes, `${what} footer`);
  const stream = reader.string();
  const epoch = reader.u64();
  const count = reader.count(66);
  const blocks: BlockInfo[] = [];
  for (let i = 0; i < count; i++) {
    const block: BlockInfo = {
      format: version,
      offset: reader.u64(),
      storedLength: reader.u32(),
      rawLength: reader.u32(),
      compressed: reader.u8() === flagZstd,
      crc: reader.u32(),
      recordCount: reader.u32(),
      firstSeqNum: reader.u64(),
      lastSeqNum: reader.u64(),
      firstTimestamp: reader.u64Big(),
      lastTimestamp: reader.u64Big(),
      maxExpiresAtMs: null,
    };
    const hasExpiry = reader.u8();
    const expiry = reader.u64();
    block.maxExpiresAtMs = hasExpiry ? expiry : null;
    if (block.offset < headerBytes || block.offset + block.storedLength > footerOffset) {
      throw new CorruptDataError(`${what}: block ${i} lies outside the block area`);
    }
    blocks.push(block);
  }
  reader.end();
  return { stream, epoch, blocks };
}

/** Verifies and decodes one block's stored bytes (either format) into record objects. */
export function decodeBlock(stored: Uint8Array, block: BlockInfo, what: string): StoredRecord[] {
  // A copy: the views of the records must not change with `stored` (tests decode reused scratches).
  const view = BlockView.fromStored(new Uint8Array(stored), block, what);
  const records: StoredRecord[] = [];
  for (let i = 0; i < view.count; i++) records.push(view.storedRecord(i));
  return records;
}

/** Decodes a whole segment object (tests, tools). */
export function decodeSegment(bytes: Uint8Array, what = 'segment'): { footer: SegmentFooter; records: StoredRecord[] } {
  const header = new ByteReader(bytes, what);
  if (Buffer.from(header.raw(4)).toString('latin1') !== segmentMagic) throw new CorruptDataError(`${what}: bad magic`);
  const version = header.u16();
  if (!readableVersions.has(version)) throw new CorruptDataError(`${what}: unsupported segment version ${version}`);
  if (bytes.length < headerBytes + segmentTrailerBytes) throw new CorruptDataError(`${what}: truncated`);
  const trailer = new ByteReader(bytes.subarray(bytes.length - segmentTrailerBytes), what);
  const footerOffset = trailer.u64();
  if (footerOffset > bytes.length - segmentTrailerBytes) throw new CorruptDataError(`${what}: bad footer offset`);
  const footer = decodeFooter(bytes.subarray(footerOffset), footerOffset, what);
  if (footer.blocks.some((b) => b.format !== version))
    throw new CorruptDataError(`${what}: header and trailer versions differ`);
  const records = footer.blocks.flatMap((block, i) =>
    decodeBlock(bytes.subarray(block.offset, block.offset + block.storedLength), block, `${what} block ${i}`),
  );
  return { footer, records };
}
