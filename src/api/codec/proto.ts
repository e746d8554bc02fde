/**
 * Hand-written protobuf codec for the `s2.v1` messages (api.md 4.7, proto/s2/v1/s2.proto), used by unary protobuf
 * append/read and as S2S frame payloads (api.md 9.2).
 *
 * Why hand-written: the messages are few and fixed, the read path encodes up to 1000 records per batch, and u64
 * timestamps must map to `bigint` exactly. Encoders compute the exact size first and write into one buffer; decoders
 * walk the input once. Decoded `bytes` fields are zero-copy views into the input, so callers must not mutate the
 * input afterwards.
 *
 * This file holds the server's direction only: it decodes `AppendInput` and encodes `ReadBatch` and `AppendAck`. The
 * wire reader and writer and their rules are in proto-wire.ts; the opposite direction (what a client sends and
 * reads) is in proto-client.ts, which the server never imports.
 */
import type { AppendAck, AppendInput, AppendRecord, SequencedRecord, StreamPosition } from '../../domain/types.js';
import {
  EMPTY,
  Reader,
  WIRE_LEN,
  WIRE_VARINT,
  decodeHeader,
  embedded,
  finish,
  headerSize,
  lenFieldSize,
  positionFieldsSize,
  writeBytesField,
  writeHeader,
  writePositionFields,
  writeStreamPosition,
  writeVarint,
  wrongWireType,
} from './proto-wire.js';

export interface ReadBatch {
  records: SequencedRecord[];
  /** Present for batches delivered while following, and heartbeats (api.md 8.3). */
  tail?: StreamPosition;
}

function decodeAppendRecord(r: Reader): AppendRecord {
  const record: AppendRecord = { headers: [], body: EMPTY };
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    switch (field) {
      case 1:
        if (wire !== WIRE_VARINT) wrongWireType('AppendRecord', field, wire, WIRE_VARINT);
        record.timestamp = r.u64BigInt();
        break;
      case 2:
        if (wire !== WIRE_LEN) wrongWireType('AppendRecord', field, wire, WIRE_LEN);
        record.headers.push(embedded(r, decodeHeader));
        break;
      case 3:
        if (wire !== WIRE_LEN) wrongWireType('AppendRecord', field, wire, WIRE_LEN);
        record.body = r.bytes();
        break;
      default:
        r.skip(key);
    }
  }
  return record;
}

/** Decodes a protobuf `AppendInput` (unary append body or S2S input frame). Throws `bad_proto` when malformed. */
export function decodeAppendInput(bytes: Uint8Array): AppendInput {
  const r = new Reader(bytes, bytes.length);
  const input: AppendInput = { records: [] };
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    switch (field) {
      case 1:
        if (wire !== WIRE_LEN) wrongWireType('AppendInput', field, wire, WIRE_LEN);
        input.records.push(embedded(r, decodeAppendRecord));
        break;
      case 2:
        if (wire !== WIRE_VARINT) wrongWireType('AppendInput', field, wire, WIRE_VARINT);
        input.matchSeqNum = r.u64Number();
        break;
      case 3:
        if (wire !== WIRE_LEN) wrongWireType('AppendInput', field, wire, WIRE_LEN);
        input.fencingToken = r.string();
        break;
      default:
        r.skip(key);
    }
  }
  return input;
}

/** Size of a SequencedRecord message body (without its tag and length). */
export function sequencedRecordSize(rec: SequencedRecord): number {
  let size = positionFieldsSize(rec);
  const headers = rec.headers;
  for (let i = 0; i < headers.length; i++) size += lenFieldSize(headerSize(headers[i]));
  if (rec.body.length) size += lenFieldSize(rec.body.length);
  return size;
}

/** Encodes a `ReadBatch` (unary protobuf read, S2S read frames, heartbeats) into one buffer. */
export function encodeReadBatch(batch: ReadBatch): Uint8Array {
  const records = batch.records;
  // Record sizes are needed twice (for the total and for each length prefix); compute them once.
  const sizes = new Array<number>(records.length);
  let total = 0;
  for (let i = 0; i < records.length; i++) {
    const size = sequencedRecordSize(records[i]);
    sizes[i] = size;
    total += lenFieldSize(size);
  }
  if (batch.tail) total += lenFieldSize(positionFieldsSize(batch.tail));

  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  for (let i = 0; i < records.length; i++) {
    buf[pos++] = 0x0a;
    pos = writeSequencedRecord(buf, writeVarint(buf, pos, sizes[i]), records[i]);
  }
  if (batch.tail) pos = writeStreamPosition(buf, pos, 0x12, batch.tail);
  return finish(buf, pos);
}

/** Writes a SequencedRecord message body (see sequencedRecordSize). */
export function writeSequencedRecord(buf: Uint8Array, pos: number, rec: SequencedRecord): number {
  pos = writePositionFields(buf, pos, rec);
  const headers = rec.headers;
  for (let j = 0; j < headers.length; j++) pos = writeHeader(buf, pos, 0x1a, headers[j]);
  if (rec.body.length) pos = writeBytesField(buf, pos, 0x22, rec.body);
  return pos;
}

/** Size of an encoded `AppendAck` (see writeAppendAck). */
export function appendAckSize(ack: AppendAck): number {
  return (
    lenFieldSize(positionFieldsSize(ack.start)) +
    lenFieldSize(positionFieldsSize(ack.end)) +
    lenFieldSize(positionFieldsSize(ack.tail))
  );
}

/** Writes an `AppendAck` (all three positions are always set, api.md 4.7) at `pos`; returns the end. */
export function writeAppendAck(buf: Uint8Array, pos: number, ack: AppendAck): number {
  pos = writeStreamPosition(buf, pos, 0x0a, ack.start);
  pos = writeStreamPosition(buf, pos, 0x12, ack.end);
  return writeStreamPosition(buf, pos, 0x1a, ack.tail);
}

/** Encodes an `AppendAck` into a buffer of its own. */
export function encodeAppendAck(ack: AppendAck): Uint8Array {
  const buf = Buffer.allocUnsafe(appendAckSize(ack));
  return finish(buf, writeAppendAck(buf, 0, ack));
}
