/**
 * The records of one read, kept the way storage found them: index ranges of stored segment blocks
 * (bytes plus an index, never turned into objects) and records already in memory (the memory tail).
 * A protobuf read response or S2S frame is assembled from the block bytes directly (the Kafka fetch
 * idea, issue 14: decoding every block into record objects was a third of a cold catch-up read's CPU
 * and most of its GC); JSON and SSE, and any reader that needs `SequencedRecord` objects, call
 * `toArray()`, which materialises them once.
 */
import { meteredBytes, type SequencedRecord } from './types.js';

/**
 * A block of stored records readable by index. The record layout inside `bytes` (storage's segment
 * block format, docs/formats.md): at `timestampAt(i)` a u64 little-endian timestamp; at `headersAt(i)`
 * `headerCount(i)` headers, each a name then a value, each a u32 little-endian length and its bytes;
 * the body is `bodyLength(i)` bytes at `bodyAt(i)`.
 */
export interface RecordBlock {
  readonly bytes: Uint8Array;
  seqNum(i: number): number;
  timestamp(i: number): bigint;
  timestampAt(i: number): number;
  headerCount(i: number): number;
  headersAt(i: number): number;
  bodyAt(i: number): number;
  bodyLength(i: number): number;
  /** Metered size (api.md 6.4). */
  metered(i: number): number;
  /**
   * Where record `i` starts as a protobuf `ReadBatch.records` entry (tag, length, SequencedRecord)
   * when the block holds its records in that form (segment format 2), `i = count` giving the end;
   * -1 for the older layout described above.
   */
  wireAt(i: number): number;
  /** The record as an object whose headers and body are views of `bytes`. */
  record(i: number): SequencedRecord;
  /**
   * Keeps `bytes` from being reused (storage's pooled block memory) until `unpin`. A list pins
   * each block it holds a piece of, and unpins only in `release()`.
   */
  pin?(): void;
  unpin?(): void;
}

/** Records [from, to) of a stored block, or records already in memory. */
export type RecordPiece = { block: RecordBlock; from: number; to: number } | { records: SequencedRecord[] };

export class RecordList {
  readonly pieces: RecordPiece[] = [];
  private count = 0;
  private metered = 0;
  private array: SequencedRecord[] | undefined;
  /** The records array of the last piece when this list created it (others are never mutated). */
  private owned: SequencedRecord[] | undefined;
  private released = false;

  /** A list of records already materialised (memory tail, live batches, decrypted records). */
  static of(records: SequencedRecord[], bytes?: number): RecordList {
    const list = new RecordList();
    if (records.length === 0) return list;
    list.pieces.push({ records });
    list.count = records.length;
    list.metered = bytes ?? records.reduce((n, r) => n + meteredBytes(r), 0);
    list.array = records;
    return list;
  }

  get length(): number {
    return this.count;
  }

  /** Metered size of the records (api.md 6.4). */
  get bytes(): number {
    return this.metered;
  }

  /** Appends record `i` of `block`; consecutive records of one block share a piece. */
  pushStored(block: RecordBlock, i: number, bytes: number): void {
    const last = this.pieces[this.pieces.length - 1];
    if (last && 'block' in last && last.block === block && last.to === i) last.to = i + 1;
    else {
      block.pin?.();
      this.pieces.push({ block, from: i, to: i + 1 });
      this.owned = undefined;
    }
    this.count++;
    this.metered += bytes;
    this.array = undefined;
  }

  pushRecord(record: SequencedRecord, bytes: number): void {
    const last = this.pieces[this.pieces.length - 1];
    if (last && 'records' in last && last.records === this.owned) last.records.push(record);
    else {
      this.owned = [record];
      this.pieces.push({ records: this.owned });
    }
    this.count++;
    this.metered += bytes;
    this.array = undefined;
  }

  /** Appends every record of `other` (unary reads gather several catch-up batches). */
  append(other: RecordList): void {
    for (const piece of other.pieces) {
      if ('block' in piece) piece.block.pin?.(); // this list's own pin: `other` may be released
      this.pieces.push('block' in piece ? { ...piece } : { records: piece.records });
    }
    this.owned = undefined;
    this.count += other.count;
    this.metered += other.metered;
    this.array = undefined;
  }

  seqNumAt(index: number): number {
    let at = index;
    for (const piece of this.pieces) {
      const n = 'block' in piece ? piece.to - piece.from : piece.records.length;
      if (at < n) return 'block' in piece ? piece.block.seqNum(piece.from + at) : piece.records[at]!.seqNum;
      at -= n;
    }
    throw new RangeError(`record ${index} of ${this.count}`);
  }

  /** The records as objects, materialised once (views of the stored blocks). */
  toArray(): SequencedRecord[] {
    if (this.array) return this.array;
    if (this.released) throw new Error('records of a released list'); // a bug: nothing may read it
    const out: SequencedRecord[] = [];
    for (const piece of this.pieces) {
      if ('records' in piece) {
        for (const record of piece.records) out.push(record);
      } else {
        for (let i = piece.from; i < piece.to; i++) out.push(piece.block.record(i));
      }
    }
    this.array = out;
    return out;
  }

  /**
   * The caller copied the records out (a protobuf page, an S2S frame) and drops the list: the
   * memory of its blocks may be reused from now on. Only for a list nothing else holds, nor any
   * record view of; a list never released keeps its blocks' memory out of the pool (the GC frees
   * it), which is always safe. Its length and metered bytes stay readable (read metrics).
   */
  release(): void {
    if (this.released) return;
    this.released = true;
    for (const piece of this.pieces) if ('block' in piece) piece.block.unpin?.();
    this.pieces.length = 0;
    this.array = undefined;
  }

  /** Drops the records below `seqNum` (a trim that landed while the read awaited the store). */
  dropBelow(seqNum: number): void {
    if (this.count === 0 || this.seqNumAt(0) >= seqNum) return;
    // The kept records are views of the blocks, whose pins stay taken for good: never reused.
    const kept = this.toArray().filter((r) => r.seqNum >= seqNum);
    const list = RecordList.of(kept);
    this.pieces.length = 0;
    this.pieces.push(...list.pieces);
    this.owned = undefined;
    this.count = list.count;
    this.metered = list.metered;
    this.array = kept;
  }
}
