/**
 * JSON append bodies (AppendInput, api.md 4.6) decoded in one pass over the text, straight into records: no generic
 * JSON value is built. Any client can send 2 MiB of any shape to this path (even for a stream that does not exist),
 * and building values was what cost: 190k distinct keys or a million-deep nesting in an ignored field, a
 * million-digit number through `BigInt` took from a third of a second to seconds per MB. Here fields the reference
 * ignores are skipped with validation but without building (util/json-scan.ts), short strings are copied into one
 * arena, and what remains is what the records themselves cost: 190k one-byte headers are still 380k `Uint8Array`s
 * (as in protobuf). The route decodes in slices (`decodeAppendInputJsonSliced`), so that no body holds the event
 * loop for more than a few milliseconds at a time (bench/micro/json-shapes.ts measures every shape).
 *
 * Same outcomes as deserializing with serde and then decoding (the reference's order):
 * - invalid JSON anywhere is `400 bad_json` "Failed to parse...", whatever else is wrong;
 * - else a wrong type anywhere is `400 bad_json` "Failed to deserialize..." (the first one in document order);
 * - else a string that is not valid base64 (`S2-Format: base64`) is `422 invalid` "invalid Base64 encoding";
 * - else more than `appendRecordsMax` records is `422 invalid`, the first check the engine would make. Records past
 *   the limit are checked but not built, since the batch is refused anyway.
 * Every other limit (sizes, commands) is the engine's (engine/records.ts), on the decoded records.
 *
 * Lenient where the reference may or may not be: `null` for `headers`/`body`/`timestamp` means absent; a float
 * literal with an integral value (e.g. `1.0`) is accepted as a u64 where it is a safe integer; a field given twice
 * takes its last value (both are checked). `match_seq_num` above 2^53 - 1 becomes `unmatchableSeqNum` (Infinity,
 * never matches; see proto.ts). Keys are compared after decoding escapes; `__proto__` is just an unknown key.
 */
import type { AppendInput, AppendRecord, Header } from '../../domain/types.js';
import { errors } from '../../domain/errors.js';
import { appendRecordsMax, fencingTokenBytesMax } from '../../limits.js';
import { decodeBase64Strict } from '../../util/base64.js';
import {
  checkEnd,
  lastStringEscaped,
  scanNumber,
  scanString,
  skipWhitespace,
  syntaxError,
  ValueSkipper,
} from '../../util/json-scan.js';
import type { RecordFormat } from './json-records.js';
import { unmatchableSeqNum } from './proto-wire.js';

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const EMPTY: Uint8Array = new Uint8Array(0);
/** u64 max has 20 digits: longer integer literals are out of range without converting them. */
const u64DigitsMax = 20;

const LBRACE = 0x7b;
const RBRACE = 0x7d;
const LBRACKET = 0x5b;
const RBRACKET = 0x5d;
const QUOTE = 0x22;
const COMMA = 0x2c;
const COLON = 0x3a;

class ShapeError extends Error {}

/**
 * Decodes a JSON `AppendInput` in the given format (see the module comment for the errors), in one go. `text` is the
 * body as UTF-16 (decoded from UTF-8, or latin1 for pure ASCII).
 */
export function decodeAppendInputJson(text: string, format: RecordFormat): AppendInput {
  const decoder = new AppendInputDecoder(text, format, Infinity);
  const steps = decoder.run();
  for (;;) {
    const step = next(steps);
    if (step.done) return decoder.finish(step.value);
  }
}

/**
 * The same, giving the event loop back every `sliceMs` of work: the worst shapes cost what their records cost
 * (190k one-byte headers are 380k buffers, as in protobuf), and no request may hold every other client that long.
 */
export async function decodeAppendInputJsonSliced(
  text: string,
  format: RecordFormat,
  sliceMs = 5,
): Promise<AppendInput> {
  const decoder = new AppendInputDecoder(text, format, sliceMs);
  const steps = decoder.run();
  for (;;) {
    const step = next(steps);
    if (step.done) return decoder.finish(step.value);
    await new Promise((resolve) => setImmediate(resolve));
  }
}

