/**
 * Lossless JSON (api.md 1.9): u64 fields (`seq_num`, `timestamp`, `match_seq_num`, ...) may exceed 2^53, which
 * `JSON.parse` would silently round. `parseJson` keeps every integer literal exact: safe integers stay `number`,
 * larger (or smaller) ones become `bigint`; literals with a fraction or exponent stay `number`.
 *
 * Speed: a cheap pre-scan (string contents skipped with native `indexOf`) finds whether any integer literal has more
 * than 15 digits. If none does, `JSON.parse` gives exactly the same result and is used. Otherwise a small exact parser
 * below takes over; it hands string contents to native code too, so it stays within a small factor of `JSON.parse`.
 * (lossless-json, which builds strings character by character, took about a second per MiB of record bodies: too slow
 * for a path any client can trigger with one large number. It remains the oracle in the tests.)
 *
 * Both paths agree on duplicate keys (the last one wins) and on `__proto__` (an ordinary own property), and both
 * throw `SyntaxError` on invalid JSON.
 */

/** Integer literals with at most this many digits are exact as JS numbers (2^53 has 16 digits). */
const exactDigitsMax = 15;

/** Nesting limit of the exact parser (record bodies need 4 levels). */
const exactDepthMax = 512;

function parseNumberLiteral(literal: string, isInteger: boolean): number | bigint {
  const n = Number(literal);
  return !isInteger || Number.isSafeInteger(n) ? n : BigInt(literal);
}

/** True if `text` has an integer literal `JSON.parse` might round. Invalid JSON may answer either way. */
function hasLongInteger(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      const end = closingQuote(text, i + 1);
      if (end < 0) return false; // unterminated string: a syntax error for both parsers
      i = end + 1;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let j = c === 0x2d ? i + 1 : i;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      const d = j < n ? text.charCodeAt(j) : 0;
      if (d === 0x2e || d === 0x65 || d === 0x45) {
        // A fraction or exponent: not an integer, both parsers produce Number(literal). Skip the rest of it.
        while (j < n && isNumberChar(text.charCodeAt(j))) j++;
      } else if (j - i - (c === 0x2d ? 1 : 0) > exactDigitsMax) {
        return true;
      }
      i = j;
    } else {
      i++;
    }
  }
  return false;
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isNumberChar(c: number): boolean {
  return isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}

/** Index of the `"` closing a string whose contents start at `from` (skipping escaped quotes), or -1. */
function closingQuote(text: string, from: number): number {
  for (let j = from; ; j++) {
    j = text.indexOf('"', j);
    if (j < 0) return -1;
    let k = j - 1;
    while (text.charCodeAt(k) === 0x5c /* \ */) k--;
    if ((j - 1 - k) % 2 === 0) return j;
  }
}

const numberLiteral = /-?(?:0|[1-9]\d*)(\.\d+)?([eE][+-]?\d+)?/y;
/** String contents that need `JSON.parse` (escapes to decode, or raw control characters to reject). */
// eslint-disable-next-line no-control-regex -- raw control characters are exactly what must be found
const needsUnescape = /[\\\u0000-\u001f]/;

/** Recursive-descent JSON parser with exact integers; strings are sliced and, if escaped, decoded natively. */
class ExactParser {
  private pos = 0;
  constructor(private readonly text: string) {}

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
    if (depth > exactDepthMax) this.fail('JSON nested too deeply');
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
    const start = this.pos + 1;
    const end = closingQuote(this.text, start);
    if (end < 0) this.fail('Unterminated string in JSON');
    this.pos = end + 1;
    const raw = this.text.slice(start, end);
    // JSON.parse validates escapes and rejects raw control characters.
    return needsUnescape.test(raw) ? (JSON.parse(this.text.slice(start - 1, end + 1)) as string) : raw;
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

/** Parses JSON keeping integers exact (see the module comment). Throws `SyntaxError` on invalid JSON. */
export function parseJson(text: string): unknown {
  if (!hasLongInteger(text)) return JSON.parse(text);
  return parseJsonExact(text);
}

/** The exact parser alone (what `parseJson` falls back to); exported for tests and benchmarks. */
export function parseJsonExact(text: string): unknown {
  return new ExactParser(text).parse();
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
