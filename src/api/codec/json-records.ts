/**
 * JSON codecs for record data (api.md 4.5-4.6) with the `S2-Format` byte mapping (api.md 2, 6.6).
 *
 * Requests: `decodeAppendInputJson` parses with exact u64s (api.md 1.9) and validates the shape the way the
 * reference's deserializer does. Every syntax error, wrong type or over-long fencing token is `400 bad_json`; only
 * the base64 decoding, which the reference performs after deserialization, is `422 invalid` (api.md 1.7), and only if
 * the whole body deserialized.
 *
 * Responses: hand-written serializers (no generic walk; `JSON.stringify` only for strings) because read responses
 * carry up to 1000 records per batch and SSE/long-poll readers hit them continuously.
 */
import type {
  AppendAck,
  AppendInput,
  AppendRecord,
  Header,
  SequencedRecord,
  StreamPosition,
} from '../../domain/types.js';
import { errors } from '../../domain/errors.js';
import { fencingTokenBytesMax } from '../../limits.js';
import { decodeBase64Strict, encodeBase64 } from '../../util/base64.js';
import { parseJson } from '../../util/json.js';
import type { ReadBatch } from './proto.js';
import { unmatchableSeqNum } from './proto-wire.js';

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
// Request decoding

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const EMPTY: Uint8Array = new Uint8Array(0);

class JsonShapeError extends Error {}

function fail(path: string, expected: string, value: unknown): never {
  throw new JsonShapeError(`${path}: invalid type: ${describe(value)}, expected ${expected}`);
}

function describe(value: unknown): string {
  if (value === null) return 'null';
  if (Array.isArray(value)) return 'a sequence';
  switch (typeof value) {
    case 'string':
      return 'a string';
    case 'number':
    case 'bigint':
      return `number ${value}`;
    case 'boolean':
      return `boolean \`${value}\``;
    default:
      return 'a map';
  }
}

function isPlainObject(value: unknown): value is Record<string, unknown> {
  return value !== null && typeof value === 'object' && !Array.isArray(value);
}

/** Own properties only, so a `__proto__` key in the body can never supply a field. */
function field(obj: Record<string, unknown>, key: string): unknown {
  return Object.hasOwn(obj, key) ? obj[key] : undefined;
}

/** A u64 from a lossless-parsed number: exact integers in [0, 2^64 - 1] only. */
function u64(value: unknown, path: string): bigint {
  if (typeof value === 'number' && Number.isSafeInteger(value) && value >= 0) return BigInt(value);
  if (typeof value === 'bigint' && value >= 0n && value <= U64_MAX) return value;
  fail(path, 'u64', value);
}

/** Strings reach us as UTF-16; one with a lone surrogate came from a `\uD800`-style escape the reference refuses. */
function wellFormed(value: string, path: string): string {
  if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed()) {
    throw new JsonShapeError(`${path}: lone surrogate in string`);
  }
  return value;
}

interface Decoding {
  format: RecordFormat;
  /** Set when a string was not valid base64; reported (422) only if the whole body deserializes. */
  badBase64: boolean;
}

function bytesOf(value: unknown, path: string, d: Decoding): Uint8Array {
  if (typeof value !== 'string') fail(path, 'a string', value);
  wellFormed(value, path);
  if (d.format === 'raw') return value.length === 0 ? EMPTY : Buffer.from(value, 'utf8');
  const bytes = decodeBase64Strict(value);
  if (bytes === null) {
    d.badBase64 = true;
    return EMPTY;
  }
  return bytes;
}

function decodeHeaders(value: unknown, path: string, d: Decoding): Header[] {
  if (value === undefined || value === null) return [];
  if (!Array.isArray(value)) fail(path, 'a sequence of [name, value] pairs', value);
  const headers: Header[] = new Array<Header>(value.length);
  for (let i = 0; i < value.length; i++) {
    const pair: unknown = value[i];
    const at = `${path}[${i}]`;
    if (!Array.isArray(pair) || pair.length !== 2) fail(at, 'a [name, value] pair of strings', pair);
    headers[i] = [bytesOf(pair[0], `${at}[0]`, d), bytesOf(pair[1], `${at}[1]`, d)];
  }
  return headers;
}

function decodeRecord(value: unknown, path: string, d: Decoding): AppendRecord {
  if (!isPlainObject(value)) fail(path, 'a record object', value);
  const timestamp = field(value, 'timestamp');
  const body = field(value, 'body');
  const record: AppendRecord = {
    headers: decodeHeaders(field(value, 'headers'), `${path}.headers`, d),
    body: body === undefined || body === null ? EMPTY : bytesOf(body, `${path}.body`, d),
  };
  if (timestamp !== undefined && timestamp !== null) record.timestamp = u64(timestamp, `${path}.timestamp`);
  return record;
}

/**
 * Decodes a JSON `AppendInput` (api.md 4.6) in the given format. Throws `bad_json` for anything the reference's
 * deserializer would reject, then `invalid` ("invalid Base64 encoding") if a base64 string did not decode.
 *
 * Lenient where the reference may or may not be: `null` for `headers`/`body` means absent, and a float literal with an
 * integral value (e.g. `1.0`) is accepted as a u64 where it is a safe integer. `match_seq_num` above 2^53 - 1 becomes
 * `unmatchableSeqNum` (Infinity, never matches; see proto-wire.ts).
 */
export function decodeAppendInputJson(text: string, format: RecordFormat): AppendInput {
  let doc: unknown;
  try {
    doc = parseJson(text);
  } catch (e) {
    throw errors.badJson(`Failed to parse the request body as JSON: ${(e as Error).message}`);
  }
  const d: Decoding = { format, badBase64: false };
  let input: AppendInput;
  try {
    input = decodeAppendInputValue(doc, d);
  } catch (e) {
    if (e instanceof JsonShapeError) {
      throw errors.badJson(`Failed to deserialize the JSON body into the target type: ${e.message}`);
    }
    throw e;
  }
  if (d.badBase64) throw errors.invalid('invalid Base64 encoding');
  return input;
}

function decodeAppendInputValue(doc: unknown, d: Decoding): AppendInput {
  if (!isPlainObject(doc)) fail('body', 'an AppendInput object', doc);
  const records = field(doc, 'records');
  if (records === undefined) throw new JsonShapeError('missing field `records`');
  if (!Array.isArray(records)) fail('records', 'a sequence of records', records);
  const input: AppendInput = { records: new Array<AppendRecord>(records.length) };
  for (let i = 0; i < records.length; i++) input.records[i] = decodeRecord(records[i], `records[${i}]`, d);

  const match = field(doc, 'match_seq_num');
  if (match !== undefined && match !== null) {
    const value = u64(match, 'match_seq_num');
    input.matchSeqNum = value <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(value) : unmatchableSeqNum;
  }
  const token = field(doc, 'fencing_token');
  if (token !== undefined && token !== null) {
    if (typeof token !== 'string') fail('fencing_token', 'a string', token);
    wellFormed(token, 'fencing_token');
    const length = Buffer.byteLength(token, 'utf8');
    if (length > fencingTokenBytesMax) {
      throw new JsonShapeError(
        `fencing_token: fencing token must not exceed ${fencingTokenBytesMax} bytes in length, got ${length}`,
      );
    }
    input.fencingToken = token;
  }
  return input;
}

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