function next(steps: Generator<void, AppendInput>): IteratorResult<void, AppendInput> {
  try {
    return steps.next();
  } catch (error) {
    if (error instanceof SyntaxError)
      throw errors.badJson(`Failed to parse the request body as JSON: ${error.message}`);
    if (error instanceof ShapeError) {
      throw errors.badJson(`Failed to deserialize the JSON body into the target type: ${error.message}`);
    }
    throw error;
  }
}

/** Printable ASCII except the quote and the backslash: bytes equal to their characters. */
const printableAscii = /[\x20\x21\x23-\x5b\x5d-\x7e]*/y;
/** Strings up to this long are copied into the decoder's arena; longer ones get a buffer of their own. */
const arenaStringMax = 1024;
const arenaChunkBytes = 64 * 1024;

/** Where the decoder is, for the path in an error message (built only then). */
const enum At {
  Body,
  Records,
  Record,
  RecordBody,
  Timestamp,
  Headers,
  Header,
  HeaderName,
  HeaderValue,
  MatchSeqNum,
  FencingToken,
}

/** Work between two looks at the clock: records, headers, or this many bytes of skipped values. */
const stepsPerCheck = 256;
const skipBytesPerStep = 64;

class AppendInputDecoder {
  private pos = 0;
  private steps = 0;
  private sliceStart = performance.now();
  /** Set when a string was not valid base64; reported (422) only if the whole body deserializes. */
  badBase64 = false;
  /** Records in the (last) `records` array, including those past the limit that were not built. */
  recordCount = 0;
  private record = 0;
  private header = 0;
  /**
   * Short strings' bytes are copied into chunks of this arena and handed out as views: one allocation per chunk
   * instead of one per string (190k tiny headers are 380k strings). A chunk lives as long as any record using it.
   */
  private arena: Buffer = Buffer.alloc(0);
  private arenaUsed = 0;

  constructor(
    private readonly text: string,
    private readonly format: RecordFormat,
    /** Yield once this much time passed since the last yield (Infinity: never). */
    private readonly sliceMs: number,
  ) {}

  /** The decoding, yielding between slices; throws `SyntaxError` or `ShapeError`. */
  *run(): Generator<void, AppendInput> {
    try {
      return yield* this.decode();
    } catch (error) {
      if (!(error instanceof ShapeError)) throw error;
      // A syntax error later in the body takes precedence (serde parses before it deserializes).
      this.pos = 0;
      yield* this.skip();
      checkEnd(this.text, this.pos);
      throw error;
    }
  }

  /** The 422 outcomes, once the whole body deserialized. */
  finish(input: AppendInput): AppendInput {
    if (this.badBase64) throw errors.invalid('invalid Base64 encoding');
    if (this.recordCount > appendRecordsMax) {
      throw errors.invalid(`record batch must not exceed ${appendRecordsMax} records`);
    }
    return input;
  }

  /** Counts `n` steps of work; true when the slice is over (the caller yields). */
  private tick(n = 1): boolean {
    this.steps += n;
    if (this.steps < stepsPerCheck) return false;
    this.steps = 0;
    if (performance.now() - this.sliceStart < this.sliceMs) return false;
    this.sliceStart = performance.now();
    return true;
  }

  /** Skips the value at `pos` (an ignored field), in slices. */
  private *skip(): Generator<void, void> {
    const skipper = new ValueSkipper(this.text, this.pos);
    const sliceBytes = stepsPerCheck * skipBytesPerStep;
    while (!skipper.run(skipper.pos + sliceBytes)) {
      if (this.tick(stepsPerCheck)) yield;
    }
    this.pos = skipper.pos;
  }

