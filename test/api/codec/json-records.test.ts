import { describe, expect, it } from 'vitest';
import {
  decodeAppendInputJson,
  encodeAppendAckJson,
  encodeReadBatchJson,
  encodeSequencedRecordJson,
  encodeStreamPositionJson,
  encodeTailJson,
  parseFormatHeader,
  type RecordFormat,
} from '../../../src/api/codec/json-records.js';
import type { AppendInput, Header, SequencedRecord } from '../../../src/domain/types.js';
import { parseJson } from '../../../src/util/json.js';
import { U64_MAX, expectS2Error, hex, randBytes, randInt, randSequencedRecord, seededRand } from './helpers.js';

const b = (s: string) => new Uint8Array(Buffer.from(s));
const h = (n: string, v: string): Header => [b(n), b(v)];

function text(bytes: Uint8Array): string {
  return Buffer.from(bytes).toString('utf8');
}

/** Decoded input in a comparable form: byte arrays as UTF-8 text or hex. */
function show(input: AppendInput, as: 'text' | 'hex' = 'text') {
  const f = as === 'text' ? text : hex;
  return {
    ...input,
    records: input.records.map((r) => ({ ...r, headers: r.headers.map(([n, v]) => [f(n), f(v)]), body: f(r.body) })),
  };
}

describe('parseFormatHeader', () => {
  it('maps the names and aliases, trimming whitespace', () => {
    expect(parseFormatHeader(undefined)).toBe('raw');
    expect(parseFormatHeader('raw')).toBe('raw');
    expect(parseFormatHeader(' json\t')).toBe('raw');
    expect(parseFormatHeader('base64')).toBe('base64');
    expect(parseFormatHeader('  json-binsafe ')).toBe('base64');
  });

  it('rejects anything else with bad_header naming s2-format', () => {
    for (const bad of ['', 'Raw', 'BASE64', 'hex', 'raw,base64', 'json binsafe']) {
      expectS2Error(() => parseFormatHeader(bad), 'bad_header', '`s2-format`');
    }
  });
});

