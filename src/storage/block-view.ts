/**
 * A segment block as the block cache keeps it: the block's raw bytes and an index of where each
 * record lies (typed arrays, no object per record). Reads walk the index; a protobuf response is
 * assembled from the bytes (api/codec/proto-stored.ts), and `record(i)` builds a record object only
 * for the readers that need one (JSON, SSE). Decoding each block into objects was 15-18% of a cold
 * catch-up read's CPU, and their GC another 15% (docs/benchmarks.md, "W8: where catch-up time goes").
 *
 * Raw block layout (docs/formats.md): u32 record count, then per record u64 seq_num, u64 timestamp,
 * u8 has-expiry, [u64 expiry ms], u32 header count, headers (name, value: u32 length + bytes each),
 * u32 body length + body; all little-endian.
 */
import type { RecordBlock } from '../domain/record-list.js';
import type { Header, SequencedRecord } from '../domain/types.js';
import { sealedMarker, sealedMeteredOffset } from '../domain/sealed.js';
import { CorruptDataError } from './binary.js';
import type { BlockInfo, StoredRecord } from './codec-segment.js';
import { checksum, unpack } from './framing.js';

const twoTo32 = 0x1_0000_0000;
/** Bytes of a block's buffer beyond the block itself that the cache may keep with it (padding). */
export const pinnedSlackBytesMax = 64;

export class BlockView implements RecordBlock {
  private readonly view: DataView;

  private constructor(
    readonly bytes: Uint8Array,
    readonly count: number,
    private readonly at: Int32Array,
    private readonly seqNums: Float64Array,
    /** Expiry in wall ms, -1 = never. */
    private readonly expiry: Float64Array,
    private readonly headersOffset: Int32Array,
    private readonly bodyOffset: Int32Array,
    private readonly meteredSizes: Int32Array,
  ) {
    this.view = new DataView(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  }

  /** Verifies a stored block (CRC) and indexes it. `stored` must not change afterwards (a whole buffer is kept, not copied). */
  static fromStored(stored: Uint8Array, info: BlockInfo, what: string): BlockView {
    if (stored.length !== info.storedLength || checksum(stored) !== info.crc) {
      throw new CorruptDataError(`${what}: block checksum mismatch`);
    }
    const unpacked = unpack(stored, info.compressed, info.rawLength, what);
    // An uncompressed block that is a view of a larger buffer (a read-ahead run of several blocks)
    // is copied: the cache accounts for this block's bytes, and a view would pin the whole run for
    // as long as any one of its blocks stays cached (up to 16x what is accounted). A block read in
    // memory of its own (ObjectStore.getParts) may be followed there by the next block's alignment
    // padding (at most 7 bytes, codec-segment.ts): kept as it is, not copied for those few bytes.
    const raw =
      unpacked.buffer.byteLength - unpacked.byteLength <= pinnedSlackBytesMax
        ? unpacked
        : Uint8Array.prototype.slice.call(unpacked);
    const view = BlockView.index(raw, what);
    if (view.count !== info.recordCount) throw new CorruptDataError(`${what}: record count mismatch`);
    return view;
  }

  /** Indexes raw block bytes, checking every length against the block's end. */
  static index(raw: Uint8Array, what: string): BlockView {
    const dv = new DataView(raw.buffer, raw.byteOffset, raw.byteLength);
    const end = raw.length;
    const need = (pos: number, n: number) => {
      if (pos + n > end) throw new CorruptDataError(`${what}: truncated record at offset ${pos}`);
    };
    need(0, 4);
    const count = dv.getUint32(0, true);
    if (count * 25 > end - 4) throw new CorruptDataError(`${what}: count ${count} exceeds the block`);
    const at = new Int32Array(count);
    const seqNums = new Float64Array(count);
    const expiry = new Float64Array(count);
    const headersOffset = new Int32Array(count);
    const bodyOffset = new Int32Array(count);
    const metered = new Int32Array(count);
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
      metered[i] =
        headerCount === 1
          ? (sealedSize(raw, dv, headersOffset[i]!, bodyOffset[i]!, bodyLength) ?? size + bodyLength)
          : size + bodyLength;
    }
    if (pos !== end) throw new CorruptDataError(`${what}: ${end - pos} trailing bytes`);
    return new BlockView(raw, count, at, seqNums, expiry, headersOffset, bodyOffset, metered);
  }

  seqNum(i: number): number {
    return this.seqNums[i]!;
  }

  timestampAt(i: number): number {
    return this.at[i]! + 8;
  }

  timestamp(i: number): bigint {
    return this.view.getBigUint64(this.at[i]! + 8, true);
  }

  /** Wall ms after which record `i` is invisible, or null. */
  expiresAtMs(i: number): number | null {
    const value = this.expiry[i]!;
    return value < 0 ? null : value;
  }

  headerCount(i: number): number {
    return this.view.getUint32(this.headersOffset[i]! - 4, true);
  }

  headersAt(i: number): number {
    return this.headersOffset[i]!;
  }

  bodyAt(i: number): number {
    return this.bodyOffset[i]!;
  }

  bodyLength(i: number): number {
    return this.view.getUint32(this.bodyOffset[i]! - 4, true);
  }

  metered(i: number): number {
    return this.meteredSizes[i]!;
  }

  record(i: number): SequencedRecord {
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
    const body = this.bodyOffset[i]!;
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

  /** Approximate memory held: the bytes and the index. */
  get memoryBytes(): number {
    return this.bytes.length + 40 * this.count + 64;
  }
}

function u64(dv: DataView, pos: number, what: string): number {
  const high = dv.getUint32(pos + 4, true);
  if (high >= 0x20_0000) throw new CorruptDataError(`${what}: integer at offset ${pos} exceeds 2^53`);
  return high * twoTo32 + dv.getUint32(pos, true);
}

/**
 * The plaintext metered size a sealed (encrypted) record carries (domain/sealed.ts), read from the
 * stored bytes without building the record: limits count the plaintext (api.md 13), exactly as
 * `meteredBytes` does for a record of the memory tail. Undefined for any other record.
 */
function sealedSize(
  raw: Uint8Array,
  dv: DataView,
  headers: number,
  body: number,
  bodyLength: number,
): number | undefined {
  if (dv.getUint32(headers, true) !== 0) return undefined;
  const valueLength = dv.getUint32(headers + 4, true);
  if (valueLength !== sealedMarker.length || bodyLength < sealedMeteredOffset + 4) return undefined;
  for (let k = 0; k < valueLength; k++) if (raw[headers + 8 + k] !== sealedMarker[k]) return undefined;
  return dv.getUint32(body + sealedMeteredOffset, true);
}
