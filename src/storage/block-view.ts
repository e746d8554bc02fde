/**
 * A segment block as the block cache keeps it: the block's raw bytes and an index of where each
 * record lies (typed arrays, no object per record). Reads walk the index; a protobuf response is
 * assembled from the bytes (api/codec/proto-stored.ts), and `record(i)` builds a record object only
 * for the readers that need one (JSON, SSE). Decoding each block into objects was 15-18% of a cold
 * catch-up read's CPU, and their GC another 15% (docs/benchmarks.md, "W8: where catch-up time goes").
 *
 * Raw block layouts (docs/formats.md). Format 2: u32 record count, u8 flags, the records as
 * `ReadBatch.records` entries (tag 0x0a, varint length, protobuf `SequencedRecord`), then, with
 * flag 1, a table of (u8 has expiry, u64 expiry ms) per record. A protobuf response copies a run
 * of records as one slice (`wireAt`), with no per-record encoding (issue 14 T8/T12).
 * Format 1: u32 record count, then per record u64 seq_num, u64 timestamp, u8 has-expiry,
 * [u64 expiry ms], u32 header count, headers (name, value: u32 length + bytes each), u32 body
 * length + body; all little-endian.
 */
import type { RecordBlock } from '../domain/record-list.js';
import type { Header, SequencedRecord } from '../domain/types.js';
import { CorruptDataError } from './binary.js';
import { blockFlagExpiry, type BlockInfo, type StoredRecord } from './codec-segment.js';
import { checksum, unpack } from './framing.js';
import { IndexArrays, sealedSize, u64 } from './block-index.js';
import type { BlockMemory } from './block-pool.js';
import { assert } from '../util/assert.js';

/** Bytes of a block's buffer beyond the block itself that the cache may keep with it (padding). */
export const pinnedSlackBytesMax = 64;

export class BlockView implements RecordBlock {
  private readonly view: DataView;
  /** Set by the segment cache when `bytes` is pooled memory (block-pool.ts): pins count there. */
  memory: BlockMemory | undefined;