describe('decodeAppendInputJson', () => {
  it('decodes the api.md section 15 append', () => {
    const input = decodeAppendInputJson(
      '{"records":[{"headers":[["k","v"]],"body":"hello"},{"body":"world"}],"match_seq_num":0}',
      'raw',
    );
    expect(show(input)).toEqual({
      records: [
        { headers: [['k', 'v']], body: 'hello' },
        { headers: [], body: 'world' },
      ],
      matchSeqNum: 0,
    });
    expect('timestamp' in input.records[0]).toBe(false);
    expect('fencingToken' in input).toBe(false);
  });

  it('decodes the api.md section 15 fence and trim commands in base64', () => {
    const fence = decodeAppendInputJson('{"records":[{"headers":[["","ZmVuY2U="]],"body":"bXktdG9rZW4="}]}', 'base64');
    expect(show(fence)).toEqual({ records: [{ headers: [['', 'fence']], body: 'my-token' }] });
    const trim = decodeAppendInputJson(
      '{"records":[{"headers":[["","dHJpbQ=="]],"body":"AAAAAAAAAAI="}],"fencing_token":"my-token"}',
      'base64',
    );
    expect(trim.fencingToken).toBe('my-token');
    expect(text(trim.records[0].headers[0][1])).toBe('trim');
    expect(Buffer.from(trim.records[0].body).readBigUInt64BE(0)).toBe(2n);
    expect(trim.records[0].body.length).toBe(8);
  });

  it('raw command record written with raw strings', () => {
    const input = decodeAppendInputJson('{"records":[{"headers":[["","fence"]],"body":"my-token"}]}', 'raw');
    expect(show(input).records[0]).toEqual({ headers: [['', 'fence']], body: 'my-token' });
  });

  it('raw strings become their UTF-8 bytes (escapes included)', () => {
    const input = decodeAppendInputJson('{"records":[{"body":"é😀\\u0000\\n\\"","headers":[["ü","\\u20ac"]]}]}', 'raw');
    expect(hex(input.records[0].body)).toBe(hex(Buffer.from('é😀\u0000\n"')));
    expect(text(input.records[0].headers[0][1])).toBe('€');
  });

  it('u64 timestamps and match_seq_num, exact up to 18446744073709551615', () => {
    const input = decodeAppendInputJson(
      '{"records":[{"timestamp":18446744073709551615},{"timestamp":9007199254740993},{"timestamp":0},{"timestamp":null}],' +
        '"match_seq_num":9007199254740991}',
      'raw',
    );
    expect(input.records.map((r) => r.timestamp)).toEqual([U64_MAX, 9007199254740993n, 0n, undefined]);
    expect('timestamp' in input.records[3]).toBe(false);
    expect(input.matchSeqNum).toBe(Number.MAX_SAFE_INTEGER);
    expect(decodeAppendInputJson('{"records":[],"match_seq_num":9007199254740992}', 'raw').matchSeqNum).toBe(Infinity);
    expect(decodeAppendInputJson('{"records":[],"match_seq_num":18446744073709551615}', 'raw').matchSeqNum).toBe(
      Infinity,
    );
  });

  it('treats null conditions and omitted optional parts as absent; ignores unknown fields', () => {
    const input = decodeAppendInputJson(
      '{"records":[{"x":1,"headers":null,"body":null}],"match_seq_num":null,"fencing_token":null,"extra":[1.5,{"a":18446744073709551616}]}',
      'raw',
    );
    expect(input).toEqual({ records: [{ headers: [], body: new Uint8Array(0) }] });
    expect(decodeAppendInputJson('{"records":[{}]}', 'base64')).toEqual({
      records: [{ headers: [], body: new Uint8Array(0) }],
    });
  });

  it('accepts a 36-byte fencing token (multi-byte characters counted in bytes) and the empty token', () => {
    expect(
      decodeAppendInputJson(`{"records":[],"fencing_token":"${'a'.repeat(36)}"}`, 'raw').fencingToken,
    ).toHaveLength(36);
    expect(decodeAppendInputJson(`{"records":[],"fencing_token":"${'é'.repeat(18)}"}`, 'raw').fencingToken).toBe(
      'é'.repeat(18),
    );
    expect(decodeAppendInputJson('{"records":[],"fencing_token":""}', 'raw').fencingToken).toBe('');
    // The token is never format-encoded (api.md 6.6).
    expect(decodeAppendInputJson('{"records":[],"fencing_token":"not base64!"}', 'base64').fencingToken).toBe(
      'not base64!',
    );
  });

  const badJson: [string, string][] = [
    ['syntax error', '{"records":['],
    ['empty body', ''],
    ['trailing garbage', '{"records":[]} x'],
    ['top level array', '[]'],
    ['top level null', 'null'],
    ['records missing', '{}'],
    ['records only via __proto__', '{"__proto__":{"records":[]}}'],
    ['records null', '{"records":null}'],
    ['records an object', '{"records":{}}'],
    ['record not an object', '{"records":[1]}'],
    ['record an array', '{"records":[[]]}'],
    ['headers not an array', '{"records":[{"headers":{}}]}'],
    ['header not an array', '{"records":[{"headers":["k"]}]}'],
    ['header with one element', '{"records":[{"headers":[["k"]]}]}'],
    ['header with three elements', '{"records":[{"headers":[["k","v","x"]]}]}'],
    ['header name not a string', '{"records":[{"headers":[[1,"v"]]}]}'],
    ['header value null', '{"records":[{"headers":[["k",null]]}]}'],
    ['body a number', '{"records":[{"body":5}]}'],
    ['body an array of bytes', '{"records":[{"body":[104,105]}]}'],
    ['body with a lone surrogate', '{"records":[{"body":"\\ud800"}]}'],
    ['timestamp negative', '{"records":[{"timestamp":-1}]}'],
    ['timestamp fractional', '{"records":[{"timestamp":1.5}]}'],
    ['timestamp a string', '{"records":[{"timestamp":"5"}]}'],
    ['timestamp above u64', '{"records":[{"timestamp":18446744073709551616}]}'],
    ['timestamp huge exponent', '{"records":[{"timestamp":1e30}]}'],
    ['timestamp boolean', '{"records":[{"timestamp":true}]}'],
    ['match_seq_num negative', '{"records":[],"match_seq_num":-5}'],
    ['match_seq_num fractional', '{"records":[],"match_seq_num":0.5}'],
    ['match_seq_num above u64', '{"records":[],"match_seq_num":99999999999999999999}'],
    ['match_seq_num a string', '{"records":[],"match_seq_num":"1"}'],
    ['fencing_token a number', '{"records":[],"fencing_token":5}'],
    ['fencing_token of 37 bytes', `{"records":[],"fencing_token":"${'a'.repeat(37)}"}`],
    ['fencing_token of 38 bytes in 19 characters', `{"records":[],"fencing_token":"${'é'.repeat(19)}"}`],
    ['fencing_token with a lone surrogate', '{"records":[],"fencing_token":"\\udc00"}'],
  ];
  for (const [name, body] of badJson) {
    for (const format of ['raw', 'base64'] as RecordFormat[]) {
      it(`bad_json (${format}): ${name}`, () => {
        expectS2Error(() => decodeAppendInputJson(body, format), 'bad_json');
      });
    }
  }

  const badBase64: [string, string][] = [
    ['missing padding', '{"records":[{"body":"aGk"}]}'],
    ['URL-safe alphabet', '{"records":[{"body":"-_8="}]}'],
    ['whitespace', '{"records":[{"body":"aG k="}]}'],
    ['bad header name', '{"records":[{"headers":[["!!!!","aGk="]]}]}'],
    ['bad header value', '{"records":[{"headers":[["aGk=","aGk"]]}]}'],
    ['raw text', '{"records":[{"body":"hello world"}]}'],
  ];
  for (const [name, body] of badBase64) {
    it(`invalid (422) base64: ${name}`, () => {
      expectS2Error(() => decodeAppendInputJson(body, 'base64'), 'invalid', 'invalid Base64 encoding');
      expect(decodeAppendInputJson(body, 'raw').records).toHaveLength(1); // fine as raw strings
    });
  }

  it('a type error anywhere wins over a base64 error earlier in the body (deserialization comes first)', () => {
    expectS2Error(
      () => decodeAppendInputJson('{"records":[{"body":"bad"},{"body":5}]}', 'base64'),
      'bad_json',
      'records[1].body',
    );
  });

  it('error messages locate the offending field', () => {
    expectS2Error(
      () => decodeAppendInputJson('{"records":[{},{"headers":[["a","b"],["c"]]}]}', 'raw'),
      'bad_json',
      'records[1].headers[1]',
    );
    expectS2Error(() => decodeAppendInputJson('{"records":[{"timestamp":-1}]}', 'raw'), 'bad_json', 'expected u64');
  });
});

