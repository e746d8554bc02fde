/**
 * The protobuf wire format (proto3 as prost, the reference's decoder, applies it) for the hand-written `s2.v1`
 * codecs: a bounded reader and the size-then-write helpers. The messages themselves are in proto.ts (what the server
 * decodes and encodes) and proto-client.ts (the other direction, for tests, benchmarks and tools).
 *
 * Wire rules: unknown fields (any valid wire type, including groups) are skipped; a known field with the wrong wire
 * type, a truncated varint or length, a varint over 64 bits, a tag of field 0 or wire type 6/7, or a string that is
 * not UTF-8 is malformed (`bad_proto`). Scalar fields that repeat keep the last value; repeated embedded messages of
 * a non-repeated field are merged. Encoders omit proto3 default values except for fields with explicit presence
 * (`optional`, messages). Decoded `bytes` fields are zero-copy views into the input.
 */
import type { Header, StreamPosition } from '../../domain/types.js';
import { errors } from '../../domain/errors.js';
import { AssertionError } from '../../util/assert.js';

/**
 * What a `match_seq_num` above 2^53 - 1 decodes to (it cannot be a JS number): `Infinity` never equals a real next
 * seq_num, so such an append fails its condition with 412, as it would on the reference. Never rounded to a nearby
 * number, which could match.
 */
export const unmatchableSeqNum = Infinity;

export const WIRE_VARINT = 0;
const WIRE_I64 = 1;
export const WIRE_LEN = 2;
const WIRE_SGROUP = 3;
const WIRE_EGROUP = 4;
const WIRE_I32 = 5;

/** Nested unknown groups deeper than this are refused (prost uses the same recursion limit). */
const groupDepthMax = 100;

const TWO_32 = 4294967296;
const U64_MAX = 0xffff_ffff_ffff_ffffn;
const SAFE_MAX_BIG = BigInt(Number.MAX_SAFE_INTEGER);
export const EMPTY: Uint8Array = new Uint8Array(0);

const utf8Strict = new TextDecoder('utf-8', { fatal: true, ignoreBOM: true });

export class Reader {
  pos = 0;
  /** High 32 bits of the last varint read (the low 32 bits are the return value). */
  hi = 0;
  constructor(
    readonly buf: Uint8Array,
    /** End of the message being decoded; narrowed while inside an embedded message. */
    public end: number,
  ) {}

  private byte(): number {
    if (this.pos >= this.end) throw errors.badProto('truncated varint');
    return this.buf[this.pos++];
  }

