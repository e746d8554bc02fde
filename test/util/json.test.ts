import { parse as losslessParse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict, encodeBase64 } from '../../src/util/base64.js';
import { parseJson, parseJsonExact, stringifyJson } from '../../src/util/json.js';
import { randBytes, randInt, seededRand } from '../api/codec/helpers.js';

describe('parseJson', () => {
  it('keeps safe integers as numbers and larger ones as exact bigints', () => {
    expect(
      parseJson('{"a":9007199254740991,"b":9007199254740992,"c":18446744073709551615,"d":-9007199254740993}'),
    ).toEqual({
      a: Number.MAX_SAFE_INTEGER,
      b: 9007199254740992n,
      c: 18446744073709551615n,
      d: -9007199254740993n,
    });
  });

  it('keeps 16-digit integers that happen to be safe as numbers', () => {
    expect(parseJson('[1000000000000000, 0]')).toEqual([1000000000000000, 0]);
  });

  it('leaves fractions and exponents as numbers', () => {
    expect(parseJson('[1.5, 1e3, -2.5E-3, 1.0]')).toEqual([1.5, 1000, -0.0025, 1]);
  });

  it('is not fooled by digits, dots and escaped quotes inside strings', () => {
    const text = '{"s":"12345678901234567890 1.5 \\" 99999999999999999","n":18446744073709551615,"t":"\\\\","u":5}';
    expect(parseJson(text)).toEqual({
      s: '12345678901234567890 1.5 " 99999999999999999',
      n: 18446744073709551615n,
      t: '\\',
      u: 5,
    });
  });

  it('throws SyntaxError on invalid JSON on both paths', () => {
    for (const text of [
      '',
      '{',
      '[1,]',
      '{"a":1,}',
      '"unterminated',
      '[18446744073709551615,]',
      '[01]',
      '[00000000000000000001]',
      '[1.]',
      'nul',
      '{"a" 1}',
    ]) {
      expect(() => parseJson(text), text).toThrow(SyntaxError);
    }
  });

  it('last duplicate key wins on both paths; __proto__ is an own property', () => {
    expect(parseJson('{"a":1,"a":2}')).toEqual({ a: 2 });
    expect(parseJson('{"a":1,"a":2,"b":18446744073709551615}')).toEqual({ a: 2, b: 18446744073709551615n });
    for (const text of ['{"__proto__":{"x":1}}', '{"__proto__":{"x":1.5}}']) {
      const obj = parseJson(text) as Record<string, unknown>;
      expect(Object.hasOwn(obj, '__proto__')).toBe(true);
      expect(obj.x).toBeUndefined();
    }
  });

  const lossless = (text: string) =>
    losslessParse(text, null, {
      parseNumber: (v: string) => (/^-?\d+$/.test(v) && !Number.isSafeInteger(Number(v)) ? BigInt(v) : Number(v)),
      onDuplicateKey: (info: { newValue: unknown }) => info.newValue,
    });

  function randomDocument(rand: ReturnType<typeof seededRand>): string {
    const atoms = [
      '0',
      '-0',
      '7',
      '123456789012345',
      '1234567890123456',
      '18446744073709551615',
      '-9007199254740993',
      '1.5',
      '-2.5e-3',
      '1E+2',
      '12345678901234567890.5',
      '"a\\"b"',
      '"1.5e3 99999999999999999"',
      '"\\u00e9\\n\\t\\/"',
      '"é😀"',
      '"\\\\"',
      'true',
      'false',
      'null',
      '""',
    ];
    const ws = () => [' ', '', '', '\n', '\t ', '\r\n'][randInt(rand, 0, 5)];
    const gen = (depth: number): string => {
      const k = randInt(rand, 0, depth > 3 ? 0 : 2);
      if (k === 0) return ws() + atoms[randInt(rand, 0, atoms.length - 1)] + ws();
      const n = randInt(rand, 0, 4);
      const items = Array.from({ length: n }, () => gen(depth + 1));
      return k === 1
        ? `[${ws()}${items.join(',')}]`
        : `{${ws()}${items.map((v, i) => `"${['k', '__proto__', 'x'][i % 3]}${i % 2 ? i : ''}"${ws()}:${v}`).join(',')}}`;
    };
    return gen(0);
  }

  it('agrees with lossless-json (the oracle) on random documents, on both paths', () => {
    const rand = seededRand(11);
    for (let i = 0; i < 2000; i++) {
      const text = randomDocument(rand);
      const expected = lossless(text);
      expect(parseJson(text), text).toEqual(expected);
      expect(parseJsonExact(text), text).toEqual(expected);
    }
  });

  it('exact parser accepts and rejects exactly what JSON.parse does (mutated documents)', () => {
    const rand = seededRand(12);
    const noise = ['"', '\\', ',', ':', '[', ']', '{', '}', '-', '.', 'e', '0', '1', ' ', 'x', '\u0001', 'tru'];
    let rejected = 0;
    for (let i = 0; i < 4000; i++) {
      let text = randomDocument(rand).replace(/\d{16,}/g, '7'); // comparable with JSON.parse: no long integers
      for (let m = randInt(rand, 0, 2); m > 0; m--) {
        const at = randInt(rand, 0, text.length);
        const cut = randInt(rand, 0, 1);
        text = text.slice(0, at) + noise[randInt(rand, 0, noise.length - 1)] + text.slice(at + cut);
      }
      let native: unknown;
      let nativeError: unknown;
      try {
        native = JSON.parse(text);
      } catch (e) {
        nativeError = e;
      }
      if (nativeError) {
        expect(() => parseJsonExact(text), text).toThrow(SyntaxError);
        rejected++;
      } else {
        expect(parseJsonExact(text), text).toEqual(native);
      }
    }
    expect(rejected).toBeGreaterThan(500);
  });

  it('exact parser: nesting limit, escapes and lone surrogates like JSON.parse', () => {
    expect(() => parseJsonExact('['.repeat(600) + ']'.repeat(600))).toThrow(SyntaxError);
    expect(parseJsonExact('[[[1]]]')).toEqual([[[1]]]);
    expect(parseJsonExact('"\\ud800\\u0041"')).toBe('\ud800A');
    expect(() => parseJsonExact('"\\x"')).toThrow(SyntaxError);
    expect(() => parseJsonExact('"a\u0000"')).toThrow(SyntaxError);
  });

  it('takes the exact path only for long integers, and it stays fast on megabyte bodies', () => {
    const records = Array.from({ length: 1000 }, () => ({ timestamp: 1, body: 'x'.repeat(1024) + '\\"' }));
    const text = JSON.stringify({ records }).replace(/"timestamp":1/g, '"timestamp":18446744073709551615');
    const start = performance.now();
    const parsed = parseJson(text) as { records: { timestamp: bigint; body: string }[] };
    expect(performance.now() - start).toBeLessThan(1000); // lossless-json needs ~1 s here; this takes a few ms
    expect(parsed.records[999].timestamp).toBe(18446744073709551615n);
    expect(parsed.records[0].body).toBe(records[0].body);
  });
});