describe('JSON responses', () => {
  it('api.md section 15 read response and ack', () => {
    const records: SequencedRecord[] = [
      { seqNum: 0, timestamp: 1755770400123n, headers: [h('k', 'v')], body: b('hello') },
      { seqNum: 1, timestamp: 1755770400123n, headers: [], body: b('world') },
    ];
    expect(encodeReadBatchJson({ records }, 'raw')).toBe(
      '{"records":[{"seq_num":0,"timestamp":1755770400123,"headers":[["k","v"]],"body":"hello"},' +
        '{"seq_num":1,"timestamp":1755770400123,"body":"world"}]}',
    );
    const p = (seqNum: number) => ({ seqNum, timestamp: 1755770400123n });
    expect(encodeAppendAckJson({ start: p(0), end: p(2), tail: p(2) })).toBe(
      '{"start":{"seq_num":0,"timestamp":1755770400123},"end":{"seq_num":2,"timestamp":1755770400123},' +
        '"tail":{"seq_num":2,"timestamp":1755770400123}}',
    );
    expect(encodeTailJson(p(2))).toBe('{"tail":{"seq_num":2,"timestamp":1755770400123}}');
  });

  it('omits headers when none, body when empty, tail when absent; includes tail when present', () => {
    const rec: SequencedRecord = { seqNum: 7, timestamp: 0n, headers: [], body: new Uint8Array(0) };
    expect(encodeSequencedRecordJson(rec, 'raw')).toBe('{"seq_num":7,"timestamp":0}');
    expect(encodeSequencedRecordJson(rec, 'base64')).toBe('{"seq_num":7,"timestamp":0}');
    expect(encodeReadBatchJson({ records: [] }, 'raw')).toBe('{"records":[]}');
    expect(encodeReadBatchJson({ records: [rec], tail: { seqNum: 8, timestamp: 5n } }, 'raw')).toBe(
      '{"records":[{"seq_num":7,"timestamp":0}],"tail":{"seq_num":8,"timestamp":5}}',
    );
  });

  it('renders command records as api.md 6.3 describes', () => {
    const fenceEmpty: SequencedRecord = {
      seqNum: 3,
      timestamp: 9n,
      headers: [h('', 'fence')],
      body: new Uint8Array(0),
    };
    expect(encodeSequencedRecordJson(fenceEmpty, 'raw')).toBe('{"seq_num":3,"timestamp":9,"headers":[["","fence"]]}');
    expect(encodeSequencedRecordJson(fenceEmpty, 'base64')).toBe(
      '{"seq_num":3,"timestamp":9,"headers":[["","ZmVuY2U="]]}',
    );
    const body = Buffer.alloc(8);
    body.writeBigUInt64BE(42n);
    const trim: SequencedRecord = { seqNum: 4, timestamp: 9n, headers: [h('', 'trim')], body };
    expect(encodeSequencedRecordJson(trim, 'base64')).toBe(
      '{"seq_num":4,"timestamp":9,"headers":[["","dHJpbQ=="]],"body":"AAAAAAAAACo="}',
    );
    // A terminal trim (api.md 8.7) at u64::MAX, with a u64::MAX timestamp.
    body.writeBigUInt64BE(U64_MAX);
    expect(encodeSequencedRecordJson({ ...trim, timestamp: U64_MAX }, 'base64')).toBe(
      '{"seq_num":4,"timestamp":18446744073709551615,"headers":[["","dHJpbQ=="]],"body":"//////////8="}',
    );
  });

  it('u64 timestamps are exact bare numbers that parse back exactly', () => {
    const out = encodeReadBatchJson(
      {
        records: [{ seqNum: 0, timestamp: U64_MAX, headers: [], body: new Uint8Array(0) }],
        tail: { seqNum: 1, timestamp: U64_MAX },
      },
      'raw',
    );
    expect(out).toBe(
      '{"records":[{"seq_num":0,"timestamp":18446744073709551615}],"tail":{"seq_num":1,"timestamp":18446744073709551615}}',
    );
    expect(parseJson(out)).toEqual({
      records: [{ seq_num: 0, timestamp: U64_MAX }],
      tail: { seq_num: 1, timestamp: U64_MAX },
    });
    expect(encodeStreamPositionJson({ seqNum: Number.MAX_SAFE_INTEGER, timestamp: 2n ** 53n + 1n })).toBe(
      '{"seq_num":9007199254740991,"timestamp":9007199254740993}',
    );
  });

  it('escapes strings as JSON requires', () => {
    const rec: SequencedRecord = {
      seqNum: 0,
      timestamp: 0n,
      headers: [h('a"b', 'c\\d')],
      body: b('x\ny\u0001\t\u2028'),
    };
    const out = encodeSequencedRecordJson(rec, 'raw');
    expect(out).toBe('{"seq_num":0,"timestamp":0,"headers":[["a\\"b","c\\\\d"]],"body":"x\\ny\\u0001\\t\u2028"}');
    expect(JSON.parse(out).body).toBe('x\ny\u0001\t\u2028');
  });

  describe('lossy UTF-8 in raw format (maximal subpart replacement)', () => {
    const R = '\ufffd';
    const cases: [string, string, string][] = [
      // Unicode Standard, chapter 3, Table 3-8 (U+FFFD for maximal subparts).
      ['table 3-8', '61 f1 80 80 e1 80 c2 62 80 63 80 bf 64', `a${R}${R}${R}b${R}c${R}${R}d`],
      ['lone continuation bytes', '80 bf', `${R}${R}`],
      ['overlong two-byte', 'c0 af', `${R}${R}`],
      ['overlong three-byte', 'e0 80 af', `${R}${R}${R}`],
      ['UTF-16 surrogate', 'ed a0 80', `${R}${R}${R}`],
      ['above U+10FFFF', 'f4 90 80 80', `${R}${R}${R}${R}`],
      ['truncated three-byte then ASCII', 'e2 82 41', `${R}A`],
      ['truncated four-byte at end', 'f0 9f 98', R],
      ['invalid bytes', 'fe ff', `${R}${R}`],
      ['valid mixed', '68 c3 a9 f0 9f 98 80', 'hé😀'],
      ['leading BOM is kept', 'ef bb bf 61', '\ufeffa'],
    ];
    for (const [name, bytesHex, expected] of cases) {
      it(name, () => {
        const body = new Uint8Array(Buffer.from(bytesHex.replace(/ /g, ''), 'hex'));
        const out = encodeSequencedRecordJson({ seqNum: 0, timestamp: 0n, headers: [], body }, 'raw');
        expect(JSON.parse(out).body).toBe(expected);
      });
    }
  });

  it('raw rendering equals the WHATWG decoder (TextDecoder, fatal: false, BOM kept) on random bytes', () => {
    const whatwg = new TextDecoder('utf-8', { fatal: false, ignoreBOM: true });
    const rand = seededRand(8);
    // Bytes drawn from the interesting ranges: ASCII, continuation bytes, lead bytes, invalid bytes.
    const pool = [
      0x41, 0x22, 0x5c, 0x0a, 0x01, 0x1f, 0x7f, 0x80, 0x8f, 0x90, 0x9f, 0xa0, 0xbf, 0xc0, 0xc2, 0xdf, 0xe0, 0xe1, 0xe2,
      0xed, 0xef, 0xf0, 0xf4, 0xf5, 0xff,
    ];
    for (let i = 0; i < 2000; i++) {
      const body = new Uint8Array(randInt(rand, 1, 12));
      for (let j = 0; j < body.length; j++) body[j] = pool[randInt(rand, 0, pool.length - 1)];
      const out = encodeSequencedRecordJson({ seqNum: 0, timestamp: 0n, headers: [], body }, 'raw');
      expect(JSON.parse(out).body, hex(body)).toBe(whatwg.decode(body));
      expect(out).toBe(`{"seq_num":0,"timestamp":0,"body":${JSON.stringify(whatwg.decode(body))}}`);
    }
  });

  it('base64 output is padded standard base64 that decodes back (random records)', () => {
    const rand = seededRand(3);
    for (let i = 0; i < 200; i++) {
      const rec = randSequencedRecord(rand, randInt(rand, 0, 1000));
      const parsed = parseJson(encodeSequencedRecordJson(rec, 'base64')) as Record<string, unknown>;
      expect(parsed.seq_num).toBe(rec.seqNum);
      expect(BigInt(parsed.timestamp as number | bigint)).toBe(rec.timestamp);
      expect(parsed.body ?? '').toBe(Buffer.from(rec.body).toString('base64'));
      expect(parsed.headers ?? []).toEqual(
        rec.headers.map(([n, v]) => [Buffer.from(n).toString('base64'), Buffer.from(v).toString('base64')]),
      );
    }
  });

  it('raw round trip: decode(encode(x)) preserves valid UTF-8 data', () => {
    const rand = seededRand(4);
    for (let i = 0; i < 100; i++) {
      const s = Buffer.from(randBytes(rand, 30)).toString('utf8'); // valid UTF-8 after replacement
      const rec: SequencedRecord = { seqNum: i, timestamp: 1n, headers: [[b(s), b(s)]], body: b(s) };
      const parsed = parseJson(encodeSequencedRecordJson(rec, 'raw')) as { headers?: string[][]; body?: string };
      const again = decodeAppendInputJson(
        JSON.stringify({ records: [{ headers: parsed.headers, body: parsed.body }] }),
        'raw',
      );
      expect(text(again.records[0].body)).toBe(s);
    }
  });
});
