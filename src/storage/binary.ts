/**
 * Little-endian binary encoding helpers shared by every persisted format (docs/formats.md).
 *
 * Integers that are JS numbers in memory (seq_nums, object ids, epochs, wall-clock ms) are
 * stored as u64 and must be safe integers; timestamps are `bigint` and use the full u64 range.
 * Every read is bounds-checked so truncated input fails with a `CorruptDataError` that names
 * what was being decoded, never with a RangeError or a silently wrong value.
 */
import { assert } from '../util/assert.js';
import { CorruptDataError } from './errors.js';

/** The codecs take the error their decoders throw from here, beside the reader that throws it. */
export { CorruptDataError };

const textEncoder = new TextEncoder();
const textDecoder = new TextDecoder('utf-8', { fatal: true });

const u64Max = (1n << 64n) - 1n;
export const maxSafeBig = BigInt(Number.MAX_SAFE_INTEGER);

/** Bytes of a protobuf varint of a non-negative safe integer. */
export function varintBytes(value: number): number {
  if (value < 0x80) return 1;
  if (value < 0x4000) return 2;
  if (value < 0x20_0000) return 3;
  if (value < 0x1000_0000) return 4;
  if (value < 0x8_0000_0000) return 5;
  if (value < 0x400_0000_0000) return 6;
  if (value < 0x2_0000_0000_0000) return 7;
  return 8;
}

const isVarint = (value: number): boolean => Number.isSafeInteger(value) && value >= 0;

/** Writes a key byte and a varint at `offset`; returns the offset after them. */
function putField(out: Uint8Array, offset: number, key: number, value: number): number {
  out[offset] = key;
  return putVarint(out, offset + 1, value);
}

/** Writes a protobuf varint of a non-negative safe integer at `offset`; returns the offset after it. */
function putVarint(out: Uint8Array, offset: number, value: number): number {
  while (value > 0x7fffffff) {
    out[offset++] = (value % 0x80) | 0x80;
    value = Math.floor(value / 0x80);
  }
  while (value > 0x7f) {
    out[offset++] = (value & 0x7f) | 0x80;
    value >>>= 7;
  }
  out[offset++] = value;
  return offset;
}

/** Bytes of a protobuf varint of a u64. */
export function varintBigBytes(value: bigint): number {
  if (value <= maxSafeBig) return varintBytes(Number(value));
  let bytes = 1;
  for (let rest = value >> 7n; rest > 0n; rest >>= 7n) bytes++;
  return bytes;
}

export class ByteWriter {
  private buffer: Uint8Array;
  private view: DataView;
  private length = 0;

  /**
   * `reuse`: memory to write into if large enough: a buffer from an earlier writer (see `backing`)
   * or a region of a `Slab`. The writer allocates its own buffer only when it outgrows it.
   */
  constructor(initialBytes = 256, reuse?: Uint8Array) {
    if (reuse && reuse.length >= initialBytes) this.buffer = reuse;
    // Uninitialized when large (only written bytes are exposed): zero-filling was 3% of appends.
    else this.buffer = initialBytes >= 4096 ? Buffer.allocUnsafeSlow(initialBytes) : new Uint8Array(initialBytes);
    this.view = new DataView(this.buffer.buffer, this.buffer.byteOffset, this.buffer.byteLength);
  }

  /** The whole backing buffer, to pass as `reuse` to a later writer once `finish()`'s view is unused. */
  get backing(): Uint8Array {
    return this.buffer;
  }

  get size(): number {
    return this.length;
  }

  private reserve(bytes: number): number {
    const needed = this.length + bytes;
    if (needed > this.buffer.length) {
      let capacity = Math.max(64, this.buffer.length * 2);
      while (capacity < needed) capacity *= 2;
      // Uninitialized: only written bytes are ever exposed, and zero-filling large segments cost.
      const grown: Uint8Array = Buffer.allocUnsafeSlow(capacity);
      grown.set(this.buffer.subarray(0, this.length));
      this.buffer = grown;
      this.view = new DataView(grown.buffer, grown.byteOffset, grown.byteLength);
    }
    const offset = this.length;
    this.length = needed;
    return offset;
  }

