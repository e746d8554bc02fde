/**
 * Lossless JSON (api.md 1.9): u64 fields (`seq_num`, `timestamp`, `match_seq_num`, ...) may exceed 2^53, which
 * `JSON.parse` would silently round. `parseJson` keeps every integer literal exact: safe integers stay `number`,
 * larger (or smaller) ones become `bigint`; literals with a fraction or exponent stay `number`.
 *
 * Speed: a cheap pre-scan (`surveyJson`, string contents skipped natively) finds whether any integer literal has more
 * than 15 digits. If none does, `JSON.parse` gives exactly the same result and is used. Otherwise a small exact parser
 * below takes over; it hands string contents to native code too, so it stays within a small factor of `JSON.parse`.
 * (lossless-json, which builds strings character by character, took about a second per MiB of record bodies: too slow
 * for a path any client can trigger with one large number. It remains the oracle in the tests.)
 *
 * Cost: the same pre-scan refuses, before anything is built, nesting deeper than `jsonDepthMax` (which `JSON.parse`
 * handled at about a second per MB) and, where the caller asks, more values than it expects (V8 takes microseconds
 * per distinct key). Record bodies do not come through here: api/codec/json-append.ts decodes them in one pass.
 *
 * Both paths agree on duplicate keys (the last one wins) and on `__proto__` (an ordinary own property), and both
 * throw `SyntaxError` on invalid JSON.
 */
import { jsonDepthMax } from '../limits.js';
import { lastStringEscaped, scanString, surveyJson } from './json-scan.js';

/**
 * Integer literals with more digits than this are never exact u64 (or i64) values, and `BigInt` of a
 * literal is quadratic in its length (a 1.9-million-digit number took 350 ms): they become the
 * nearest `number` instead, which every u64 field then refuses as out of range.
 */
const exactDigitsMax = 64;

export interface JsonLimits {
  /** Deeper nesting is a `SyntaxError` (default `jsonDepthMax`, serde_json's recursion limit). */
  depthMax?: number;
  /** More array items and object members in all is a `SyntaxError` (default: no limit). */
  valuesMax?: number;
}

function parseNumberLiteral(literal: string, isInteger: boolean): number | bigint {
  const n = Number(literal);
  if (!isInteger || Number.isSafeInteger(n)) return n;
  return literal.length > exactDigitsMax + 1 ? n : BigInt(literal);
}

const numberLiteral = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

/** Recursive-descent JSON parser with exact integers; strings are sliced and, if escaped, decoded natively. */
class ExactParser {
  private pos = 0;
  constructor(
    private readonly text: string,
    private readonly depthMax: number,
  ) {}

  parse(): unknown {
    this.skipWhitespace();
    const value = this.value(0);
    this.skipWhitespace();
    if (this.pos < this.text.length) this.fail('Unexpected non-whitespace character after JSON');
    return value;
  }

  private fail(message: string): never {
    throw new SyntaxError(`${message} at position ${this.pos}`);
  }

  private skipWhitespace(): void {
    const text = this.text;
    for (;;) {
      const c = text.charCodeAt(this.pos);
      if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return;
      this.pos++;
    }
  }

  private value(depth: number): unknown {
    if (depth > this.depthMax) this.fail(`JSON nested deeper than ${this.depthMax} levels`);
    const c = this.text.charCodeAt(this.pos);
    switch (c) {
      case 0x7b /* { */:
        return this.object(depth);
      case 0x5b /* [ */:
        return this.array(depth);
      case 0x22 /* " */:
        return this.string();
      case 0x74 /* t */:
        return this.word('true', true);
      case 0x66 /* f */:
        return this.word('false', false);
      case 0x6e /* n */:
        return this.word('null', null);
      default:
        if (c === 0x2d || isDigit(c)) return this.number();
        return this.fail(Number.isNaN(c) ? 'Unexpected end of JSON input' : 'Unexpected token');
    }
  }