  /** Reads a varint of up to 64 bits; returns the low 32 bits (unsigned) and leaves the high 32 bits in `hi`. */
  varint(): number {
    const buf = this.buf;
    // Fast path: one byte.
    if (this.pos < this.end && buf[this.pos] < 0x80) {
      this.hi = 0;
      return buf[this.pos++];
    }
    let lo = 0;
    let b: number;
    for (let shift = 0; shift < 28; shift += 7) {
      b = this.byte();
      lo |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.hi = 0;
        return lo >>> 0;
      }
    }
    b = this.byte();
    lo |= (b & 0x0f) << 28;
    let hi = (b & 0x7f) >> 4;
    if (b < 0x80) {
      this.hi = hi;
      return lo >>> 0;
    }
    for (let shift = 3; shift < 31; shift += 7) {
      b = this.byte();
      hi |= (b & 0x7f) << shift;
      if (b < 0x80) {
        this.hi = hi >>> 0;
        return lo >>> 0;
      }
    }
    // Tenth byte: only bit 63 is left.
    b = this.byte();
    if (b > 1) throw errors.badProto('varint exceeds 64 bits');
    this.hi = (hi | (b << 31)) >>> 0;
    return lo >>> 0;
  }

  u64BigInt(): bigint {
    const lo = this.varint();
    const hi = this.hi;
    return hi === 0 ? BigInt(lo) : (BigInt(hi) << 32n) | BigInt(lo);
  }

  /** A u64 as a JS number, or `unmatchableSeqNum` (Infinity) if it exceeds 2^53 - 1. */
  u64Number(): number {
    const lo = this.varint();
    const hi = this.hi;
    return hi < 0x200000 ? hi * TWO_32 + lo : unmatchableSeqNum;
  }

  /** A sequence number; these are never above 2^53 - 1 (domain/types.ts). */
  seqNum(): number {
    const n = this.u64Number();
    if (n === unmatchableSeqNum) throw errors.badProto('sequence number exceeds 2^53 - 1');
    return n;
  }

  /** Returns `[field, wireType]` packed as `field * 8 + wireType` after validating it. */
  tag(): number {
    const key = this.varint();
    if (this.hi !== 0) throw errors.badProto('invalid key value');
    const wire = key & 7;
    if (key >>> 3 === 0) throw errors.badProto('invalid tag value: 0');
    if (wire > WIRE_I32) throw errors.badProto(`invalid wire type value: ${wire}`);
    return key;
  }

  /** End offset of a length-delimited field starting at the current position. */
  lengthEnd(): number {
    const len = this.varint();
    if (this.hi !== 0 || len > this.end - this.pos) throw errors.badProto('buffer underflow: length past the end');
    return this.pos + len;
  }

  bytes(): Uint8Array {
    const end = this.lengthEnd();
    const out = this.buf.subarray(this.pos, end);
    this.pos = end;
    return out;
  }

  string(): string {
    const bytes = this.bytes();
    try {
      return utf8Strict.decode(bytes);
    } catch {
      throw errors.badProto('invalid string value: data is not UTF-8 encoded');
    }
  }

  skip(key: number, depth = 0): void {
    switch (key & 7) {
      case WIRE_VARINT:
        this.varint();
        return;
      case WIRE_I64:
        this.advance(8);
        return;
      case WIRE_LEN:
        this.pos = this.lengthEnd();
        return;
      case WIRE_I32:
        this.advance(4);
        return;
      case WIRE_SGROUP: {
        if (depth >= groupDepthMax) throw errors.badProto('recursion limit reached');
        for (;;) {
          if (this.pos >= this.end) throw errors.badProto('unexpected end of group');
          const inner = this.tag();
          if ((inner & 7) === WIRE_EGROUP) {
            if (inner >>> 3 !== key >>> 3) throw errors.badProto('unexpected end group tag');
            return;
          }
          this.skip(inner, depth + 1);
        }
      }
      default: // WIRE_EGROUP without a matching start
        throw errors.badProto('unexpected end group tag');
    }
  }

  private advance(n: number): void {
    if (n > this.end - this.pos) throw errors.badProto('buffer underflow');
    this.pos += n;
  }
}

export function wrongWireType(message: string, field: number, wire: number, expected: number): never {
  throw errors.badProto(`invalid wire type: ${message}.${field} has wire type ${wire}, expected ${expected}`);
}

/**
 * Decodes an embedded message: bounds the reader to the message's length while `parse` runs (so nothing inside can
 * read past it), then restores the outer bound. Errors abandon the whole decode, so no restore is needed then.
 */
export function embedded<T>(r: Reader, parse: (r: Reader) => T): T {
  const end = r.lengthEnd();
  const outer = r.end;
  r.end = end;
  const value = parse(r);
  r.end = outer;
  return value;
}

export function decodeHeader(r: Reader): Header {
  let name = EMPTY;
  let value = EMPTY;
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    if (field === 1 || field === 2) {
      if ((key & 7) !== WIRE_LEN) wrongWireType('Header', field, key & 7, WIRE_LEN);
      const bytes = r.bytes();
      if (field === 1) name = bytes;
      else value = bytes;
    } else {
      r.skip(key);
    }
  }
  return [name, value];
}

export function decodeStreamPositionInto(r: Reader, pos: StreamPosition): StreamPosition {
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1 || field === 2) {
      if (wire !== WIRE_VARINT) wrongWireType('StreamPosition', field, wire, WIRE_VARINT);
      if (field === 1) pos.seqNum = r.seqNum();
      else pos.timestamp = r.u64BigInt();
    } else {
      r.skip(key);
    }
  }
  return pos;
}