  u8(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xff, `u8 out of range: ${value}`);
    const offset = this.reserve(1);
    this.buffer[offset] = value;
    return this;
  }

  u16(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffff, `u16 out of range: ${value}`);
    const offset = this.reserve(2); // may replace this.view
    this.view.setUint16(offset, value, true);
    return this;
  }

  u32(value: number): this {
    assert(Number.isInteger(value) && value >= 0 && value <= 0xffffffff, `u32 out of range: ${value}`);
    const offset = this.reserve(4); // may replace this.view
    this.view.setUint32(offset, value, true);
    return this;
  }

  /** A non-negative safe integer stored as u64. */
  u64(value: number): this {
    assert(Number.isSafeInteger(value) && value >= 0, `u64 number out of range: ${value}`);
    const offset = this.reserve(8); // may replace this.view
    this.view.setBigUint64(offset, BigInt(value), true);
    return this;
  }

  u64Big(value: bigint): this {
    assert(value >= 0n && value <= u64Max, `u64 bigint out of range: ${value}`);
    const offset = this.reserve(8); // may replace this.view
    this.view.setBigUint64(offset, value, true);
    return this;
  }

  /** A protobuf varint (segment blocks, format 2) of a non-negative safe integer. */
  varint(value: number): this {
    assert(Number.isSafeInteger(value) && value >= 0, `varint out of range: ${value}`);
    const offset = this.reserve(varintBytes(value)); // may replace this.buffer: read it after
    putVarint(this.buffer, offset, value);
    return this;
  }

  /**
   * A protobuf field key (one byte) and a varint: one reserve for both (segment encoding writes a
   * few per record, and a call per byte showed in checkpoint profiles of 1 KiB records).
   */
  field(key: number, value: number): this {
    assert(Number.isSafeInteger(value) && value >= 0, `varint out of range: ${value}`);
    const offset = this.reserve(1 + varintBytes(value)); // may replace this.buffer
    putField(this.buffer, offset, key, value);
    return this;
  }

  /**
   * `field(key, value)`, then the fields `key2` and `key3` unless their value is 0 (proto3 omits
   * defaults): a record's length, seq_num and timestamp in one reserve.
   */
  fields(key: number, value: number, key2: number, value2: number, key3: number, value3: number): this {
    assert(isVarint(value) && isVarint(value2) && isVarint(value3), 'varint out of range');
    const bytes =
      1 + varintBytes(value) + (value2 ? 1 + varintBytes(value2) : 0) + (value3 ? 1 + varintBytes(value3) : 0);
    let offset = this.reserve(bytes); // may replace this.buffer
    offset = putField(this.buffer, offset, key, value);
    if (value2) offset = putField(this.buffer, offset, key2, value2);
    if (value3) putField(this.buffer, offset, key3, value3);
    return this;
  }

  /** A protobuf varint of a u64 (timestamps may exceed 2^53). */
  varintBig(value: bigint): this {
    assert(value >= 0n && value <= u64Max, `u64 bigint out of range: ${value}`);
    if (value <= maxSafeBig) return this.varint(Number(value));
    let offset = this.reserve(varintBigBytes(value));
    while (value > 0x7fn) {
      this.buffer[offset++] = Number(value & 0x7fn) | 0x80;
      value >>= 7n;
    }
    this.buffer[offset] = Number(value);
    return this;
  }

  raw(bytes: Uint8Array): this {
    const offset = this.reserve(bytes.length); // may replace this.buffer
    this.buffer.set(bytes, offset);
    return this;
  }

  /** u32 length prefix, then the bytes. */
  bytes(bytes: Uint8Array): this {
    return this.u32(bytes.length).raw(bytes);
  }

  string(value: string): this {
    return this.bytes(textEncoder.encode(value));
  }

  /** Overwrites a u32 written earlier (e.g. a count known only at the end). */
  patchU32(offset: number, value: number): void {
    assert(offset + 4 <= this.length, 'patch beyond written bytes');
    this.view.setUint32(offset, value, true);
  }

  /** Overwrites a byte written earlier. */
  patchU8(offset: number, value: number): void {
    assert(offset < this.length && value >= 0 && value <= 0xff, 'patch beyond written bytes');
    this.buffer[offset] = value;
  }

  /** `count` zero bytes. */
  zeros(count: number): this {
    const offset = this.reserve(count); // may replace this.buffer
    this.buffer.fill(0, offset, offset + count);
    return this;
  }

  /**
   * Where byte `offset` of the output sits in its ArrayBuffer, mod 8 (for aligned copies), if the
   * writer does not outgrow its buffer before then.
   */
  address(offset: number): number {
    return (this.buffer.byteOffset + offset) % 8;
  }

  /** The bytes written from `from` on (a view, valid until the next write). */
  writtenSince(from: number): Uint8Array {
    assert(from >= 0 && from <= this.length, 'view within written bytes');
    return this.buffer.subarray(from, this.length);
  }

  /** Forgets everything written after the first `length` bytes (to overwrite it). */
  truncate(length: number): void {
    assert(length >= 0 && length <= this.length, 'truncate within written bytes');
    this.length = length;
  }

  /** The written bytes (a view, valid until the next write). */
  finish(): Uint8Array {
    return this.buffer.subarray(0, this.length);
  }
}