  private constructor(
    readonly bytes: Uint8Array,
    readonly count: number,
    /** Format 1: where each record starts; format 2: also the end (`at[count]`). */
    private readonly at: Int32Array,
    private readonly seqNums: Float64Array,
    /** Expiry in wall ms, -1 = never; absent when no record of the block expires. */
    private readonly expiry: Float64Array | undefined,
    private readonly headersOffset: Int32Array,
    private readonly bodyOffset: Int32Array,
    private readonly meteredSizes: Int32Array,
    /** Format 2: offset of the timestamp varint, -1 when absent (0); empty for format 1. */
    private readonly timestampOffset?: Int32Array,
    /** Format 2: body lengths. */
    private readonly bodyLengths?: Int32Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /**
   * Verifies a stored block (CRC) and indexes it. `stored` must not change afterwards (a whole
   * buffer is kept, not copied). `shared`: `stored` is a view of memory the object store keeps
   * anyway (ObjectStore.partsShareMemory), kept as it is however large that memory is; or pooled
   * block memory (block-pool.ts), whose slack the cache accounts.
   */
  static fromStored(stored: Uint8Array, info: BlockInfo, what: string, shared = false): BlockView {
    if (stored.length !== info.storedLength || checksum(stored) !== info.crc) {
      throw new CorruptDataError(`${what}: block checksum mismatch`);
    }
    const unpacked = unpack(stored, info.compressed, info.rawLength, what);
    // An uncompressed block that is a view of a larger buffer (a read-ahead run of several blocks)
    // is copied: the cache accounts for this block's bytes, and a view would pin the whole run for
    // as long as any one of its blocks stays cached (up to 16x what is accounted). A block read in
    // memory of its own (ObjectStore.getParts) may be followed there by the next block's alignment
    // padding (at most 7 bytes, codec-segment.ts): kept as it is, not copied for those few bytes.
    // Nor is a view of the memory store's own memory: the store holds that memory anyway.
    const raw =
      (shared && unpacked === stored) || unpacked.buffer.byteLength - unpacked.byteLength <= pinnedSlackBytesMax
        ? unpacked
        : Uint8Array.prototype.slice.call(unpacked);
    const view = info.format >= 2 ? BlockView.indexWire(raw, what) : BlockView.index(raw, what);
    if (view.count !== info.recordCount) throw new CorruptDataError(`${what}: record count mismatch`);
    return view;
  }

  /** Indexes raw format 1 block bytes, checking every length against the block's end. */
  static index(raw: Uint8Array, what: string): BlockView {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const end = raw.length;
    const need = (pos: number, n: number) => {
      if (pos + n > end) throw new CorruptDataError(`${what}: truncated record at offset ${pos}`);
    };
    need(0, 4);
    const count = dv.getUint32(0, true);
    if (count * 25 > end - 4) throw new CorruptDataError(`${what}: count ${count} exceeds the block`);
    const arrays = new IndexArrays(count, 2, 4);
    const [seqNums, expiry] = [arrays.f64(), arrays.f64()];
    const [at, headersOffset, bodyOffset, metered] = [arrays.i32(), arrays.i32(), arrays.i32(), arrays.i32()];
    let pos = 4;
    for (let i = 0; i < count; i++) {
      need(pos, 21);
      at[i] = pos;
      seqNums[i] = u64(dv, pos, what);
      pos += 16;
      const hasExpiry = raw[pos++];
      if (hasExpiry) {
        need(pos, 8);
        expiry[i] = u64(dv, pos, what);
        pos += 8;
      } else expiry[i] = -1;
      need(pos, 4);
      const headerCount = dv.getUint32(pos, true);
      pos += 4;
      headersOffset[i] = pos;
      let size = 8 + 2 * headerCount;
      for (let h = 0; h < 2 * headerCount; h++) {
        need(pos, 4);
        const length = dv.getUint32(pos, true);
        need(pos + 4, length);
        size += length;
        pos += 4 + length;
      }
      need(pos, 4);
      const bodyLength = dv.getUint32(pos, true);
      need(pos + 4, bodyLength);
      bodyOffset[i] = pos + 4;
      pos += 4 + bodyLength;
      const headers = headersOffset[i]!;
      metered[i] =
        headerCount === 1 && dv.getUint32(headers, true) === 0
          ? (sealedSize(raw, dv, headers + 8, dv.getUint32(headers + 4, true), bodyOffset[i]!, bodyLength) ??
            size + bodyLength)
          : size + bodyLength;
    }
    if (pos !== end) throw new CorruptDataError(`${what}: ${end - pos} trailing bytes`);
    return new BlockView(raw, count, at, seqNums, expiry, headersOffset, bodyOffset, metered);
  }

  /**
   * Indexes raw format 2 block bytes. The records are parsed strictly as the encoder writes them
   * (fields in order, no unknown fields), every length checked against its record's end.
   */
  static indexWire(raw: Uint8Array, what: string): BlockView {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const end = raw.length;
    if (end < 5) throw new CorruptDataError(`${what}: truncated block`);
    const count = dv.getUint32(0, true);
    const flags = raw[4]!;
    if ((flags & ~blockFlagExpiry) !== 0) throw new CorruptDataError(`${what}: unknown block flags ${flags}`);
    if (count * 2 > end - 5) throw new CorruptDataError(`${what}: count ${count} exceeds the block`);
    const expiring = (flags & blockFlagExpiry) !== 0;
    const arrays = new IndexArrays(count, expiring ? 2 : 1, 7);
    const seqNums = arrays.f64();
    const expiry = expiring ? arrays.f64().fill(-1) : undefined;
    const at = arrays.i32(1);
    const [timestampOffset, headersOffset, bodyOffset] = [arrays.i32(), arrays.i32(), arrays.i32()];
    const [bodyLengths, metered] = [arrays.i32(), arrays.i32()];
    const bad = (pos: number) => new CorruptDataError(`${what}: malformed record at offset ${pos}`);
    let pos = 5;
    for (let i = 0; i < count; i++) {
      at[i] = pos;
      if (pos >= end || raw[pos] !== 0x0a) throw bad(pos);
      const length = varint(raw, pos + 1, end, what);
      pos = varintEnd;
      const recordEnd = pos + length;
      if (recordEnd > end) throw bad(at[i]!);
      if (pos < recordEnd && raw[pos] === 0x08) {
        seqNums[i] = varint(raw, pos + 1, recordEnd, what);
        pos = varintEnd;
      }
      timestampOffset[i] = -1;
      if (pos < recordEnd && raw[pos] === 0x10) {
        timestampOffset[i] = pos + 1;
        pos = skipVarint(raw, pos + 1, recordEnd, what);
      }
      headersOffset[i] = pos;
      let headerCount = 0;
      let size = 8;
      let valueAt = 0;
      let valueLength = 0;
      while (pos < recordEnd && raw[pos] === 0x1a) {
        const headerEnd = varint(raw, pos + 1, recordEnd, what) + varintEnd;
        pos = varintEnd;
        if (headerEnd > recordEnd) throw bad(pos);
        let nameLength = 0;
        valueLength = 0;
        if (pos < headerEnd && raw[pos] === 0x0a) {
          nameLength = varint(raw, pos + 1, headerEnd, what);
          pos = varintEnd + nameLength;
        }
        if (pos < headerEnd && raw[pos] === 0x12) {
          valueLength = varint(raw, pos + 1, headerEnd, what);
          valueAt = varintEnd;
          pos = valueAt + valueLength;
        }
        if (pos !== headerEnd || nameLength > 0) valueAt = -1;
        if (pos !== headerEnd) throw bad(pos);
        headerCount++;
        size += 2 + nameLength + valueLength;
      }
      let bodyLength = 0;
      if (pos < recordEnd && raw[pos] === 0x22) {
        bodyLength = varint(raw, pos + 1, recordEnd, what);
        pos = varintEnd;
      }
      bodyOffset[i] = pos;
      bodyLengths[i] = bodyLength;
      pos += bodyLength;
      if (pos !== recordEnd) throw bad(at[i]!);
      metered[i] =
        headerCount === 1 && valueAt >= 0
          ? (sealedSize(raw, dv, valueAt, valueLength, bodyOffset[i]!, bodyLength) ?? size + bodyLength)
          : size + bodyLength;
    }
    at[count] = pos;
    if (expiry) {
      if (end - pos !== 9 * count) throw new CorruptDataError(`${what}: expiry table of ${end - pos} bytes`);
      for (let i = 0; i < count; i++, pos += 9) {
        const has = raw[pos]!;
        if (has > 1) throw new CorruptDataError(`${what}: expiry flag ${has} of record ${i}`);
        if (has) expiry[i] = u64(dv, pos + 1, what);
      }
    }
    if (pos !== end) throw new CorruptDataError(`${what}: ${end - pos} trailing bytes`);
    return new BlockView(
      raw,
      count,
      at,
      seqNums,
      expiry,
      headersOffset,
      bodyOffset,
      metered,
      timestampOffset,
      bodyLengths,
    );
  }

  /** Format 2: record `i`'s headers, as views of `bytes` (the index checked their layout). */
  private wireHeaders(i: number): Header[] {
    const bytes = this.bytes;
    const headers: Header[] = [];
    let pos = this.headersOffset[i]!;
    while (pos < this.bodyOffset[i]! && bytes[pos] === 0x1a) {
      const headerEnd = varint(bytes, pos + 1, bytes.length, '') + varintEnd;
      pos = varintEnd;
      let name = empty;
      let value = empty;
      if (pos < headerEnd && bytes[pos] === 0x0a) {
        const length = varint(bytes, pos + 1, headerEnd, '');
        name = bytes.subarray(varintEnd, varintEnd + length);
        pos = varintEnd + length;
      }
      if (pos < headerEnd && bytes[pos] === 0x12) {
        const length = varint(bytes, pos + 1, headerEnd, '');
        value = bytes.subarray(varintEnd, varintEnd + length);
      }
      headers.push([name, value]);
      pos = headerEnd;
    }
    return headers;
  }

  seqNum(i: number): number {
    return this.seqNums[i]!;
  }

  /** Format 1 only: where record `i`'s u64 timestamp lies. */
  timestampAt(i: number): number {
    return this.at[i]! + 8;
  }

  timestamp(i: number): bigint {
    if (!this.timestampOffset) return this.view.getBigUint64(this.at[i]! + 8, true);
    const at = this.timestampOffset[i]!;
    return at < 0 ? 0n : varintBig(this.bytes, at);
  }

  wireAt(i: number): number {
    return this.timestampOffset ? this.at[i]! : -1;
  }

  /** Wall ms after which record `i` is invisible, or null. */
  expiresAtMs(i: number): number | null {
    const value = this.expiry ? this.expiry[i]! : -1;
    return value < 0 ? null : value;
  }

  headerCount(i: number): number {
    if (this.timestampOffset) return this.wireHeaders(i).length;
    return this.view.getUint32(this.headersOffset[i]! - 4, true);
  }

  /** Format 1 only: where record `i`'s headers lie. */
  headersAt(i: number): number {
    return this.headersOffset[i]!;
  }

  bodyAt(i: number): number {
    return this.bodyOffset[i]!;
  }

  bodyLength(i: number): number {
    if (this.bodyLengths) return this.bodyLengths[i]!;
    return this.view.getUint32(this.bodyOffset[i]! - 4, true);
  }

  metered(i: number): number {
    return this.meteredSizes[i]!;
  }

  record(i: number): SequencedRecord {
    const body = this.bodyOffset[i]!;
    if (this.timestampOffset) {
      return {
        seqNum: this.seqNums[i]!,
        timestamp: this.timestamp(i),
        headers: this.wireHeaders(i),
        body: this.bytes.subarray(body, body + this.bodyLength(i)),
      };
    }
    const headers: Header[] = [];
    let pos = this.headersOffset[i]!;
    for (let h = this.headerCount(i); h > 0; h--) {
      const nameLength = this.view.getUint32(pos, true);
      const name = this.bytes.subarray(pos + 4, pos + 4 + nameLength);
      pos += 4 + nameLength;
      const valueLength = this.view.getUint32(pos, true);
      headers.push([name, this.bytes.subarray(pos + 4, pos + 4 + valueLength)]);
      pos += 4 + valueLength;
    }
    return {
      seqNum: this.seqNums[i]!,
      timestamp: this.timestamp(i),
      headers,
      body: this.bytes.subarray(body, body + this.bodyLength(i)),
    };
  }

  /** Record `i` with its retention, as a checkpoint merging segments needs it. */
  storedRecord(i: number): StoredRecord {
    return { record: this.record(i), expiresAtMs: this.expiresAtMs(i) };
  }

  /** Keeps `bytes` from being reused until `unpin` (a no-op for memory that is never reused). */
  pin(): void {
    assert(this.memory?.tryPin() ?? true, 'pinned a block whose memory was reused');
  }

  /** False if the memory was already reused (the block must be read again). */
  tryPin(): boolean {
    return this.memory ? this.memory.tryPin() : true;
  }

  unpin(): void {
    this.memory?.unpin();
  }

  /** Approximate memory held: the bytes (with pooled slack) and the index. */
  get memoryBytes(): number {
    const bytes = this.bytes.length;
    return bytes + (this.memory?.slackOf(bytes) ?? 0) + 40 * this.count + 64;
  }
}

const empty: Uint8Array = new Uint8Array(0);

/** Where the last `varint` ended (a second return value without an allocation). */
let varintEnd = 0;

/** A varint at `pos` of at most 2^53 - 1 that ends before `end` (lengths, seq_nums). */
function varint(bytes: Uint8Array, pos: number, end: number, what: string): number {
  // Most are one or two bytes (lengths of 1 KiB records): kept small so that V8 inlines it.
  const b = bytes[pos]!;
  if (b < 0x80 && pos < end) {
    varintEnd = pos + 1;
    return b;
  }
  const b1 = bytes[pos + 1]!;
  if (b1 < 0x80 && pos + 1 < end) {
    varintEnd = pos + 2;
    return (b & 0x7f) | (b1 << 7);
  }
  return varintLong(bytes, pos, end, what);
}

function varintLong(bytes: Uint8Array, pos: number, end: number, what: string): number {
  let value = 0;
  let scale = 1;
  for (let k = 0; k < 8; k++) {
    if (pos >= end) break;
    const b = bytes[pos++]!;
    value += (b & 0x7f) * scale;
    if (b < 0x80) {
      if (value > Number.MAX_SAFE_INTEGER) break;
      varintEnd = pos;
      return value;
    }
    scale *= 0x80;
  }
  throw new CorruptDataError(`${what}: malformed varint before offset ${pos}`);
}

/** The end of a u64 varint at `pos` (at most 10 bytes, ending before `end`). */
function skipVarint(bytes: Uint8Array, pos: number, end: number, what: string): number {
  for (let k = 0; k < 10 && pos < end; k++) if (bytes[pos++]! < 0x80) return pos;
  throw new CorruptDataError(`${what}: malformed varint before offset ${pos}`);
}

/** A u64 varint (already checked by the index). */
function varintBig(bytes: Uint8Array, pos: number): bigint {
  // The first seven bytes (49 bits) add up exactly in a number: one BigInt per timestamp instead
  // of one per byte (checkpoint merges and JSON reads decode every record's timestamp).
  let low = 0;
  let scale = 1;
  for (let i = 0; i < 7; i++, scale *= 128) {
    const b = bytes[pos++]!;
    low += (b & 0x7f) * scale;
    if (b < 0x80) return BigInt(low);
  }
  let value = BigInt(low);
  let shift = 49n;
  for (;;) {
    const b = bytes[pos++]!;
    value |= BigInt(b & 0x7f) << shift;
    if (b < 0x80) return value;
    shift += 7n;
  }
}
