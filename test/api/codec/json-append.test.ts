/**
 * Proves that the one-pass JSON append decoder (json-append.ts) gives the same outcome as deserializing a generic
 * JSON value and then decoding it (the previous implementation, kept here as the oracle over lossless-json): the
 * same records, or the same error code, on thousands of random and mutated bodies in both formats; and that the
 * shapes a hostile client sends are refused or accepted the way the reference does without building them.
 */
import { parse as losslessParse } from 'lossless-json';
import { describe, expect, it } from 'vitest';
import { decodeAppendInputJsonSliced } from '../../../src/api/codec/json-append.js';
import { decodeAppendInputJson, type RecordFormat } from '../../../src/api/codec/json-records.js';
import { unmatchableSeqNum } from '../../../src/api/codec/proto-wire.js';
import type { AppendInput, AppendRecord, Header } from '../../../src/domain/types.js';
import { S2Error } from '../../../src/domain/errors.js';
import { decodeBase64Strict } from '../../../src/util/base64.js';
import { expectS2Error, hex, randInt, seededRand } from './helpers.js';

// --- the oracle: generic parse, then decode the value (as before the one-pass decoder)

const U64_MAX = 0xffff_ffff_ffff_ffffn;
class Shape extends Error {}
const isObject = (v: unknown): v is Record<string, unknown> => v !== null && typeof v === 'object' && !Array.isArray(v);
const field = (o: Record<string, unknown>, k: string) => (Object.hasOwn(o, k) ? o[k] : undefined);

function oracle(text: string, format: RecordFormat): AppendInput | string {
  let doc: unknown;
  try {
    doc = losslessParse(text, null, {
      parseNumber: (v: string) => (/^-?\d+$/.test(v) && !Number.isSafeInteger(Number(v)) ? BigInt(v) : Number(v)),
      onDuplicateKey: (info: { newValue: unknown }) => info.newValue,
    });
    // lossless-json accepts a few things JSON.parse does not (e.g. lone surrogates are fine in both).
    JSON.parse(text);
  } catch {
    return 'bad_json';
  }
  let badBase64 = false;
  const u64 = (v: unknown): bigint => {
    if (typeof v === 'number' && Number.isSafeInteger(v) && v >= 0) return BigInt(v);
    if (typeof v === 'bigint' && v >= 0n && v <= U64_MAX) return v;
    throw new Shape();
  };
  const bytes = (v: unknown): Uint8Array => {
    if (typeof v !== 'string' || !(v as unknown as { isWellFormed(): boolean }).isWellFormed()) throw new Shape();
    if (format === 'raw') return Buffer.from(v, 'utf8');
    const out = decodeBase64Strict(v);
    if (out === null) badBase64 = true;
    return out ?? new Uint8Array(0);
  };
  try {
    if (!isObject(doc)) throw new Shape();
    const records = field(doc, 'records');
    if (!Array.isArray(records)) throw new Shape();
    const input: AppendInput = {
      records: records.map((r): AppendRecord => {
        if (!isObject(r)) throw new Shape();
        const hs = field(r, 'headers');
        if (hs !== undefined && hs !== null && !Array.isArray(hs)) throw new Shape();
        const headers = ((hs ?? []) as unknown[]).map((p): Header => {
          if (!Array.isArray(p) || p.length !== 2) throw new Shape();
          return [bytes(p[0]), bytes(p[1])];
        });
        const body = field(r, 'body');
        const record: AppendRecord = {
          headers,
          body: body === undefined || body === null ? new Uint8Array(0) : bytes(body),
        };
        const ts = field(r, 'timestamp');
        if (ts !== undefined && ts !== null) record.timestamp = u64(ts);
        return record;
      }),
    };
    const match = field(doc, 'match_seq_num');
    if (match !== undefined && match !== null) {
      const v = u64(match);
      input.matchSeqNum = v <= BigInt(Number.MAX_SAFE_INTEGER) ? Number(v) : unmatchableSeqNum;
    }
    const token = field(doc, 'fencing_token');
    if (token !== undefined && token !== null) {
      if (typeof token !== 'string' || !(token as unknown as { isWellFormed(): boolean }).isWellFormed())
        throw new Shape();
      if (Buffer.byteLength(token) > 36) throw new Shape();
      input.fencingToken = token;
    }
    if (badBase64) return 'invalid';
    return input.records.length > 1000 ? 'invalid' : input;
  } catch (e) {
    if (e instanceof Shape) return 'bad_json';
    throw e;
  }
}

function outcome(text: string, format: RecordFormat): unknown {
  try {
    const input = decodeAppendInputJson(text, format);
    return {
      ...input,
      records: input.records.map((r) => ({
        ...r,
        headers: r.headers.map(([n, v]) => [hex(n), hex(v)]),
        body: hex(r.body),
      })),
    };
  } catch (e) {
    if (e instanceof S2Error) return e.code;
    throw e;
  }
}

