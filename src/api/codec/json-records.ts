/**
 * JSON codecs for record data (api.md 4.5-4.6) with the `S2-Format` byte mapping (api.md 2, 6.6).
 *
 * Requests: `decodeAppendInputJson` (json-append.ts) decodes with exact u64s (api.md 1.9) and validates the shape the
 * way the reference's deserializer does. Every syntax error, wrong type or over-long fencing token is `400 bad_json`;
 * only the base64 decoding, which the reference performs after deserialization, is `422 invalid` (api.md 1.7), and
 * only if the whole body deserialized.
 *
 * Responses: hand-written serializers (no generic walk; `JSON.stringify` only for strings) because read responses
 * carry up to 1000 records per batch and SSE/long-poll readers hit them continuously.
 */
import type { AppendAck, SequencedRecord, StreamPosition } from '../../domain/types.js';
import { errors } from '../../domain/errors.js';
import { encodeBase64 } from '../../util/base64.js';
import type { ReadBatch } from './proto.js';

/** How record bytes map to JSON strings (api.md 6.6). */
export type RecordFormat = 'raw' | 'base64';

/** Parses `S2-Format` (api.md 2): `raw`/`json` or `base64`/`json-binsafe`, trimmed; absent means raw. */
export function parseFormatHeader(value: string | undefined): RecordFormat {
  if (value === undefined) return 'raw';
  switch (value.trim()) {
    case 'raw':
    case 'json':
      return 'raw';
    case 'base64':
    case 'json-binsafe':
      return 'base64';
    default:
      throw errors.invalidHeader('s2-format', 'expected one of `raw`, `json`, `base64`, `json-binsafe`');
  }
}

// ---------------------------------------------------------------------------------------------------------------
// Request decoding: one pass over the text, in json-append.ts.

export { decodeAppendInputJson } from './json-append.js';

// ---------------------------------------------------------------------------------------------------------------
// Response encoding

/**
 * Lossy UTF-8 for `raw` responses: each maximal invalid subsequence becomes one U+FFFD (the WHATWG decoder, i.e. the
 * Unicode "maximal subpart" practice that Rust's `from_utf8_lossy` also follows; a leading BOM is kept as U+FEFF).
 * `Buffer#toString` implements exactly that and is faster than `TextDecoder` for small slices.
 */
function utf8Lossy(bytes: Uint8Array): string {
  const buf = bytes instanceof Buffer ? bytes : Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength);
  return buf.toString('utf8');
}

/** Characters JSON requires escaping (decoded UTF-8 never holds lone surrogates, the only other case). */
// eslint-disable-next-line no-control-regex -- control characters are among what must be found
const needsEscape = /["\\\u0000-\u001f]/;

/** `JSON.stringify(text)`, but a native scan first: most record text needs no escaping, and quoting it is ~2x faster. */
function jsonString(text: string): string {
  return needsEscape.test(text) ? JSON.stringify(text) : `"${text}"`;
}

function jsonBytes(bytes: Uint8Array, format: RecordFormat): string {
  if (format === 'base64') return `"${encodeBase64(bytes)}"`; // the base64 alphabet needs no escaping
  return jsonString(utf8Lossy(bytes));
}

export function encodeStreamPositionJson(pos: StreamPosition): string {
  return `{"seq_num":${pos.seqNum},"timestamp":${pos.timestamp}}`;
}

/** TailResponse (api.md 4.5): check-tail 200 and read 416 bodies. */
export function encodeTailJson(tail: StreamPosition): string {
  return `{"tail":${encodeStreamPositionJson(tail)}}`;
}

export function encodeAppendAckJson(ack: AppendAck): string {
  return (
    `{"start":${encodeStreamPositionJson(ack.start)},"end":${encodeStreamPositionJson(ack.end)},` +
    `"tail":${encodeStreamPositionJson(ack.tail)}}`
  );
}

/** SequencedRecord (api.md 4.6): `headers` omitted when there are none, `body` omitted when empty. */
export function encodeSequencedRecordJson(record: SequencedRecord, format: RecordFormat): string {
  let out = `{"seq_num":${record.seqNum},"timestamp":${record.timestamp}`;
  const headers = record.headers;
  if (headers.length > 0) {
    out += ',"headers":[';
    for (let i = 0; i < headers.length; i++) {
      const [name, value] = headers[i];
      out += `${i > 0 ? ',' : ''}[${jsonBytes(name, format)},${jsonBytes(value, format)}]`;
    }
    out += ']';
  }
  if (record.body.length > 0) out += `,"body":${jsonBytes(record.body, format)}`;
  return out + '}';
}

/** ReadBatch (api.md 4.6): `tail` omitted when absent. Also the `data` of SSE `batch` events (api.md 8.4). */
export function encodeReadBatchJson(batch: ReadBatch, format: RecordFormat): string {
  let out = '{"records":[';
  const records = batch.records;
  for (let i = 0; i < records.length; i++) {
    if (i > 0) out += ',';
    out += encodeSequencedRecordJson(records[i], format);
  }
  out += ']';
  if (batch.tail) out += `,"tail":${encodeStreamPositionJson(batch.tail)}`;
  return out + '}';
}
