/**
 * Record formats of `append` and `read`, one record per line, as in the official CLI:
 * - `text` (alias `raw`): the line is the body, byte for byte; no headers.
 * - `json`: `{"headers":[["k","v"]],"body":"...","timestamp":123}` with UTF-8 strings. Binary data
 *   does not survive it on the way out (invalid UTF-8 is shown as U+FFFD), as in the API's raw format.
 * - `json-base64` (aliases `base64`, `json-binsafe`): the same with standard padded base64 strings.
 * Reads print `seq_num` and `timestamp` as well; `append` ignores a `seq_num` so the output of
 * `read --format json` can be piped back in.
 */
import { AppendRecord, type ReadRecord } from '@s2-dev/streamstore';
import { InvalidArgumentError } from 'commander';

export type RecordFormat = 'text' | 'json' | 'json-base64';

const aliases: Record<string, RecordFormat> = {
  text: 'text',
  raw: 'text',
  json: 'json',
  'json-base64': 'json-base64',
  base64: 'json-base64',
  'json-binsafe': 'json-base64',
};

export function parseFormat(text: string): RecordFormat {
  const format = aliases[text.toLowerCase()];
  if (!format) throw new InvalidArgumentError(`expected one of ${Object.keys(aliases).join(', ')}`);
  return format;
}

const utf8 = new TextEncoder();
const lossyUtf8 = new TextDecoder('utf-8', { fatal: false });
const strictUtf8 = new TextDecoder('utf-8', { fatal: true });
const base64Pattern = /^(?:[A-Za-z0-9+/]{4})*(?:[A-Za-z0-9+/]{2}==|[A-Za-z0-9+/]{3}=)?$/;

/** Strict RFC 4648 base64 with padding, as the API requires. */
export function decodeBase64(text: string, what: string): Uint8Array {
  if (!base64Pattern.test(text)) throw new Error(`${what}: invalid base64 \`${text.slice(0, 40)}\``);
  return new Uint8Array(Buffer.from(text, 'base64'));
}

function encodeBase64(bytes: Uint8Array): string {
  return Buffer.from(bytes.buffer, bytes.byteOffset, bytes.byteLength).toString('base64');
}

/** One input line (without its newline) as a record; `lineNo` (1-based) makes errors findable. */
export function parseRecordLine(line: Uint8Array, format: RecordFormat, lineNo: number): AppendRecord {
  if (format === 'text') return AppendRecord.bytes({ body: line });
  const where = `line ${lineNo}`;
  let value: unknown;
  try {
    value = JSON.parse(strictUtf8.decode(line));
  } catch (error) {
    throw new Error(`${where}: not a JSON record (${(error as Error).message})`);
  }
  if (value === null || typeof value !== 'object' || Array.isArray(value))
    throw new Error(`${where}: expected a JSON object`);
  const obj = value as Record<string, unknown>;
  for (const key of Object.keys(obj)) {
    if (!['headers', 'body', 'timestamp', 'seq_num'].includes(key)) {
      throw new Error(`${where}: unknown field \`${key}\` (expected headers, body, timestamp)`);
    }
  }
  const bytes = (text: unknown, what: string): Uint8Array => {
    if (typeof text !== 'string') throw new Error(`${where}: ${what} must be a string`);
    return format === 'json' ? utf8.encode(text) : decodeBase64(text, `${where}: ${what}`);
  };
  const headers: [Uint8Array, Uint8Array][] = [];
  if (obj.headers != null) {
    if (!Array.isArray(obj.headers)) throw new Error(`${where}: headers must be an array of [name, value] pairs`);
    obj.headers.forEach((pair: unknown, i) => {
      if (!Array.isArray(pair) || pair.length !== 2)
        throw new Error(`${where}: headers[${i}] must be a [name, value] pair`);
      headers.push([bytes(pair[0], `headers[${i}] name`), bytes(pair[1], `headers[${i}] value`)]);
    });
  }
  const body = obj.body == null ? new Uint8Array(0) : bytes(obj.body, 'body');
  let timestamp: number | undefined;
  if (obj.timestamp != null) {
    if (typeof obj.timestamp !== 'number' || !Number.isSafeInteger(obj.timestamp) || obj.timestamp < 0) {
      throw new Error(`${where}: timestamp must be a non-negative integer (milliseconds)`);
    }
    timestamp = obj.timestamp;
  }
  return AppendRecord.bytes({ body, headers, ...(timestamp !== undefined ? { timestamp } : {}) });
}

/** Command records (fence, trim) have exactly one header, with an empty name (api.md 6.3). */
export function commandOf(record: ReadRecord<'bytes'>): string | undefined {
  if (record.headers.length !== 1 || record.headers[0]![0].length !== 0) return undefined;
  return lossyUtf8.decode(record.headers[0]![1]);
}

/** A human description of a command record, for text output where it has no body line. */
export function describeCommand(record: ReadRecord<'bytes'>): string | undefined {
  const command = commandOf(record);
  if (command === undefined) return undefined;
  if (command === 'fence')
    return `fence at seq_num ${record.seqNum}: fencing token ${JSON.stringify(lossyUtf8.decode(record.body))}`;
  if (command === 'trim' && record.body.length === 8) {
    const point = Buffer.from(record.body.buffer, record.body.byteOffset, 8).readBigUInt64BE(0);
    return `trim at seq_num ${record.seqNum}: trim point ${point}`;
  }
  return `command ${JSON.stringify(command)} at seq_num ${record.seqNum}`;
}

/** One output line for a record, newline included. */
export function formatRecord(record: ReadRecord<'bytes'>, format: RecordFormat): Uint8Array | string {
  if (format === 'text') {
    const line = new Uint8Array(record.body.length + 1);
    line.set(record.body);
    line[record.body.length] = 0x0a;
    return line;
  }
  const str = format === 'json' ? (b: Uint8Array) => lossyUtf8.decode(b) : encodeBase64;
  const json = {
    seq_num: record.seqNum,
    timestamp: record.timestamp.getTime(),
    headers: record.headers.map(([name, value]) => [str(name), str(value)]),
    body: str(record.body),
  };
  return `${JSON.stringify(json)}\n`;
}

/**
 * Splits a byte stream into lines (LF, with a CR before it dropped, like Rust's `lines()`); a
 * final line without a newline still counts, an empty input has no lines.
 */
export async function* lines(input: AsyncIterable<Uint8Array | string>): AsyncGenerator<Uint8Array> {
  let pending: Buffer = Buffer.alloc(0);
  for await (const chunk of input) {
    const data = pending.length > 0 ? Buffer.concat([pending, Buffer.from(chunk)]) : Buffer.from(chunk);
    let start = 0;
    for (let nl = data.indexOf(0x0a, start); nl !== -1; nl = data.indexOf(0x0a, start)) {
      const end = nl > start && data[nl - 1] === 0x0d ? nl - 1 : nl;
      yield new Uint8Array(data.subarray(start, end));
      start = nl + 1;
    }
    pending = Buffer.from(data.subarray(start));
  }
  if (pending.length > 0) yield new Uint8Array(pending.at(-1) === 0x0d ? pending.subarray(0, -1) : pending);
}
