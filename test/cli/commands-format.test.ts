/**
 * Record formats of `append`/`read`, line splitting, URIs and config rendering: pure functions,
 * including the malformed inputs each must reject.
 */
import { AppendRecord, type ReadRecord } from '@s2-dev/streamstore';
import { describe, expect, it } from 'vitest';
import { parseStreamUri, parseUri } from '../../src/cli/client.js';
import { formatDuration, streamConfigToSpec } from '../../src/cli/config.js';
import { describeCommand, formatRecord, lines, parseFormat, parseRecordLine } from '../../src/cli/format.js';

const enc = (s: string) => new TextEncoder().encode(s);
const dec = (b: Uint8Array) => new TextDecoder().decode(b);

async function* chunks(...parts: (string | Uint8Array)[]) {
  for (const part of parts) yield typeof part === 'string' ? enc(part) : part;
}

async function collectLines(...parts: (string | Uint8Array)[]): Promise<string[]> {
  const out: string[] = [];
  for await (const line of lines(chunks(...parts))) out.push(dec(line));
  return out;
}

describe('lines', () => {
  it('splits on LF across chunk boundaries, drops CR before LF, keeps a last unterminated line', async () => {
    expect(await collectLines('a\nb', 'c\r\n\nd')).toEqual(['a', 'bc', '', 'd']);
    expect(await collectLines('a\n')).toEqual(['a']);
    expect(await collectLines('')).toEqual([]);
    expect(await collectLines('\n')).toEqual(['']);
  });

  it('keeps bytes that are not UTF-8', async () => {
    const out: Uint8Array[] = [];
    for await (const line of lines(chunks(Uint8Array.of(0xff, 0x00, 0x0a, 0xfe)))) out.push(line);
    expect(out).toEqual([Uint8Array.of(0xff, 0x00), Uint8Array.of(0xfe)]);
  });
});

