/**
 * Bench records, shaped like those of `s2 bench`: one header `hash` (4 bytes) holding an 8-byte
 * big-endian chain value, so the metered overhead is 8 + 2 + 4 + 8 = 22 bytes and the body is
 * `recordSize - 22` pseudo-random bytes. The chain is h_i = xxh3_64(h_{i-1} big-endian || body_i),
 * with h_{-1} = 0, so a reader that recomputes it notices any lost, duplicated, reordered or
 * corrupted record, and equal final values mean the whole sequence arrived.
 */
import { AppendRecord, type BytesAppendRecord, type ReadRecord } from '@s2-dev/streamstore';
import { xxh3 } from '../../util/xxh3.js';

export const hashHeaderName = new TextEncoder().encode('hash');
export const recordOverhead = 8 + 2 + hashHeaderName.length + 8;
export const minRecordSize = 128;
export const maxRecordSize = 1024 * 1024;

/** Chains hashes; one scratch buffer is reused because hashing is synchronous. */
export class HashChain {
  last = 0n;
  private scratch: Uint8Array;
  private view: DataView;

  constructor(bodySize: number) {
    this.scratch = new Uint8Array(8 + bodySize);
    this.view = new DataView(this.scratch.buffer);
  }

  /** The next chain value for `body`, which becomes the new `last`. */
  next(body: Uint8Array): bigint {
    if (8 + body.length !== this.scratch.length) {
      this.scratch = new Uint8Array(8 + body.length);
      this.view = new DataView(this.scratch.buffer);
    }
    this.view.setBigUint64(0, this.last, false);
    this.scratch.set(body, 8);
    this.last = xxh3(this.scratch);
    return this.last;
  }
}

export function hashToBytes(hash: bigint): Uint8Array {
  const bytes = new Uint8Array(8);
  new DataView(bytes.buffer).setBigUint64(0, hash, false);
  return bytes;
}

/**
 * Bodies are windows into one deterministic pseudo-random pool (xorshift32, fixed seed), so
 * building a record costs no random generation; consecutive bodies start at different offsets.
 */
export class BodySource {
  private readonly pool: Uint8Array;
  private index = 0;
  private static readonly windows = 4093; // prime, so offsets cycle through many positions

  constructor(readonly bodySize: number) {
    this.pool = new Uint8Array(bodySize + BodySource.windows);
    let x = 0x9e3779b9;
    for (let i = 0; i < this.pool.length; i++) {
      x ^= x << 13;
      x ^= x >>> 17;
      x ^= x << 5;
      this.pool[i] = x & 0xff;
    }
  }

  next(): Uint8Array {
    const offset = (this.index++ * 613) % BodySource.windows;
    return this.pool.subarray(offset, offset + this.bodySize);
  }
}

/** Builds the records of one writer: chained hashes, timestamps given by the caller (µs). */
export class RecordFactory {
  readonly chain: HashChain;
  private readonly bodies: BodySource;

  constructor(readonly recordSize: number) {
    if (recordSize < minRecordSize || recordSize > maxRecordSize) {
      throw new Error(`record size must be between ${minRecordSize} B and 1 MiB (got ${recordSize})`);
    }
    this.bodies = new BodySource(recordSize - recordOverhead);
    this.chain = new HashChain(recordSize - recordOverhead);
  }

  next(timestampUs: number): BytesAppendRecord {
    const body = this.bodies.next();
    const hash = this.chain.next(body);
    const record = AppendRecord.bytes({ body, headers: [[hashHeaderName, hashToBytes(hash)]], timestamp: timestampUs });
    if (record.meteredBytes !== this.recordSize) {
      throw new Error(`internal error: bench record metered ${record.meteredBytes} B, expected ${this.recordSize}`);
    }
    return record;
  }
}

/**
 * Checks records as a reader receives them: sequence numbers from 0 without gaps, body size,
 * the `hash` header, no duplicate, and the recomputed chain. Keeps the first problem found.
 */
export class ChainVerifier {
  count = 0;
  problem: string | undefined;
  private readonly chain: HashChain;

  constructor(
    private readonly name: string,
    private readonly bodySize: number,
  ) {
    this.chain = new HashChain(bodySize);
  }

  get lastHash(): bigint {
    return this.chain.last;
  }

  feed(record: ReadRecord<'bytes'>): void {
    if (this.problem) {
      this.count += 1;
      return;
    }
    const fail = (what: string) => (this.problem = `${this.name}: record ${record.seqNum}: ${what}`);
    const header = record.headers.length === 1 ? record.headers[0]! : undefined;
    if (record.seqNum !== this.count) fail(`expected seq_num ${this.count}`);
    else if (record.body.length !== this.bodySize)
      fail(`body is ${record.body.length} bytes, expected ${this.bodySize}`);
    else if (!header || Buffer.compare(header[0], hashHeaderName) !== 0) fail('missing `hash` header');
    else if (header[1].length !== 8) fail(`hash header value is ${header[1].length} bytes, expected 8`);
    else {
      const claimed = new DataView(header[1].buffer, header[1].byteOffset, 8).getBigUint64(0, false);
      const previous = this.chain.last;
      const expected = this.chain.next(record.body);
      if (this.count > 0 && claimed === previous) fail('duplicate of the previous record');
      else if (claimed !== expected) fail('hash chain mismatch (lost, reordered or corrupted record)');
    }
    this.count += 1;
  }
}
