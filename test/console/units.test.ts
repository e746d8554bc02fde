/**
 * Proves the console's DOM-free parts directly in Node: the SSE parser over any chunking and line
 * ending, the Prometheus text parser and the rates and latency quantile it feeds the chart, record
 * bytes shown as text / JSON / hex (control characters visible, long bodies cut), command records
 * (api.md 6.3), metered size (api.md 6.4), and the strict reading of what people type.
 */
import { describe, expect, it } from 'vitest';
import {
  bodyPreviewChars,
  commandOf,
  fromBase64,
  hexDump,
  meteredBytes,
  renderBody,
  toBase64,
  trimBody,
  utf8,
  visibleText,
} from '../../src/console/bytes.js';
import { parseDurationSecs, parseHeaderLines, parseTimestampInput, parseU64 } from '../../src/console/input.js';
import { stringifyJson } from '../../src/console/json.js';
import { parsePrometheus, quantileBetween, buckets, ratesBetween } from '../../src/console/prometheus.js';
import { SseParser, type SseEvent } from '../../src/console/sse.js';

const stream = [
  'event: batch\r\n',
  'id: 4,5,120\r\n',
  'data: {"records":[]}\r\n',
  '\r\n',
  ': a comment\n',
  'event: ping\n',
  'data: {"timestamp": 1}\n',
  '\n',
  'data: first\rdata: second\r\r',
  'data: [DONE]\n\n',
].join('');

const expected: SseEvent[] = [
  { event: 'batch', data: '{"records":[]}', id: '4,5,120' },
  { event: 'ping', data: '{"timestamp": 1}', id: '4,5,120' },
  { event: 'message', data: 'first\nsecond', id: '4,5,120' },
  { event: 'message', data: '[DONE]', id: '4,5,120' },
];

describe('SSE parser', () => {
  it('reads events whole, in one chunk', () => {
    expect(new SseParser().push(stream)).toEqual(expected);
  });

  it('reads the same events whatever the chunking, down to one character (CRLF split too)', () => {
    for (const size of [1, 2, 3, 7, 16]) {
      const parser = new SseParser();
      const events: SseEvent[] = [];
      for (let i = 0; i < stream.length; i += size) events.push(...parser.push(stream.slice(i, i + size)));
      expect(events, `chunks of ${size}`).toEqual(expected);
    }
  });

  it('keeps an incomplete event until its blank line arrives', () => {
    const parser = new SseParser();
    expect(parser.push('event: batch\ndata: x\n')).toEqual([]);
    expect(parser.push('\n')).toEqual([{ event: 'batch', data: 'x', id: undefined }]);
  });
});

const scrapeA = `# HELP s2_append_records_total Acknowledged records.
# TYPE s2_append_records_total counter
s2_append_records_total 100
s2_append_bytes_total 1000
s2_read_records_total{transport="sse"} 10
s2_read_records_total{transport="unary",note="a \\"quoted\\" value"} 5
s2_read_bytes_total{transport="sse"} 500
s2_append_ack_latency_seconds_bucket{le="0.001"} 10
s2_append_ack_latency_seconds_bucket{le="0.01"} 10
s2_append_ack_latency_seconds_bucket{le="+Inf"} 10
s2_append_ack_latency_seconds_sum 0.005
s2_append_ack_latency_seconds_count 10
garbage line {
`;
const scrapeB = scrapeA
  .replace('s2_append_records_total 100', 's2_append_records_total 300')
  .replace('s2_append_bytes_total 1000', 's2_append_bytes_total 5000')
  .replace('s2_read_records_total{transport="sse"} 10', 's2_read_records_total{transport="sse"} 50')
  .replace('{le="0.001"} 10', '{le="0.001"} 10')
  .replace('{le="0.01"} 10', '{le="0.01"} 110')
  .replace('{le="+Inf"} 10', '{le="+Inf"} 110')
  .replace('_sum 0.005', '_sum 0.505')
  .replace('_count 10', '_count 110');

describe('Prometheus text', () => {
  it('parses names, labels (with escapes) and values, and skips what it cannot read', () => {
    const samples = parsePrometheus(scrapeA);
    expect(samples).toHaveLength(10);
    expect(samples.find((s) => s.labels.note)?.labels.note).toBe('a "quoted" value');
    expect(buckets(samples, 's2_append_ack_latency_seconds').get(Infinity)).toBe(10);
  });

  it('turns two scrapes into per-second rates and the interval latency', () => {
    const rates = ratesBetween(
      { atMs: 0, samples: parsePrometheus(scrapeA) },
      { atMs: 2000, samples: parsePrometheus(scrapeB) },
    );
    expect(rates.appendRecordsPerSecond).toBe(100);
    expect(rates.appendBytesPerSecond).toBe(2000);
    expect(rates.readRecordsPerSecond).toBe(20);
    expect(rates.readBytesPerSecond).toBe(0);
    // 100 acks summing to 0.5 s: a mean of 5 ms, all of them in the (1 ms, 10 ms] bucket.
    expect(rates.ackLatencyMeanMs).toBeCloseTo(5);
    expect(rates.ackLatencyP99Ms).toBeGreaterThan(1);
    expect(rates.ackLatencyP99Ms).toBeLessThanOrEqual(10);
  });

  it('has no latency for an interval without acks, and interpolates inside a bucket', () => {
    const samples = parsePrometheus(scrapeA);
    expect(ratesBetween({ atMs: 0, samples }, { atMs: 1000, samples }).ackLatencyMeanMs).toBeUndefined();
    const before = new Map([
      [1, 0],
      [2, 0],
      [Infinity, 0],
    ]);
    const after = new Map([
      [1, 50],
      [2, 100],
      [Infinity, 100],
    ]);
    expect(quantileBetween(before, after, 0.5)).toBe(1);
    expect(quantileBetween(before, after, 0.75)).toBeCloseTo(1.5);
  });
});

