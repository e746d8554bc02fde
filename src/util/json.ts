/**
 * Lossless JSON (api.md 1.9): u64 fields (`seq_num`, `timestamp`, `match_seq_num`, ...) may exceed 2^53, which
 * `JSON.parse` would silently round. `parseJson` keeps every integer literal exact: safe integers stay `number`,
 * larger (or smaller) ones become `bigint`; literals with a fraction or exponent stay `number`.
 *
 * Speed: lossless-json is a JavaScript parser, several times slower than the native one. Most request bodies have no
 * number literal that could lose precision, so a cheap pre-scan (which skips string contents with native `indexOf`)
 * decides whether the native parser gives the exact same result; only bodies with a 16+ digit integer (or a fraction
 * or exponent, whose integer-ness must be judged from the literal) take the lossless path.
 *
 * Both paths agree on duplicate keys (the last one wins) and on `__proto__` (an ordinary own property).
 */
import { parse as losslessParse } from 'lossless-json';

/** Integer literals with at most this many digits are exact as JS numbers (2^53 has 16 digits). */
const exactDigitsMax = 15;

const integerLiteral = /^-?\d+$/;

function parseNumberLiteral(literal: string): number | bigint {
  if (integerLiteral.test(literal)) {
    const n = Number(literal);
    return Number.isSafeInteger(n) ? n : BigInt(literal);
  }
  return Number(literal);
}

const losslessOptions = {
  parseNumber: parseNumberLiteral,
  onDuplicateKey: (info: { newValue: unknown }) => info.newValue,
};

/**
 * True if `text` contains a number literal that `JSON.parse` might not represent the way `parseNumberLiteral` does.
 * Invalid JSON may answer either way; both parsers reject it.
 */
function needsLosslessParse(text: string): boolean {
  const n = text.length;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22 /* " */) {
      // Skip the string: find the closing quote that is not escaped by an odd number of backslashes.
      let j = i + 1;
      for (;;) {
        j = text.indexOf('"', j);
        if (j < 0) return false; // unterminated string: a syntax error either way
        let backslashes = 0;
        for (let k = j - 1; text.charCodeAt(k) === 0x5c; k--) backslashes++;
        if ((backslashes & 1) === 0) break;
        j++;
      }
      i = j + 1;
    } else if (c === 0x2d /* - */ || (c >= 0x30 && c <= 0x39)) {
      let digits = 0;
      let j = c === 0x2d ? i + 1 : i;
      for (; j < n; j++) {
        const d = text.charCodeAt(j);
        if (d >= 0x30 && d <= 0x39) digits++;
        else if (d === 0x2e || d === 0x65 || d === 0x45)
          return true; // . e E
        else break;
      }
      if (digits > exactDigitsMax) return true;
      i = j;
    } else {
      i++;
    }
  }
  return false;
}

/** Parses JSON keeping integers exact (see the module comment). Throws `SyntaxError` on invalid JSON. */
export function parseJson(text: string): unknown {
  if (!needsLosslessParse(text)) return JSON.parse(text);
  return losslessParse(text, null, losslessOptions);
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
