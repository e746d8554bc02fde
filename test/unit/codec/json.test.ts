import { parse as losslessParse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { decodeBase64Strict, encodeBase64 } from '../../../src/util/base64.js';
import { parseJson, stringifyJson } from '../../../src/util/json.js';
import { randBytes, randInt, seededRand } from './helpers.js';

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

  it('fast path and lossless path agree on random documents', () => {
    const rand = seededRand(11);
    const atoms = ['0', '-0', '7', '123456789012345', '"a\\"b"', '"1.5e3"', 'true', 'false', 'null', '"\\u00e9"'];
    const gen = (depth: number): string => {
      const k = randInt(rand, 0, depth > 3 ? 0 : 2);
      if (k === 0) return atoms[randInt(rand, 0, atoms.length - 1)];
      const n = randInt(rand, 0, 4);
      const items = Array.from({ length: n }, () => gen(depth + 1));
      return k === 1 ? `[${items.join(',')}]` : `{${items.map((v, i) => `"k${i}":${v}`).join(',')}}`;
    };
    const viaLossless = (text: string) =>
      losslessParse(text, null, (s: string) => (Number.isSafeInteger(Number(s)) ? Number(s) : BigInt(s)));
    for (let i = 0; i < 500; i++) {
      const text = gen(0);
      expect(parseJson(text)).toEqual(viaLossless(text));
    }
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
    expect(decodeBase64Strict('')).toEqual(new Uint8Array(0));
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