describe('record bytes', () => {
  it('round-trips base64, including every byte value', () => {
    const bytes = Uint8Array.from({ length: 256 }, (_, i) => i);
    expect(fromBase64(toBase64(bytes))).toEqual(bytes);
  });

  it('shows control characters as control pictures and invalid UTF-8 as U+FFFD', () => {
    expect(visibleText(Uint8Array.from([0x61, 0x00, 0x1b, 0x09, 0x0a, 0x7f, 0xff]))).toBe(
      'a\u2400\u241b\t\n\u2421\ufffd',
    );
  });

  it('picks JSON, text or hex by itself, and follows an explicit choice', () => {
    expect(renderBody(utf8('{"a":[1,2]}'), 'auto')).toEqual({
      text: '{\n  "a": [\n    1,\n    2\n  ]\n}',
      as: 'json',
      truncated: false,
    });
    expect(renderBody(utf8('<script>alert(1)</script>'), 'auto').as).toBe('text');
    expect(renderBody(Uint8Array.from([0xff, 0xfe, 0x00, 0x01]), 'auto').as).toBe('hex');
    expect(renderBody(utf8('plain'), 'json').as).toBe('text');
    expect(renderBody(utf8('AB'), 'hex').text).toBe(`00000000  ${'41 42'.padEnd(47)}  AB`);
    expect(renderBody(new Uint8Array(0), 'auto').as).toBe('empty');
  });

  it('cuts long bodies for the preview and shows everything when asked', () => {
    const long = utf8('x'.repeat(bodyPreviewChars + 10));
    expect(renderBody(long, 'text')).toMatchObject({ truncated: true });
    expect(renderBody(long, 'text').text).toHaveLength(bodyPreviewChars);
    expect(renderBody(long, 'text', true)).toMatchObject({ truncated: false });
    expect(renderBody(long, 'text', true).text).toHaveLength(bodyPreviewChars + 10);
    expect(hexDump(new Uint8Array(40), 20).split('\n')).toHaveLength(2);
  });

  it('recognises fence and trim command records and meters records as api.md 6.4 does', () => {
    const empty = new Uint8Array(0);
    expect(commandOf({ headers: [[empty, utf8('fence')]], body: utf8('abc') })).toEqual({
      kind: 'fence',
      token: 'abc',
    });
    expect(commandOf({ headers: [[empty, utf8('trim')]], body: trimBody(42n) })).toEqual({
      kind: 'trim',
      trimPoint: 42n,
    });
    expect(commandOf({ headers: [[utf8('k'), utf8('trim')]], body: empty })).toBeUndefined();
    expect(meteredBytes({ headers: [], body: utf8('hello') })).toBe(13);
    expect(meteredBytes({ headers: [[utf8('k'), utf8('v')]], body: utf8('hi') })).toBe(14);
    expect(meteredBytes({ headers: [[empty, utf8('trim')]], body: trimBody(1n) })).toBe(22);
  });
});

describe('what people type', () => {
  it('reads u64 values exactly and refuses anything else', () => {
    expect(parseU64(' 18446744073709551615 ', 'x')).toBe(18446744073709551615n);
    expect(parseU64('', 'x')).toBeUndefined();
    expect(() => parseU64('18446744073709551616', 'seq_num')).toThrow('seq_num is larger than 2^64-1');
    expect(() => parseU64('-1', 'seq_num')).toThrow('seq_num must be a whole number');
    expect(stringifyJson({ match_seq_num: 18446744073709551615n, token: 'a"b', skip: undefined })).toBe(
      '{"match_seq_num":18446744073709551615,"token":"a\\"b"}',
    );
  });

  it('reads durations, timestamps and header lines', () => {
    expect(parseDurationSecs('7d', 'age')).toBe(604800n);
    expect(parseDurationSecs('90', 'age')).toBe(90n);
    expect(() => parseDurationSecs('a week', 'Retention age')).toThrow(/Retention age: write seconds/);
    expect(parseTimestampInput('1700000000000')).toBe(1700000000000n);
    expect(parseTimestampInput('2026-01-31T12:00:00Z')).toBe(BigInt(Date.parse('2026-01-31T12:00:00Z')));
    expect(() => parseTimestampInput('yesterday')).toThrow(/Timestamp/);
    expect(parseHeaderLines('a: 1\r\n\nurl: http://x:8080').map(([n, v]) => [visibleText(n), visibleText(v)])).toEqual([
      ['a', '1'],
      ['url', 'http://x:8080'],
    ]);
    expect(() => parseHeaderLines('nocolon')).toThrow('Header line 1 needs a colon');
  });
});
