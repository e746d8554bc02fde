/**
 * Linear JSON scanning without building values: whitespace, string and number literals, and whole
 * values skipped with validation. Used to skip the fields a decoder ignores (a client controls
 * them, and building them is what made some shapes cost the event loop a second per megabyte:
 * 190k distinct keys, million-deep nesting) and to survey a document before `JSON.parse`.
 *
 * Every function takes the text and a position and returns the position after what it scanned,
 * or throws `SyntaxError`. Runs of plain characters go through sticky regular expressions (native
 * code, no allocation); nothing here recurses, so no nesting depth can overflow the stack.
 */

const whitespace = /[ \t\n\r]*/y;
/** A run of characters that can appear unescaped in a string. */
// eslint-disable-next-line no-control-regex -- control characters end the run (they are invalid)
const plainRun = /[^"\\\u0000-\u001f]*/y;
const numberLiteral = /-?(?:0|[1-9]\d*)(?:\.\d+)?(?:[eE][+-]?\d+)?/y;

export function syntaxError(message: string, pos: number): SyntaxError {
  return new SyntaxError(`${message} at position ${pos}`);
}

export function skipWhitespace(text: string, pos: number): number {
  const c = text.charCodeAt(pos);
  if (c !== 0x20 && c !== 0x0a && c !== 0x0d && c !== 0x09) return pos;
  whitespace.lastIndex = pos;
  whitespace.test(text);
  return whitespace.lastIndex;
}

/**
 * Scans the string literal whose opening quote is at `pos` and returns the index of its closing quote. Rejects raw
 * control characters; escapes are found but, unless `validateEscapes`, left for the caller to decode (with
 * `JSON.parse` of the literal, which rejects a bad one): `lastStringEscaped` tells whether there were any.
 */
export function scanString(text: string, pos: number, validateEscapes = true): number {
  plainRun.lastIndex = pos + 1;
  plainRun.test(text);
  const at = plainRun.lastIndex;
  const c = text.charCodeAt(at);
  if (c === 0x22 /* " */) {
    lastStringEscaped = false;
    return at;
  }
  if (c !== 0x5c /* \ */) {
    throw syntaxError(Number.isNaN(c) ? 'Unterminated string in JSON' : 'Bad control character in string literal', at);
  }
  // Escapes: find the closing quote natively (a quote preceded by an even run of backslashes).
  let close = at;
  for (;;) {
    close = text.indexOf('"', close + 1);
    if (close < 0) throw syntaxError('Unterminated string in JSON', text.length);
    let k = close - 1;
    while (text.charCodeAt(k) === 0x5c) k--;
    if ((close - 1 - k) % 2 === 0) break;
  }
  lastStringEscaped = true;
  if (validateEscapes) {
    try {
      JSON.parse(text.slice(pos, close + 1));
    } catch (error) {
      throw syntaxError(`${(error as Error).message} in a string`, pos);
    }
  }
  return close;
}

/** Whether the string literal `scanString` last scanned had escapes. */
export let lastStringEscaped = false;

/** The end of the number literal at `pos`. */
export function scanNumber(text: string, pos: number): number {
  numberLiteral.lastIndex = pos;
  if (!numberLiteral.test(text)) throw syntaxError('No number after minus sign', pos);
  const end = numberLiteral.lastIndex;
  if (end === pos) throw syntaxError('Unexpected token', pos);
  return end;
}

function scanWord(text: string, pos: number, word: string): number {
  if (!text.startsWith(word, pos)) throw syntaxError('Unexpected token', pos);
  return pos + word.length;
}

/** Scans an object key (string, whitespace, colon) at `pos`; returns the position of its value. */
function scanKey(text: string, pos: number): number {
  if (text.charCodeAt(pos) !== 0x22) throw syntaxError('Expected property name', pos);
  pos = skipWhitespace(text, scanString(text, pos) + 1);
  if (text.charCodeAt(pos) !== 0x3a /* : */) throw syntaxError("Expected ':' after property name", pos);
  return skipWhitespace(text, pos + 1);
}

/** A scalar (string, number, true, false, null) at `pos`; returns its end, or -1 if `pos` opens an array or object. */
function scanScalar(text: string, pos: number): number {
  const c = text.charCodeAt(pos);
  switch (c) {
    case 0x22:
      return scanString(text, pos) + 1;
    case 0x74:
      return scanWord(text, pos, 'true');
    case 0x66:
      return scanWord(text, pos, 'false');
    case 0x6e:
      return scanWord(text, pos, 'null');
    case 0x5b:
    case 0x7b:
      return -1;
    default:
      if (c === 0x2d || (c >= 0x30 && c <= 0x39)) return scanNumber(text, pos);
      throw syntaxError(Number.isNaN(c) ? 'Unexpected end of JSON input' : 'Unexpected token', pos);
  }
}

/**
 * Skips one JSON value, validating it, in as many steps as the caller likes (`run` stops at a value boundary once
 * past a position), so that skipping 2 MiB need not hold the event loop. Iterative, with the open containers on a
 * byte stack: any depth costs the same per byte. (serde_json skips ignored values the same way, without its
 * recursion limit.)
 */
export class ValueSkipper {
  /** Where the value ends once `run` returned true; else where skipping resumes. */
  pos: number;
  private open = new Uint8Array(64);
  private depth = 0;

  constructor(
    private readonly text: string,
    pos: number,
  ) {
    this.pos = skipWhitespace(text, pos);
  }

  /** True when the next thing is what follows a value (a comma or a closing bracket), not a value. */
  private afterValue = false;

  /** Skips until the value ended (true) or, between two tokens, `pos` reached `pauseAt` (false: call again). */
  run(pauseAt = Infinity): boolean {
    const text = this.text;
    let pos = this.pos;
    let depth = this.depth;
    let afterValue = this.afterValue;
    for (;;) {
      if (pos >= pauseAt) {
        this.pos = pos;
        this.depth = depth;
        this.afterValue = afterValue;
        return false;
      }
      if (!afterValue) {
        // A value starts at `pos`.
        const c = text.charCodeAt(pos);
        if (c === 0x5b || c === 0x7b) {
          pos = skipWhitespace(text, pos + 1);
          if (text.charCodeAt(pos) !== c + 2 /* ] or } */) {
            if (depth === this.open.length) {
              const grown = new Uint8Array(depth * 2);
              grown.set(this.open);
              this.open = grown;
            }
            this.open[depth++] = c;
            if (c === 0x7b) pos = scanKey(text, pos);
            continue;
          }
          pos++;
        } else if (c >= 0x31 && c <= 0x39) {
          // Plain digits inline (arrays of small numbers are all digits and commas); anything else by the regex.
          let end = pos + 1;
          while (isDigit(text.charCodeAt(end))) end++;
          const d = text.charCodeAt(end);
          pos = d === 0x2e || d === 0x65 || d === 0x45 ? scanNumber(text, pos) : end;
        } else {
          pos = scanScalar(text, pos);
        }
        afterValue = true;
        continue;
      }
      // After a value: a comma (then a value) or the end of the innermost container.
      if (depth === 0) {
        this.pos = pos;
        this.depth = 0;
        this.afterValue = false;
        return true;
      }
      pos = skipWhitespace(text, pos);
      const d = text.charCodeAt(pos);
      const container = this.open[depth - 1]!;
      if (d === 0x2c /* , */) {
        pos = skipWhitespace(text, pos + 1);
        if (container === 0x7b) pos = scanKey(text, pos);
        afterValue = false;
        continue;
      }
      if (d !== container + 2) {
        throw syntaxError(
          container === 0x5b ? "Expected ',' or ']' after array element" : "Expected ',' or '}' after property value",
          pos,
        );
      }
      depth--;
      pos++;
    }
  }
}

/** Skips the value at `pos` (after any whitespace) in one go; returns the position after it. */
export function skipValue(text: string, pos: number): number {
  const skipper = new ValueSkipper(text, pos);
  skipper.run();
  return skipper.pos;
}

/** Throws `SyntaxError` unless `text` is exactly one JSON value (with surrounding whitespace). */
export function validateJson(text: string): void {
  checkEnd(text, skipValue(text, 0));
}

/** Throws `SyntaxError` unless only whitespace follows `pos`. */
export function checkEnd(text: string, pos: number): void {
  const end = skipWhitespace(text, pos);
  if (end < text.length) throw syntaxError('Unexpected non-whitespace character after JSON', end);
}

/** What `surveyJson` found. */
export interface JsonSurvey {
  /** Some integer literal has more than 15 digits (`JSON.parse` might round it). */
  longInteger: boolean;
}

/**
 * One cheap pass (string contents skipped natively) that bounds what `JSON.parse` would build: throws `SyntaxError`
 * if the nesting is deeper than `depthMax` or there are more than `valuesMax` array items and object members in all
 * (counted by their separators, so a value or two more at most), and reports long integers. Invalid JSON may pass
 * (`JSON.parse` rejects it next) or be rejected here.
 */
export function surveyJson(text: string, depthMax: number, valuesMax: number): JsonSurvey {
  const n = text.length;
  let depth = 0;
  let values = 0;
  let longInteger = false;
  let i = 0;
  while (i < n) {
    const c = text.charCodeAt(i);
    if (c === 0x22) {
      plainRun.lastIndex = i + 1;
      plainRun.test(text);
      const j = plainRun.lastIndex;
      // Escapes and control characters: the careful scan (which also rejects what JSON.parse would).
      i = text.charCodeAt(j) === 0x22 ? j + 1 : scanString(text, i) + 1;
      continue;
    }
    if (c === 0x7b || c === 0x5b || c === 0x2c) {
      if (c !== 0x2c && ++depth > depthMax) throw syntaxError(`JSON nested deeper than ${depthMax} levels`, i);
      if (++values > valuesMax) throw syntaxError(`JSON with more than ${valuesMax} values`, i);
      i++;
    } else if (c === 0x7d || c === 0x5d) {
      if (depth > 0) depth--;
      i++;
    } else if (c === 0x2d || (c >= 0x30 && c <= 0x39)) {
      const start = c === 0x2d ? i + 1 : i;
      let j = start;
      while (j < n && isDigit(text.charCodeAt(j))) j++;
      const d = j < n ? text.charCodeAt(j) : 0;
      if (d === 0x2e || d === 0x65 || d === 0x45) {
        // A fraction or exponent: both parsers produce Number(literal). Skip the rest of it.
        while (j < n && isNumberChar(text.charCodeAt(j))) j++;
      } else if (j - start > 15) {
        longInteger = true;
      }
      i = j === i ? i + 1 : j;
    } else {
      i++;
    }
  }
  return { longInteger };
}

function isDigit(c: number): boolean {
  return c >= 0x30 && c <= 0x39;
}

function isNumberChar(c: number): boolean {
  return isDigit(c) || c === 0x2e || c === 0x65 || c === 0x45 || c === 0x2b || c === 0x2d;
}