  private *decode(): Generator<void, AppendInput> {
    const text = this.text;
    this.pos = skipWhitespace(text, 0);
    if (text.charCodeAt(this.pos) !== LBRACE) this.fail(At.Body, 'an AppendInput object');
    let records: AppendRecord[] | undefined;
    let matchSeqNum: number | undefined;
    let fencingToken: string | undefined;
    for (let key = this.firstKey(); key !== undefined; key = this.nextKey()) {
      if (key === 'records') {
        records = yield* this.records();
      } else if (key === 'match_seq_num') {
        const value = this.isNull() ? undefined : this.u64(At.MatchSeqNum);
        matchSeqNum =
          value === undefined
            ? undefined
            : value <= BigInt(Number.MAX_SAFE_INTEGER)
              ? Number(value)
              : unmatchableSeqNum;
      } else if (key === 'fencing_token') {
        fencingToken = this.isNull() ? undefined : this.fencingToken();
      } else {
        yield* this.skip();
      }
    }
    checkEnd(text, this.pos);
    if (records === undefined) throw new ShapeError('missing field `records`');
    const input: AppendInput = { records };
    if (matchSeqNum !== undefined) input.matchSeqNum = matchSeqNum;
    if (fencingToken !== undefined) input.fencingToken = fencingToken;
    return input;
  }

  /** The `records` array: records up to the limit are built, later ones only checked. */
  private *records(): Generator<void, AppendRecord[]> {
    if (this.text.charCodeAt(this.pos) !== LBRACKET) this.fail(At.Records, 'a sequence of records');
    const records: AppendRecord[] = [];
    let count = 0;
    for (let more = this.firstItem(); more; more = this.nextItem()) {
      this.record = count;
      const record = yield* this.oneRecord(count < appendRecordsMax);
      if (record) records.push(record);
      count++;
      if (this.tick()) yield;
    }
    this.recordCount = count;
    return records;
  }

  private *oneRecord(build: boolean): Generator<void, AppendRecord | undefined> {
    if (this.text.charCodeAt(this.pos) !== LBRACE) this.fail(At.Record, 'a record object');
    let headers: Header[] = [];
    let body = EMPTY;
    let timestamp: bigint | undefined;
    for (let key = this.firstKey(); key !== undefined; key = this.nextKey()) {
      if (key === 'headers') {
        headers = this.isNull() ? [] : yield* this.headers(build);
      } else if (key === 'body') {
        body = this.isNull() ? EMPTY : this.bytes(build, At.RecordBody);
      } else if (key === 'timestamp') {
        timestamp = this.isNull() ? undefined : this.u64(At.Timestamp);
      } else {
        yield* this.skip();
      }
    }
    if (!build) return undefined;
    const record: AppendRecord = { headers, body };
    if (timestamp !== undefined) record.timestamp = timestamp;
    return record;
  }

  private *headers(build: boolean): Generator<void, Header[]> {
    const text = this.text;
    if (text.charCodeAt(this.pos) !== LBRACKET) this.fail(At.Headers, 'a sequence of [name, value] pairs');
    const headers: Header[] = [];
    const expected = 'a [name, value] pair of strings';
    for (let j = 0, more = this.firstItem(); more; j++, more = this.nextItem()) {
      this.header = j;
      if (text.charCodeAt(this.pos) !== LBRACKET) this.fail(At.Header, expected);
      const pairStart = this.pos;
      this.pos = skipWhitespace(text, this.pos + 1);
      if (text.charCodeAt(this.pos) === RBRACKET) this.failFrom(pairStart, At.Header, expected);
      const name = this.bytes(build, At.HeaderName);
      this.pos = skipWhitespace(text, this.pos);
      if (text.charCodeAt(this.pos) !== COMMA) this.pairEnd(pairStart, expected);
      this.pos = skipWhitespace(text, this.pos + 1);
      const value = this.bytes(build, At.HeaderValue);
      this.pos = skipWhitespace(text, this.pos);
      if (text.charCodeAt(this.pos) !== RBRACKET) this.pairEnd(pairStart, expected);
      this.pos++;
      if (build) headers.push([name, value]);
      if (this.tick()) yield;
    }
    return headers;
  }