describe('record formats', () => {
  it('accepts the official names and aliases', () => {
    expect(['text', 'raw', 'json', 'json-base64', 'base64', 'json-binsafe'].map(parseFormat)).toEqual([
      'text',
      'text',
      'json',
      'json-base64',
      'json-base64',
      'json-base64',
    ]);
    expect(() => parseFormat('xml')).toThrow(/expected one of/);
  });

  it('parses text, json and json-base64 lines', () => {
    expect(parseRecordLine(enc('hello'), 'text', 1)).toMatchObject({ body: enc('hello'), meteredBytes: 13 });
    const json = parseRecordLine(enc('{"headers":[["k","v"]],"body":"hé","timestamp":42,"seq_num":7}'), 'json', 1);
    expect(json).toMatchObject({ body: enc('hé'), headers: [[enc('k'), enc('v')]], timestamp: 42 });
    const b64 = parseRecordLine(enc('{"headers":[["aw==","dg=="]],"body":"/wA="}'), 'json-base64', 1);
    expect(b64).toMatchObject({ body: Uint8Array.of(0xff, 0), headers: [[enc('k'), enc('v')]] });
    expect(parseRecordLine(enc('{}'), 'json', 1)).toMatchObject({ body: new Uint8Array(0), meteredBytes: 8 });
  });

  it('rejects malformed records with the line number', () => {
    const bad: [string, 'json' | 'json-base64', RegExp][] = [
      ['not json', 'json', /line 3: not a JSON record/],
      ['[1]', 'json', /line 3: expected a JSON object/],
      ['{"bodee":"x"}', 'json', /line 3: unknown field `bodee`/],
      ['{"body":5}', 'json', /line 3: body must be a string/],
      ['{"headers":[["k"]]}', 'json', /line 3: headers\[0\] must be a \[name, value\] pair/],
      ['{"headers":{"k":"v"}}', 'json', /line 3: headers must be an array/],
      ['{"timestamp":-1}', 'json', /line 3: timestamp must be a non-negative integer/],
      ['{"timestamp":"1"}', 'json', /line 3: timestamp must be/],
      ['{"body":"aGk"}', 'json-base64', /line 3: body: invalid base64/],
      ['{"body":"a h="}', 'json-base64', /line 3: body: invalid base64/],
    ];
    for (const [line, format, error] of bad) expect(() => parseRecordLine(enc(line), format, 3), line).toThrow(error);
    expect(() => parseRecordLine(Uint8Array.of(0x7b, 0xff, 0x7d), 'json', 1)).toThrow(/not a JSON record/);
  });

  const record: ReadRecord<'bytes'> = {
    seqNum: 4,
    timestamp: new Date(1700000000123),
    headers: [[enc('k'), enc('v')]],
    body: Uint8Array.of(0x68, 0x69, 0xff),
  };

  it('prints records in each format', () => {
    expect(formatRecord(record, 'text')).toEqual(Uint8Array.of(0x68, 0x69, 0xff, 0x0a));
    expect(JSON.parse(formatRecord(record, 'json') as string)).toEqual({
      seq_num: 4,
      timestamp: 1700000000123,
      headers: [['k', 'v']],
      body: 'hi\uFFFD',
    });
    expect(JSON.parse(formatRecord(record, 'json-base64') as string)).toEqual({
      seq_num: 4,
      timestamp: 1700000000123,
      headers: [['aw==', 'dg==']],
      body: 'aGn/',
    });
  });

  it('round-trips json-base64 output through the append parser', () => {
    const line = (formatRecord(record, 'json-base64') as string).trimEnd();
    const parsed = parseRecordLine(enc(line), 'json-base64', 1);
    expect(parsed).toMatchObject({ body: record.body, headers: record.headers, timestamp: 1700000000123 });
  });

  it('describes command records for text output', () => {
    const fence = AppendRecord.fence('tok');
    const asRead = (r: {
      body: string | Uint8Array;
      headers?: readonly (readonly [string | Uint8Array, string | Uint8Array])[];
    }) => ({
      seqNum: 9,
      timestamp: new Date(0),
      body: typeof r.body === 'string' ? enc(r.body) : r.body,
      headers: (r.headers ?? []).map(
        ([n, v]) => [typeof n === 'string' ? enc(n) : n, typeof v === 'string' ? enc(v) : v] as const,
      ),
    });
    expect(describeCommand(asRead(fence))).toBe('fence at seq_num 9: fencing token "tok"');
    expect(describeCommand(asRead(AppendRecord.trim(42)))).toBe('trim at seq_num 9: trim point 42');
    expect(describeCommand(record)).toBeUndefined();
  });
});

describe('URIs and configs', () => {
  it('parses s2:// URIs', () => {
    expect(parseStreamUri('s2://my-basin/a/b')).toEqual({ basin: 'my-basin', stream: 'a/b' });
    expect(parseUri('s2://my-basin', 'either')).toEqual({ basin: 'my-basin', stream: undefined });
    expect(() => parseStreamUri('s2://my-basin')).toThrow(/names no stream/);
    expect(() => parseStreamUri('my-basin/s')).toThrow(/invalid S2 URI/);
    expect(() => parseUri('s2://my-basin/s', 'basin')).toThrow(/expected a basin/);
  });

  it('prints durations and stream configs in spec shape', () => {
    expect([0, 59, 60, 5400, 3600, 86400, 604800, 90061].map(formatDuration)).toEqual([
      '0s',
      '59s',
      '1m',
      '90m',
      '1h',
      '1d',
      '7d',
      '90061s',
    ]);
    expect(
      streamConfigToSpec({
        storageClass: 'express',
        retentionPolicy: { infinite: {} },
        timestamping: { mode: 'arrival', uncapped: null },
        deleteOnEmpty: { minAgeSecs: 60 },
      }),
    ).toEqual({
      storage_class: 'express',
      retention_policy: 'infinite',
      timestamping: { mode: 'arrival' },
      delete_on_empty: { min_age: '1m' },
    });
  });
});