describe('stringifyJson', () => {
  it('renders bigints as bare numbers and matches JSON.stringify otherwise', () => {
    expect(stringifyJson({ a: 18446744073709551615n, b: [1n, 'x', null, undefined], c: undefined, d: 'q"\n' })).toBe(
      '{"a":18446744073709551615,"b":[1,"x",null,null],"d":"q\\"\\n"}',
    );
    const value = { x: [1, 2.5, true, { y: 'z\u2028', n: NaN }], d: new Date(0), s: '\u0000' };
    expect(stringifyJson(value)).toBe(JSON.stringify(value));
    expect(stringifyJson('\u00000')).toBe(JSON.stringify('\u00000'));
  });
});

describe('base64', () => {
  it('round-trips random bytes and matches Buffer encoding', () => {
    const rand = seededRand(5);
    for (let i = 0; i < 200; i++) {
      const bytes = randBytes(rand, 20);
      const text = encodeBase64(bytes);
      expect(text).toBe(Buffer.from(bytes).toString('base64'));
      expect(Buffer.from(decodeBase64Strict(text)!).equals(Buffer.from(bytes))).toBe(true);
    }
  });

  it('encodes views (subarrays) correctly', () => {
    const buf = Buffer.from('xxhelloxx');
    expect(encodeBase64(buf.subarray(2, 7))).toBe('aGVsbG8=');
  });

  it('accepts only strict padded standard base64', () => {
    expect(decodeBase64Strict('')?.length).toBe(0);
    expect(Buffer.from(decodeBase64Strict('ZmVuY2U=')!).toString()).toBe('fence');
    expect(Buffer.from(decodeBase64Strict('AAAAAAAAACo=')!).readBigUInt64BE(0)).toBe(42n);
    for (const bad of [
      'ZmVuY2U', // missing padding
      'ZmVuY2U==', // too much padding
      'Zm=VuY2U', // padding inside
      'ZmVu Y2U=', // whitespace
      'ZmVuY2U=\n',
      '-_8=', // URL-safe alphabet
      'Zg=', // bad length
      'Z===',
      '====',
      'Zh==', // non-canonical trailing bits
      'ZmX=',
      'é===',
    ]) {
      expect(decodeBase64Strict(bad), bad).toBeNull();
    }
  });

  it('validates megabyte inputs without blowing the regex stack', () => {
    const big = Buffer.alloc(1.5 * 1024 * 1024, 7).toString('base64');
    expect(decodeBase64Strict(big)?.length).toBe(1.5 * 1024 * 1024);
    expect(decodeBase64Strict(big.slice(0, -1) + '!')).toBeNull();
  });
});