  /** A pair that does not close after its second element (or has only one): a syntax or a shape error. */
  private pairEnd(pairStart: number, expected: string): never {
    const c = this.text.charCodeAt(this.pos);
    if (c === COMMA || c === RBRACKET) this.failFrom(pairStart, At.Header, expected); // 1 or 3+ elements
    throw syntaxError("Expected ',' or ']' after array element", this.pos);
  }

  /**
   * A string's bytes in the request's format, EMPTY unless `build`. Always decoded, so that every base64 error
   * is found. Raw strings of plain ASCII (the common case) are copied from the text without an intermediate string.
   */
  private bytes(build: boolean, at: At): Uint8Array {
    const text = this.text;
    const start = this.pos;
    if (text.charCodeAt(start) !== QUOTE) this.fail(at, 'a string');
    if (this.format === 'raw') {
      // Fast path: a string of printable ASCII, copied from the text without an intermediate string. Short ones by a
      // loop (a regular expression costs more than it saves there), longer ones by a native scan.
      let end = start + 1;
      const loopEnd = Math.min(text.length, end + 16);
      let c = text.charCodeAt(end);
      while (end < loopEnd && c >= 0x20 && c < 0x7f && c !== QUOTE && c !== 0x5c) c = text.charCodeAt(++end);
      if (end === loopEnd) {
        printableAscii.lastIndex = end;
        printableAscii.test(text);
        end = printableAscii.lastIndex;
        c = text.charCodeAt(end);
      }
      if (c === QUOTE) {
        this.pos = end + 1;
        const n = end - start - 1;
        if (!build || n === 0) return EMPTY;
        return n <= arenaStringMax ? this.ascii(start + 1, n) : Buffer.from(text.slice(start + 1, end), 'latin1');
      }
      const value = this.string(at);
      return build && value.length > 0 ? Buffer.from(value, 'utf8') : EMPTY;
    }
    // Fast path: up to the next quote, strict base64 (whose alphabet needs no escaping and holds no control
    // characters, so it is also a valid JSON string). Anything else goes the careful way.
    if (text.charCodeAt(start) === QUOTE) {
      const close = text.indexOf('"', start + 1);
      const fast = close < 0 ? null : decodeBase64Strict(text.slice(start + 1, close));
      if (fast !== null) {
        this.pos = close + 1;
        return build ? fast : EMPTY;
      }
    }
    const bytes = decodeBase64Strict(this.string(at));
    if (bytes === null) {
      this.badBase64 = true;
      return EMPTY;
    }
    return build ? bytes : EMPTY;
  }

  /** A view of `n` ASCII characters of the text at `from`, copied into the arena. */
  private ascii(from: number, n: number): Uint8Array {
    if (this.arenaUsed + n > this.arena.length) {
      this.arena = Buffer.allocUnsafeSlow(Math.max(arenaChunkBytes, n));
      this.arenaUsed = 0;
    }
    const arena = this.arena;
    const offset = this.arenaUsed;
    const text = this.text;
    // A loop for a few bytes; a native copy (of a slice, which V8 does not copy) beyond.
    if (n <= 32) for (let k = 0; k < n; k++) arena[offset + k] = text.charCodeAt(from + k);
    else arena.write(text.slice(from, from + n), offset, n, 'latin1');
    this.arenaUsed = offset + n;
    return arena.subarray(offset, offset + n);
  }

  /** A string value (escapes decoded); a lone surrogate (from an escape, or in `text` itself) is a type error. */
  private string(at: At): string {
    const text = this.text;
    const start = this.pos;
    if (text.charCodeAt(start) !== QUOTE) this.fail(at, 'a string');
    const close = scanString(text, start, false);
    this.pos = close + 1;
    const value = lastStringEscaped ? decodeEscaped(text, start, close) : text.slice(start + 1, close);
    if (!(value as unknown as { isWellFormed(): boolean }).isWellFormed()) {
      throw new ShapeError(`${this.path(at)}: lone surrogate in string`);
    }
    return value;
  }