/**
 * Carves many small encodings out of one large buffer, as Node's Buffer pool does: a commit
 * encoded into its own small ArrayBuffer cost an allocation (and external-memory GC pressure) per
 * append, 5% of an append-session profile. A slab stays alive while any encoding in it is referenced.
 */
export class Slab {
  private buffer: Uint8Array = new Uint8Array(0);
  private used = 0;

  constructor(private readonly slabBytes = 1024 * 1024) {}

  /** A region of at least `bytes` to write into; `consume` how much of it was kept. */
  region(bytes: number): Uint8Array {
    if (this.buffer.length - this.used < bytes) {
      this.buffer = Buffer.allocUnsafeSlow(Math.max(this.slabBytes, bytes));
      this.used = 0;
    }
    return this.buffer.subarray(this.used);
  }

  consume(bytes: number): void {
    this.used += bytes;
  }

  /** Encodes with `write` into this slab (or a buffer of its own if the estimate was short). */
  encode(estimate: number, write: (writer: ByteWriter) => void): Uint8Array {
    const region = this.region(estimate);
    const writer = new ByteWriter(estimate, region);
    write(writer);
    const out = writer.finish();
    if (writer.backing === region) this.consume(out.length);
    return out;
  }
}

export class ByteReader {
  private readonly view: DataView;
  private offset = 0;

  /** `what` names the structure being decoded, for error messages. */
  constructor(
    private readonly data: Uint8Array,
    private readonly what: string,
  ) {
    this.view = new DataView(data.buffer, data.byteOffset, data.byteLength);
  }

  get position(): number {
    return this.offset;
  }

  get remaining(): number {
    return this.data.length - this.offset;
  }

  private take(bytes: number): number {
    if (bytes > this.data.length - this.offset) {
      throw new CorruptDataError(
        `${this.what}: truncated (need ${bytes} bytes at offset ${this.offset}, have ${this.data.length - this.offset})`,
      );
    }
    const offset = this.offset;
    this.offset += bytes;
    return offset;
  }

  u8(): number {
    return this.data[this.take(1)];
  }

  u16(): number {
    return this.view.getUint16(this.take(2), true);
  }

  u32(): number {
    return this.view.getUint32(this.take(4), true);
  }

  u64(): number {
    const value = this.view.getBigUint64(this.take(8), true);
    if (value > BigInt(Number.MAX_SAFE_INTEGER)) {
      throw new CorruptDataError(`${this.what}: integer ${value} exceeds 2^53`);
    }
    return Number(value);
  }

  u64Big(): bigint {
    return this.view.getBigUint64(this.take(8), true);
  }

  raw(length: number): Uint8Array {
    const offset = this.take(length);
    return this.data.subarray(offset, offset + length);
  }

  /** Length-prefixed bytes, copied so the result does not pin a large object buffer. */
  bytes(): Uint8Array {
    return new Uint8Array(this.raw(this.u32()));
  }

  /** Length-prefixed bytes as a view of the input (for inputs the caller owns exactly, e.g. one block). */
  bytesView(): Uint8Array {
    return this.raw(this.u32());
  }

  string(): string {
    const bytes = this.raw(this.u32());
    try {
      return textDecoder.decode(bytes);
    } catch {
      throw new CorruptDataError(`${this.what}: invalid UTF-8 string`);
    }
  }

  /** A count that will drive a loop: each item takes at least `minItemBytes`, so bound it by what is left. */
  count(minItemBytes: number): number {
    const count = this.u32();
    if (count * minItemBytes > this.remaining) {
      throw new CorruptDataError(`${this.what}: count ${count} exceeds the remaining ${this.remaining} bytes`);
    }
    return count;
  }

  /** Asserts the input was consumed exactly. */
  end(): void {
    if (this.offset !== this.data.length) {
      throw new CorruptDataError(`${this.what}: ${this.data.length - this.offset} unexpected trailing bytes`);
    }
  }
}

export function utf8(value: string): Uint8Array {
  return textEncoder.encode(value);
}