function expected(text: string, format: RecordFormat): unknown {
  const o = oracle(text, format);
  if (typeof o === 'string') return o;
  return {
    ...o,
    records: o.records.map((r) => ({ ...r, headers: r.headers.map(([n, v]) => [hex(n), hex(v)]), body: hex(r.body) })),
  };
}

// --- random bodies

const strings = [
  '""',
  '"aGk="',
  '"ZmVuY2U="',
  '"hi"',
  '"é😀"',
  '"\\u00e9\\n"',
  '"\\ud800"',
  '"\\/\\/8="',
  '"a\\"b"',
  '"AAAAAAAAAAI="',
];
const numbers = [
  '0',
  '-0',
  '7',
  '1.0',
  '1e3',
  '1.5',
  '-1',
  '9007199254740993',
  '18446744073709551615',
  '18446744073709551616',
  '1e30',
  '123456789012345678901234',
];
const others = ['null', 'true', 'false', '[]', '{}', '[1,"x"]', '{"a":[{"b":null}]}'];

function pick<T>(rand: ReturnType<typeof seededRand>, items: T[]): T {
  return items[randInt(rand, 0, items.length - 1)]!;
}

function randomBody(rand: ReturnType<typeof seededRand>): string {
  const ws = () => pick(rand, ['', '', ' ', '\n\t']);
  const anyValue = () => pick(rand, [pick(rand, strings), pick(rand, numbers), pick(rand, others)]);
  const members: string[] = [];
  const maybe = (p: number) => randInt(rand, 0, 99) < p;
  const header = () =>
    maybe(90)
      ? `[${ws()}${pick(rand, strings)},${ws()}${pick(rand, strings)}${ws()}]`
      : pick(rand, ['["a"]', '["a","b","c"]', '[1,"b"]', '"x"', 'null']);
  const record = () => {
    if (maybe(5)) return anyValue();
    const fields: string[] = [];
    if (maybe(50))
      fields.push(
        `"headers":${maybe(90) ? `[${Array.from({ length: randInt(rand, 0, 3) }, header).join(',')}]` : anyValue()}`,
      );
    if (maybe(70)) fields.push(`"body":${maybe(85) ? pick(rand, strings) : anyValue()}`);
    if (maybe(30)) fields.push(`"timestamp":${maybe(80) ? pick(rand, numbers) : anyValue()}`);
    // An escaped spelling of a known key, only where it does not repeat one (see below).
    const extraKeys = ['"x"', '"__proto__"', ...(fields.some((f) => f.startsWith('"body"')) ? [] : ['"bod\\u0079"'])];
    if (maybe(20)) fields.push(`${pick(rand, extraKeys)}:${anyValue()}`);
    return `{${ws()}${fields.join(`,${ws()}`)}}`;
  };
  if (maybe(95))
    members.push(
      `"records":${maybe(92) ? `[${Array.from({ length: randInt(rand, 0, 4) }, record).join(',')}]` : anyValue()}`,
    );
  if (maybe(20)) members.push(`"match_seq_num":${maybe(80) ? pick(rand, numbers) : anyValue()}`);
  if (maybe(20))
    members.push(`"fencing_token":${maybe(70) ? pick(rand, [...strings, `"${'a'.repeat(37)}"`]) : anyValue()}`);
  if (maybe(20)) members.push(`${pick(rand, ['"extra"', '"__proto__"', '"re\\u0063ords"'])}:${anyValue()}`);
  // Shuffle so that fields come in any order.
  for (let i = members.length - 1; i > 0; i--) {
    const j = randInt(rand, 0, i);
    [members[i], members[j]] = [members[j]!, members[i]!];
  }
  // A repeated key takes its last value in both, but the decoder also checks the first (serde refuses repeated
  // fields outright), so repeated known keys stay out of the comparison.
  const body = `${ws()}{${ws()}${members.join(`,${ws()}`)}${ws()}}${ws()}`;
  return (body.match(/"re(\\u0063|c)ords"/g) ?? []).length > 1 ? body.replace('"re\\u0063ords"', '"other"') : body;
}

describe('decodeAppendInputJson (one pass) agrees with parse-then-decode', () => {
  it('on random bodies, in both formats', () => {
    const rand = seededRand(21);
    const seen = new Set<string>();
    for (let i = 0; i < 2000; i++) {
      const text = randomBody(rand);
      for (const format of ['raw', 'base64'] as RecordFormat[]) {
        const want = expected(text, format);
        expect(outcome(text, format), `${format}: ${text}`).toEqual(want);
        seen.add(typeof want === 'string' ? want : 'ok');
      }
    }
    expect([...seen].sort()).toEqual(['bad_json', 'invalid', 'ok']);
  });

  it('on mutated bodies (syntax errors anywhere win over type errors)', () => {
    const rand = seededRand(22);
    const noise = ['"', '\\', ',', ':', '[', ']', '{', '}', '-', '.', 'e', '0', ' ', 'x', '\u0001', 'nul'];
    let rejected = 0;
    for (let i = 0; i < 3000; i++) {
      let text = randomBody(rand);
      for (let m = randInt(rand, 1, 2); m > 0; m--) {
        const at = randInt(rand, 0, text.length);
        text = text.slice(0, at) + pick(rand, noise) + text.slice(at + randInt(rand, 0, 1));
      }
      const want = expected(text, 'raw');
      expect(outcome(text, 'raw'), text).toEqual(want);
      if (want === 'bad_json') rejected++;
    }
    expect(rejected).toBeGreaterThan(750);
  });
});