  private fencingToken(): string {
    const token = this.string(At.FencingToken);
    const length = Buffer.byteLength(token, 'utf8');
    if (length > fencingTokenBytesMax) {
      throw new ShapeError(
        `fencing_token: fencing token must not exceed ${fencingTokenBytesMax} bytes in length, got ${length}`,
      );
    }
    return token;
  }

  /** A u64: an exact integer in [0, 2^64 - 1] (or a fraction/exponent literal with a safe integer value). */
  private u64(at: At): bigint {
    const text = this.text;
    const start = this.pos;
    const c = text.charCodeAt(start);
    if (c !== 0x2d && !(c >= 0x30 && c <= 0x39)) this.fail(at, 'u64');
    // A plain integer (the usual timestamp) by a loop; anything else by the full number grammar.
    let end = start;
    while (end - start <= u64DigitsMax && text.charCodeAt(end) >= 0x30 && text.charCodeAt(end) <= 0x39) end++;
    const after = text.charCodeAt(end);
    const plain = c >= 0x31 && end - start <= u64DigitsMax && !(after >= 0x30 && after <= 0x39);
    let isInteger = true;
    if (plain && after !== 0x2e && after !== 0x65 && after !== 0x45) {
      this.pos = end;
    } else {
      end = scanNumber(text, start);
      this.pos = end;
      for (let k = start; k < end && isInteger; k++) {
        const d = text.charCodeAt(k);
        if (d === 0x2e || d === 0x65 || d === 0x45) isInteger = false;
      }
    }
    // Never convert a literal that long: BigInt is quadratic in it, and no u64 has more than 20 digits.
    if (isInteger && end - start > u64DigitsMax) this.failFrom(start, at, 'u64');
    const literal = text.slice(start, end);
    const n = Number(literal);
    if (Number.isSafeInteger(n)) {
      if (n >= 0) return BigInt(n);
    } else if (isInteger && c !== 0x2d) {
      const value = BigInt(literal);
      if (value <= U64_MAX) return value;
    }
    return this.failFrom(start, at, 'u64');
  }

  // --- structure

  private isNull(): boolean {
    if (!this.text.startsWith('null', this.pos)) return false;
    this.pos += 4;
    return true;
  }

  /** After `{`: the first key (positioned at its value), or undefined for `{}`. */
  private firstKey(): string | undefined {
    this.pos = skipWhitespace(this.text, this.pos + 1);
    if (this.text.charCodeAt(this.pos) === RBRACE) {
      this.pos++;
      return undefined;
    }
    return this.key();
  }

  /** After a member's value: the next key, or undefined at the object's end. */
  private nextKey(): string | undefined {
    this.pos = skipWhitespace(this.text, this.pos);
    const c = this.text.charCodeAt(this.pos);
    if (c === RBRACE) {
      this.pos++;
      return undefined;
    }
    if (c !== COMMA) throw syntaxError("Expected ',' or '}' after property value", this.pos);
    this.pos = skipWhitespace(this.text, this.pos + 1);
    return this.key();
  }

  /** A key (escapes decoded) and its colon; leaves `pos` at the value. An unknown key comes back as ''. */
  private key(): string {
    const text = this.text;
    const start = this.pos;
    if (text.charCodeAt(start) !== QUOTE) throw syntaxError('Expected property name', start);
    // Keys are short: a loop finds the end of a plain one; escapes or control characters take the careful scan.
    let close = start + 1;
    let c = text.charCodeAt(close);
    while (close - start < 32 && c >= 0x20 && c !== QUOTE && c !== 0x5c) c = text.charCodeAt(++close);
    let key: string;
    if (c === QUOTE) {
      key = knownKey(text, start + 1, close);
    } else {
      close = scanString(text, start, false);
      key = lastStringEscaped ? decodeEscaped(text, start, close) : knownKey(text, start + 1, close);
    }
    this.pos = skipWhitespace(text, close + 1);
    if (text.charCodeAt(this.pos) !== COLON) throw syntaxError("Expected ':' after property name", this.pos);
    this.pos = skipWhitespace(text, this.pos + 1);
    return key;
  }

