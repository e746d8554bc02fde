/**
 * `ReadBatch` (api.md 4.7) encoded from a `RecordList`: record ranges of stored blocks are written
 * straight from the block bytes (segment format 2 blocks hold them in this wire form already: one
 * copy per range; format 1: each record's field prefixes, then its header and body bytes copied
 * once into the response), records in memory as `encodeReadBatch` writes them. The output is
 * byte-identical to `encodeReadBatch({ records: list.toArray(), tail })`; what it saves is the
 * record object per record and the GC behind it (issue 14, the W8 catch-up profile).
 *
 * `reserve` leaves that many bytes free at the start, so an S2S frame header can be written in
 * front of the message without copying it into a frame (s2s/frame.ts `frameReserved`).
 */
import type { RecordBlock, RecordList } from '../../domain/record-list.js';
import type { StreamPosition } from '../../domain/types.js';
import { sequencedRecordSize, writeSequencedRecord } from './proto.js';
import {
  finish,
  lenFieldSize,
  positionFieldsSize,
  u64Size,
  varintSize,
  writeStreamPosition,
  writeU64,
  writeVarint,
} from './proto-wire.js';

const twoTo32 = 0x1_0000_0000;
/** Timestamps below 2^53 are written as numbers; above, as bigint (rare: client-set timestamps). */
const highSafe = 0x20_0000;

function u32(bytes: Uint8Array, at: number): number {
  return (bytes[at]! | (bytes[at + 1]! << 8) | (bytes[at + 2]! << 16)) + bytes[at + 3]! * 0x100_0000;
}

function timestampFieldSize(block: RecordBlock, i: number): number {
  const bytes = block.bytes;
  const at = block.timestampAt(i);
  const low = u32(bytes, at);
  const high = u32(bytes, at + 4);
  if (low === 0 && high === 0) return 0;
  if (high < highSafe) return 1 + varintSize(high * twoTo32 + low);
  return 1 + u64Size(block.timestamp(i));
}

/** Size of record `i` of `block` as a protobuf SequencedRecord (without its own tag and length). */
function storedRecordSize(block: RecordBlock, i: number): number {
  const bytes = block.bytes;
  const seqNum = block.seqNum(i);
  let size = (seqNum ? 1 + varintSize(seqNum) : 0) + timestampFieldSize(block, i);
  let pos = block.headersAt(i);
  for (let h = block.headerCount(i); h > 0; h--) {
    const nameLength = u32(bytes, pos);
    pos += 4 + nameLength;
    const valueLength = u32(bytes, pos);
    pos += 4 + valueLength;
    size += lenFieldSize((nameLength ? lenFieldSize(nameLength) : 0) + (valueLength ? lenFieldSize(valueLength) : 0));
  }
  const bodyLength = block.bodyLength(i);
  return bodyLength ? size + lenFieldSize(bodyLength) : size;
}

function copy(source: Buffer, target: Uint8Array, pos: number, start: number, length: number): number {
  source.copy(target, pos, start, start + length);
  return pos + length;
}

function writeStoredRecord(block: RecordBlock, source: Buffer, i: number, buf: Uint8Array, pos: number): number {
  const seqNum = block.seqNum(i);
  if (seqNum) {
    buf[pos++] = 0x08;
    pos = writeVarint(buf, pos, seqNum);
  }
  const at = block.timestampAt(i);
  const low = u32(source, at);
  const high = u32(source, at + 4);
  if (low !== 0 || high !== 0) {
    buf[pos++] = 0x10;
    pos = high < highSafe ? writeVarint(buf, pos, high * twoTo32 + low) : writeU64(buf, pos, block.timestamp(i));
  }
  let from = block.headersAt(i);
  for (let h = block.headerCount(i); h > 0; h--) {
    const nameLength = u32(source, from);
    const nameAt = from + 4;
    from = nameAt + nameLength;
    const valueLength = u32(source, from);
    const valueAt = from + 4;
    from = valueAt + valueLength;
    buf[pos++] = 0x1a;
    pos = writeVarint(
      buf,
      pos,
      (nameLength ? lenFieldSize(nameLength) : 0) + (valueLength ? lenFieldSize(valueLength) : 0),
    );
    if (nameLength) {
      buf[pos++] = 0x0a;
      pos = copy(source, buf, writeVarint(buf, pos, nameLength), nameAt, nameLength);
    }
    if (valueLength) {
      buf[pos++] = 0x12;
      pos = copy(source, buf, writeVarint(buf, pos, valueLength), valueAt, valueLength);
    }
  }
  const bodyLength = block.bodyLength(i);
  if (bodyLength) {
    buf[pos++] = 0x22;
    pos = copy(source, buf, writeVarint(buf, pos, bodyLength), block.bodyAt(i), bodyLength);
  }
  return pos;
}

function asBuffer(bytes: Uint8Array): Buffer {
  return Buffer.isBuffer(bytes) ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
}

/**
 * Encodes `list` (and `tail`, for live batches and heartbeats) as one `ReadBatch`, after `reserve`
 * free bytes, into memory from `take` (default: fresh; catch-up passes reused buffers, out-buffers.ts).
 */
export function encodeReadBatchList(
  list: RecordList,
  tail?: StreamPosition,
  reserve = 0,
  take: (size: number) => Buffer = Buffer.allocUnsafe,
): Uint8Array {
  // Record sizes are needed twice (for the total and for each length prefix); compute them once.
  const sizes = new Int32Array(list.length);
  let total = reserve;
  let n = 0;
  for (const piece of list.pieces) {
    if ('block' in piece) {
      const start = piece.block.wireAt(piece.from);
      if (start >= 0) total += piece.block.wireAt(piece.to) - start;
      else {
        for (let i = piece.from; i < piece.to; i++)
          total += lenFieldSize((sizes[n++] = storedRecordSize(piece.block, i)));
      }
    } else {
      for (const record of piece.records) total += lenFieldSize((sizes[n++] = sequencedRecordSize(record)));
    }
  }
  if (tail) total += lenFieldSize(positionFieldsSize(tail));
  const buf = take(total);
  let pos = reserve;
  n = 0;
  for (const piece of list.pieces) {
    if ('block' in piece) {
      const source = asBuffer(piece.block.bytes);
      const start = piece.block.wireAt(piece.from);
      if (start >= 0) {
        // Segment format 2: the records are already ReadBatch entries; one copy of the whole run.
        pos = copy(source, buf, pos, start, piece.block.wireAt(piece.to) - start);
        continue;
      }
      for (let i = piece.from; i < piece.to; i++) {
        buf[pos++] = 0x0a;
        pos = writeStoredRecord(piece.block, source, i, buf, writeVarint(buf, pos, sizes[n++]!));
      }
    } else {
      for (const record of piece.records) {
        buf[pos++] = 0x0a;
        pos = writeSequencedRecord(buf, writeVarint(buf, pos, sizes[n++]!), record);
      }
    }
  }
  if (tail) pos = writeStreamPosition(buf, pos, 0x12, tail);
  return finish(buf, pos);
}