// Encoding: sizes first, then one write pass into an exactly-sized buffer.

/** Size of a varint for a non-negative integer up to 2^53. */
export function varintSize(n: number): number {
  if (n < 0x80) return 1;
  if (n < 0x4000) return 2;
  if (n < 0x200000) return 3;
  if (n < 0x10000000) return 4;
  if (n < 0x800000000) return 5;
  if (n < 0x40000000000) return 6;
  if (n < 0x2000000000000) return 7;
  return 8;
}

function checkU64(v: bigint): void {
  if (v < 0n || v > U64_MAX) throw new AssertionError(`not a u64: ${v}`);
}

export function u64Size(v: bigint): number {
  if (v >= 0n && v <= SAFE_MAX_BIG) return varintSize(Number(v));
  checkU64(v);
  let size = 8; // v >= 2^53 needs at least 8 bytes
  for (let rest = v >> 56n; rest > 0n; rest >>= 7n) size++;
  return size;
}

export function writeVarint(buf: Uint8Array, pos: number, n: number): number {
  while (n > 0x7fffffff) {
    buf[pos++] = (n % 0x80) | 0x80;
    n = Math.floor(n / 0x80);
  }
  while (n > 0x7f) {
    buf[pos++] = (n & 0x7f) | 0x80;
    n >>>= 7;
  }
  buf[pos++] = n;
  return pos;
}

export function writeU64(buf: Uint8Array, pos: number, v: bigint): number {
  if (v >= 0n && v <= SAFE_MAX_BIG) return writeVarint(buf, pos, Number(v));
  checkU64(v);
  while (v > 0x7fn) {
    buf[pos++] = Number(v & 0x7fn) | 0x80;
    v >>= 7n;
  }
  buf[pos++] = Number(v);
  return pos;
}

export function writeBytesField(buf: Uint8Array, pos: number, tag: number, bytes: Uint8Array): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, bytes.length);
  buf.set(bytes, pos);
  return pos + bytes.length;
}

/** Length-delimited field (1-byte tag + length varint + body). */
export function lenFieldSize(bodySize: number): number {
  return 1 + varintSize(bodySize) + bodySize;
}

export function headerSize(h: Header): number {
  return (h[0].length ? lenFieldSize(h[0].length) : 0) + (h[1].length ? lenFieldSize(h[1].length) : 0);
}

export function writeHeader(buf: Uint8Array, pos: number, tag: number, h: Header): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, headerSize(h));
  if (h[0].length) pos = writeBytesField(buf, pos, 0x0a, h[0]);
  if (h[1].length) pos = writeBytesField(buf, pos, 0x12, h[1]);
  return pos;
}

/**
 * The size of the seq_num (1) and timestamp (2) fields that StreamPosition and SequencedRecord
 * share, each omitted when zero (the proto3 default): the body of an embedded StreamPosition.
 */
export function positionFieldsSize(p: StreamPosition): number {
  return (p.seqNum ? 1 + varintSize(p.seqNum) : 0) + (p.timestamp ? 1 + u64Size(p.timestamp) : 0);
}

/** Writes the seq_num and timestamp fields (see positionFieldsSize). */
export function writePositionFields(buf: Uint8Array, pos: number, p: StreamPosition): number {
  if (p.seqNum) {
    buf[pos++] = 0x08;
    pos = writeVarint(buf, pos, p.seqNum);
  }
  if (p.timestamp) {
    buf[pos++] = 0x10;
    pos = writeU64(buf, pos, p.timestamp);
  }
  return pos;
}

/** Writes a StreamPosition as an embedded message field (always present, even when all-default). */
export function writeStreamPosition(buf: Uint8Array, pos: number, tag: number, p: StreamPosition): number {
  buf[pos++] = tag;
  pos = writeVarint(buf, pos, positionFieldsSize(p));
  return writePositionFields(buf, pos, p);
}

export function finish(buf: Uint8Array, pos: number): Uint8Array {
  if (pos !== buf.length) throw new AssertionError(`protobuf size mismatch: wrote ${pos} of ${buf.length}`);
  return buf;
}