  /** After `[`: whether the array has a first item (positioned at it). */
  private firstItem(): boolean {
    this.pos = skipWhitespace(this.text, this.pos + 1);
    if (this.text.charCodeAt(this.pos) !== RBRACKET) return true;
    this.pos++;
    return false;
  }

  /** After an item: whether another follows (positioned at it). */
  private nextItem(): boolean {
    this.pos = skipWhitespace(this.text, this.pos);
    const c = this.text.charCodeAt(this.pos);
    if (c === RBRACKET) {
      this.pos++;
      return false;
    }
    if (c !== COMMA) throw syntaxError("Expected ',' or ']' after array element", this.pos);
    this.pos = skipWhitespace(this.text, this.pos + 1);
    return true;
  }

  // --- type errors

  private fail(at: At, expected: string): never {
    return this.failFrom(this.pos, at, expected);
  }

  private failFrom(pos: number, at: At, expected: string): never {
    throw new ShapeError(`${this.path(at)}: invalid type: ${describe(this.text, pos)}, expected ${expected}`);
  }

  private path(at: At): string {
    const record = `records[${this.record}]`;
    const header = `${record}.headers[${this.header}]`;
    switch (at) {
      case At.Body:
        return 'body';
      case At.Records:
        return 'records';
      case At.Record:
        return record;
      case At.RecordBody:
        return `${record}.body`;
      case At.Timestamp:
        return `${record}.timestamp`;
      case At.Headers:
        return `${record}.headers`;
      case At.Header:
        return header;
      case At.HeaderName:
        return `${header}[0]`;
      case At.HeaderValue:
        return `${header}[1]`;
      case At.MatchSeqNum:
        return 'match_seq_num';
      case At.FencingToken:
        return 'fencing_token';
    }
  }
}

/** The string literal between the quotes at `start` and `close`, escapes decoded natively (and validated). */
function decodeEscaped(text: string, start: number, close: number): string {
  try {
    return JSON.parse(text.slice(start, close + 1)) as string;
  } catch (error) {
    throw syntaxError(`${(error as Error).message} in a string`, start);
  }
}

/** The key between `start` and `end` if it is one the decoder looks for (compared in place), else ''. */
function knownKey(text: string, start: number, end: number): string {
  switch (end - start) {
    case 4:
      return text.startsWith('body', start) ? 'body' : '';
    case 7:
      if (text.startsWith('headers', start)) return 'headers';
      return text.startsWith('records', start) ? 'records' : '';
    case 9:
      return text.startsWith('timestamp', start) ? 'timestamp' : '';
    case 13:
      if (text.startsWith('match_seq_num', start)) return 'match_seq_num';
      return text.startsWith('fencing_token', start) ? 'fencing_token' : '';
    default:
      return '';
  }
}

/** What the value at `pos` is, for an error message (serde's wording). */
function describe(text: string, pos: number): string {
  const c = text.charCodeAt(pos);
  switch (c) {
    case LBRACE:
      return 'a map';
    case LBRACKET:
      return 'a sequence';
    case QUOTE:
      return 'a string';
    case 0x6e:
      return 'null';
    case 0x74:
      return 'boolean `true`';
    case 0x66:
      return 'boolean `false`';
    default: {
      let end = pos;
      while (end < text.length && end - pos < 40 && /[-+.eE0-9]/.test(text[end]!)) end++;
      return `number ${text.slice(pos, end)}${end - pos >= 40 ? '...' : ''}`;
    }
  }
}