  private object(depth: number): Record<string, unknown> {
    const obj: Record<string, unknown> = {};
    this.pos++;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x7d /* } */) {
      this.pos++;
      return obj;
    }
    for (;;) {
      if (this.text.charCodeAt(this.pos) !== 0x22) this.fail('Expected property name');
      const key = this.string();
      this.skipWhitespace();
      if (this.text.charCodeAt(this.pos) !== 0x3a /* : */) this.fail("Expected ':' after property name");
      this.pos++;
      this.skipWhitespace();
      const value = this.value(depth + 1);
      if (key === '__proto__') {
        Object.defineProperty(obj, key, { value, writable: true, enumerable: true, configurable: true });
      } else {
        obj[key] = value;
      }
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x7d /* } */) return obj;
      if (c !== 0x2c /* , */) this.fail("Expected ',' or '}' after property value");
      this.skipWhitespace();
    }
  }

  private array(depth: number): unknown[] {
    const arr: unknown[] = [];
    this.pos++;
    this.skipWhitespace();
    if (this.text.charCodeAt(this.pos) === 0x5d /* ] */) {
      this.pos++;
      return arr;
    }
    for (;;) {
      arr.push(this.value(depth + 1));
      this.skipWhitespace();
      const c = this.text.charCodeAt(this.pos++);
      if (c === 0x5d /* ] */) return arr;
      if (c !== 0x2c /* , */) this.fail("Expected ',' or ']' after array element");
      this.skipWhitespace();
    }
  }

  private string(): string {
    const start = this.pos;
    const close = scanString(this.text, start, false);
    this.pos = close + 1;
    if (!lastStringEscaped) return this.text.slice(start + 1, close);
    try {
      return JSON.parse(this.text.slice(start, close + 1)) as string; // decodes and validates the escapes
    } catch (error) {
      return this.fail((error as Error).message);
    }
  }

  private number(): number | bigint {
    numberLiteral.lastIndex = this.pos;
    const match = numberLiteral.exec(this.text);
    if (match === null) this.fail('No number after minus sign');
    this.pos += match[0].length;
    return parseNumberLiteral(match[0], match[1] === undefined && match[2] === undefined);
  }

  private word<T>(word: string, value: T): T {
    if (!this.text.startsWith(word, this.pos)) this.fail('Unexpected token');
    this.pos += word.length;
    return value;
  }
}

/**
 * Parses JSON keeping integers exact (see the module comment). Throws `SyntaxError` on invalid JSON
 * and beyond `limits`, which a pre-scan checks before anything is built.
 */
export function parseJson(text: string, limits: JsonLimits = {}): unknown {
  const depthMax = limits.depthMax ?? jsonDepthMax;
  const survey = surveyJson(text, depthMax, limits.valuesMax ?? Number.MAX_SAFE_INTEGER);
  if (!survey.longInteger) return JSON.parse(text);
  return parseJsonExact(text, depthMax);
}

/** The exact parser alone (what `parseJson` falls back to); exported for tests and benchmarks. */
export function parseJsonExact(text: string, depthMax = jsonDepthMax): unknown {
  return new ExactParser(text, depthMax).parse();
}

/**
 * `JSON.stringify` semantics (no replacer, no indentation) plus `bigint` rendered as a bare JSON number, so u64
 * values survive. For generic, cold-path responses (configs, errors); hot paths use the hand-written serializers in
 * `api/codec/json-records.ts`. Returns `undefined` where `JSON.stringify` would (e.g. for `undefined`).
 */
export function stringifyJson(value: unknown): string {
  return stringifyValue(value) as string;
}

function stringifyValue(value: unknown): string | undefined {
  if (value !== null && typeof value === 'object' && typeof (value as { toJSON?: unknown }).toJSON === 'function') {
    value = (value as { toJSON: () => unknown }).toJSON();
  }
  switch (typeof value) {
    case 'bigint':
      return value.toString();
    case 'string':
      return JSON.stringify(value);
    case 'number':
      return Number.isFinite(value) ? String(value) : 'null';
    case 'boolean':
      return value ? 'true' : 'false';
    case 'object': {
      if (value === null) return 'null';
      if (Array.isArray(value)) {
        let out = '[';
        for (let i = 0; i < value.length; i++) {
          if (i > 0) out += ',';
          out += stringifyValue(value[i]) ?? 'null';
        }
        return out + ']';
      }
      let out = '{';
      let first = true;
      for (const key of Object.keys(value)) {
        const item = stringifyValue((value as Record<string, unknown>)[key]);
        if (item === undefined) continue;
        out += (first ? '' : ',') + JSON.stringify(key) + ':' + item;
        first = false;
      }
      return out + '}';
    }
    default:
      return undefined; // undefined, functions, symbols
  }
}
