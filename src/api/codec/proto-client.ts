/**
 * The client's direction of the `s2.v1` protobuf messages (api.md 4.7): encodes `AppendInput`, decodes `ReadBatch`
 * and `AppendAck`. Used by tests, benchmarks and tools that talk to the server the way an SDK does; the server never
 * imports this file (its direction is proto.ts). Wire rules: proto-wire.ts.
 */
import type { AppendAck, AppendInput, AppendRecord, SequencedRecord } from '../../domain/types.js';
import { AssertionError } from '../../util/assert.js';
import type { ReadBatch } from './proto.js';
import {
  EMPTY,
  Reader,
  WIRE_LEN,
  WIRE_VARINT,
  decodeHeader,
  decodeStreamPositionInto,
  embedded,
  finish,
  headerSize,
  lenFieldSize,
  u64Size,
  varintSize,
  writeBytesField,
  writeHeader,
  writeU64,
  writeVarint,
  wrongWireType,
} from './proto-wire.js';

function decodeSequencedRecord(r: Reader): SequencedRecord {
  const record: SequencedRecord = { seqNum: 0, timestamp: 0n, headers: [], body: EMPTY };
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    switch (field) {
      case 1:
        if (wire !== WIRE_VARINT) wrongWireType('SequencedRecord', field, wire, WIRE_VARINT);
        record.seqNum = r.seqNum();
        break;
      case 2:
        if (wire !== WIRE_VARINT) wrongWireType('SequencedRecord', field, wire, WIRE_VARINT);
        record.timestamp = r.u64BigInt();
        break;
      case 3:
        if (wire !== WIRE_LEN) wrongWireType('SequencedRecord', field, wire, WIRE_LEN);
        record.headers.push(embedded(r, decodeHeader));
        break;
      case 4:
        if (wire !== WIRE_LEN) wrongWireType('SequencedRecord', field, wire, WIRE_LEN);
        record.body = r.bytes();
        break;
      default:
        r.skip(key);
    }
  }
  return record;
}

/** Decodes a `ReadBatch` (client side: tests, CLI, conformance). Throws `bad_proto` when malformed. */
export function decodeReadBatch(bytes: Uint8Array): ReadBatch {
  return decodeReadBatchInto(bytes, 0, bytes.length, { records: [] });
}

/**
 * Decodes the ReadBatch fields at `bytes[start, end)` into `batch` (records appended, the tail set):
 * for readers that see a batch in pieces and decode each run of whole fields where it lies
 * (bench/ours/s2s-records.ts). The run must end on a field boundary.
 */
export function decodeReadBatchInto(bytes: Uint8Array, start: number, end: number, batch: ReadBatch): ReadBatch {
  const r = new Reader(bytes, end);
  r.pos = start;
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    if (field === 1) {
      if (wire !== WIRE_LEN) wrongWireType('ReadBatch', field, wire, WIRE_LEN);
      batch.records.push(embedded(r, decodeSequencedRecord));
    } else if (field === 2) {
      if (wire !== WIRE_LEN) wrongWireType('ReadBatch', field, wire, WIRE_LEN);
      const tail = batch.tail ?? { seqNum: 0, timestamp: 0n };
      batch.tail = embedded(r, (rr) => decodeStreamPositionInto(rr, tail));
    } else {
      r.skip(key);
    }
  }
  return batch;
}

/** Decodes an `AppendAck` (client side). Absent positions decode as `{0, 0}`. Throws `bad_proto` when malformed. */
export function decodeAppendAck(bytes: Uint8Array): AppendAck {
  const r = new Reader(bytes, bytes.length);
  const ack: AppendAck = {
    start: { seqNum: 0, timestamp: 0n },
    end: { seqNum: 0, timestamp: 0n },
    tail: { seqNum: 0, timestamp: 0n },
  };
  while (r.pos < r.end) {
    const key = r.tag();
    const field = key >>> 3;
    const wire = key & 7;
    if (field >= 1 && field <= 3) {
      if (wire !== WIRE_LEN) wrongWireType('AppendAck', field, wire, WIRE_LEN);
      const target = field === 1 ? ack.start : field === 2 ? ack.end : ack.tail;
      embedded(r, (rr) => decodeStreamPositionInto(rr, target));
    } else {
      r.skip(key);
    }
  }
  return ack;
}

function appendRecordSize(rec: AppendRecord): number {
  let size = rec.timestamp !== undefined ? 1 + u64Size(rec.timestamp) : 0;
  for (const h of rec.headers) size += lenFieldSize(headerSize(h));
  if (rec.body.length) size += lenFieldSize(rec.body.length);
  return size;
}

/**
 * Encodes an `AppendInput` (client side: tests, CLI, benchmarks). `matchSeqNum` must be a safe integer here;
 * `fencingToken` is encoded as UTF-8.
 */
export function encodeAppendInput(input: AppendInput): Uint8Array {
  const sizes = input.records.map(appendRecordSize);
  let total = 0;
  for (const size of sizes) total += lenFieldSize(size);
  if (input.matchSeqNum !== undefined) {
    if (!Number.isSafeInteger(input.matchSeqNum) || input.matchSeqNum < 0) {
      throw new AssertionError(`matchSeqNum is not encodable: ${input.matchSeqNum}`);
    }
    total += 1 + varintSize(input.matchSeqNum);
  }
  const token = input.fencingToken !== undefined ? Buffer.from(input.fencingToken, 'utf8') : undefined;
  if (token) total += lenFieldSize(token.length);

  const buf = Buffer.allocUnsafe(total);
  let pos = 0;
  input.records.forEach((rec, i) => {
    buf[pos++] = 0x0a;
    pos = writeVarint(buf, pos, sizes[i]);
    if (rec.timestamp !== undefined) {
      buf[pos++] = 0x08;
      pos = writeU64(buf, pos, rec.timestamp);
    }
    for (const h of rec.headers) pos = writeHeader(buf, pos, 0x12, h);
    if (rec.body.length) pos = writeBytesField(buf, pos, 0x1a, rec.body);
  });
  if (input.matchSeqNum !== undefined) {
    buf[pos++] = 0x10;
    pos = writeVarint(buf, pos, input.matchSeqNum);
  }
  if (token) pos = writeBytesField(buf, pos, 0x1a, token);
  return finish(buf, pos);
}
