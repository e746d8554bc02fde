/**
 * Helpers of the block index (block-view.ts): the index arrays of one block in one allocation, and
 * the fixed-width fields and sealed-record sizes read from a block's bytes.
 */
import { sealedMarker, sealedMeteredOffset } from '../domain/sealed.js';
import { CorruptDataError } from './binary.js';

const twoTo32 = 0x1_0000_0000;

/**
 * A block's index arrays as views of one ArrayBuffer: typed arrays of more than 64 bytes each get
 * a backing store of their own outside the heap, which the GC tracks one by one (six to eight per
 * block made the block index a large share of a catch-up's GC work).
 */
export class IndexArrays {
  private readonly memory: ArrayBuffer;
  private offset = 0;

  constructor(
    private readonly count: number,
    f64s: number,
    i32s: number,
  ) {
    // One spare i32 slot per array for `i32(1)`.
    this.memory = new ArrayBuffer(8 * count * f64s + 4 * (count + 1) * i32s);
  }

  f64(): Float64Array {
    const array = new Float64Array(this.memory, this.offset, this.count);
    this.offset += 8 * this.count;
    return array;
  }

  /** Float64 arrays first: they need 8-byte alignment. */
  i32(extra = 0): Int32Array {
    const array = new Int32Array(this.memory, this.offset, this.count + extra);
    this.offset += 4 * (this.count + extra);
    return array;
  }
}

export function u64(dv: DataView, pos: number, what: string): number {
  const high = dv.getUint32(pos + 4, true);
  if (high >= 0x20_0000) throw new CorruptDataError(`${what}: integer at offset ${pos} exceeds 2^53`);
  return high * twoTo32 + dv.getUint32(pos, true);
}

/**
 * The plaintext metered size a sealed (encrypted) record carries (domain/sealed.ts), read from the
 * stored bytes without building the record: limits count the plaintext (api.md 13), exactly as
 * `meteredBytes` does for a record of the memory tail. Undefined for any other record. The caller
 * checked that the record has one header with an empty name, whose value is at `value`.
 */
export function sealedSize(
  raw: Uint8Array,
  dv: DataView,
  value: number,
  valueLength: number,
  body: number,
  bodyLength: number,
): number | undefined {
  if (valueLength !== sealedMarker.length || bodyLength < sealedMeteredOffset + 4) return undefined;
  for (let k = 0; k < valueLength; k++) if (raw[value + k] !== sealedMarker[k]) return undefined;
  return dv.getUint32(body + sealedMeteredOffset, true);
}