describe('decodeAppendInputJsonSliced', () => {
  async function slicedOutcome(text: string, format: RecordFormat): Promise<unknown> {
    try {
      const input = await decodeAppendInputJsonSliced(text, format, 0); // yields at every look at the clock
      return {
        ...input,
        records: input.records.map((r) => ({
          ...r,
          headers: r.headers.map(([n, v]) => [hex(n), hex(v)]),
          body: hex(r.body),
        })),
      };
    } catch (e) {
      if (e instanceof S2Error) return e.code;
      throw e;
    }
  }

  it('gives the same outcomes as the one-go decoder, across many slices', async () => {
    const rand = seededRand(23);
    const big = (n: number) =>
      `{"records":[{"headers":[${Array(n).fill('["a","b"]').join(',')}],"body":"x"}],"x":[${Array(n).fill('[{"k":1}]').join(',')}]}`;
    const texts = [big(20_000), big(20_000).replace('"x":[', '"x":[}'), big(20_000).replace('"body":"x"', '"body":5')];
    for (let i = 0; i < 300; i++) texts.push(randomBody(rand));
    for (const text of texts) {
      for (const format of ['raw', 'base64'] as RecordFormat[]) {
        expect(await slicedOutcome(text, format), text.slice(0, 200)).toEqual(outcome(text, format));
      }
    }
  });

  it('lets other work run while it decodes a large body', async () => {
    const text = `{"records":[{"headers":[${Array(100_000).fill('["a","b"]').join(',')}]}],"x":${'['.repeat(200_000)}${']'.repeat(200_000)}}`;
    let ticks = 0;
    const timer = setInterval(() => ticks++, 0);
    const input = await decodeAppendInputJsonSliced(text, 'raw', 1);
    clearInterval(timer);
    expect(input.records[0]!.headers).toHaveLength(100_000);
    expect(ticks).toBeGreaterThan(1);
  });
});

describe('hostile shapes', () => {
  const ignoredDeep = (depth: number) => `{"records":[{"body":"x"}],"x":${'['.repeat(depth)}${']'.repeat(depth)}}`;

  it('skips ignored fields of any depth, size and number of keys, as serde ignores them', () => {
    expect(decodeAppendInputJson(ignoredDeep(500_000), 'raw').records).toHaveLength(1);
    expect(decodeAppendInputJson(`{"records":[{"body":"x"}],"x":${'9'.repeat(500_000)}}`, 'raw').records).toHaveLength(
      1,
    );
    const keys = Array.from({ length: 50_000 }, (_, i) => `"k${i}":{"a":[1,2.5,"s"]}`).join(',');
    expect(decodeAppendInputJson(`{"x":{${keys}},"records":[{"body":"x","y":{${keys}}}]}`, 'raw').records).toHaveLength(
      1,
    );
  });

  it('still refuses invalid JSON inside ignored fields', () => {
    expectS2Error(
      () => decodeAppendInputJson(`{"records":[],"x":${'['.repeat(1000)}${']'.repeat(999)}}`, 'raw'),
      'bad_json',
      'parse',
    );
    expectS2Error(() => decodeAppendInputJson('{"records":[],"x":{"a":1,}}', 'raw'), 'bad_json', 'parse');
    expectS2Error(() => decodeAppendInputJson('{"records":[],"x":"\\q"}', 'raw'), 'bad_json', 'parse');
  });

  it('refuses a huge number where a u64 goes, without converting it', () => {
    expectS2Error(
      () => decodeAppendInputJson(`{"records":[{"timestamp":${'9'.repeat(1_000_000)}}]}`, 'raw'),
      'bad_json',
      'u64',
    );
  });

  it("past 1000 records: checked, not built, refused with the engine's count error", () => {
    const many = (n: number, body = '"x"') => `{"records":[${Array(n).fill(`{"body":${body}}`).join(',')}]}`;
    expect(decodeAppendInputJson(many(1000), 'raw').records).toHaveLength(1000);
    expectS2Error(() => decodeAppendInputJson(many(100_000), 'raw'), 'invalid', 'must not exceed 1000 records');
    // A type error or bad base64 after the limit still wins (deserialization comes first).
    expectS2Error(() => decodeAppendInputJson(many(2000).replace(/\]\}$/, ',{"body":5}]}'), 'raw'), 'bad_json');
    expectS2Error(
      () => decodeAppendInputJson(many(2000, '"aGk="').replace(/\]\}$/, ',{"body":"aGk"}]}'), 'base64'),
      'invalid',
      'Base64',
    );
  });
});
