import { describe, expect, it } from 'vitest';
import { encodeReadBatchJson } from '../../../src/api/codec/json-records.js';
import { parseLastEventId, sseBatchEvent, sseDoneEvent, sseErrorEvent, ssePingEvent } from '../../../src/api/sse.js';
import type { SequencedRecord } from '../../../src/domain/types.js';
import { AssertionError } from '../../../src/util/assert.js';
import { U64_MAX, expectS2Error } from './helpers.js';

const rec = (seqNum: number, body: string): SequencedRecord => ({
  seqNum,
  timestamp: 1755770400123n,
  headers: [],
  body: new Uint8Array(Buffer.from(body)),
});

describe('SSE events (api.md 8.4)', () => {
  it('batch event with id and ReadBatch data, as in the section 15 transcript', () => {
    const data = encodeReadBatchJson(
      { records: [rec(2, 'again')], tail: { seqNum: 3, timestamp: 1755770400123n } },
      'raw',
    );
    expect(sseBatchEvent({ lastSeqNum: 2, count: 3, bytes: 43 }, data)).toBe(
      'event: batch\nid: 2,3,43\n' +
        'data: {"records":[{"seq_num":2,"timestamp":1755770400123,"body":"again"}],' +
        '"tail":{"seq_num":3,"timestamp":1755770400123}}\n\n',
    );
  });

  it('ping event with timestamp and tail', () => {
    expect(ssePingEvent(1755770401000, { seqNum: 2, timestamp: 1755770400123n })).toBe(
      'event: ping\ndata: {"timestamp":1755770401000,"tail":{"seq_num":2,"timestamp":1755770400123}}\n\n',
    );
    expect(ssePingEvent(1, { seqNum: 0, timestamp: U64_MAX })).toBe(
      'event: ping\ndata: {"timestamp":1,"tail":{"seq_num":0,"timestamp":18446744073709551615}}\n\n',
    );
  });

  it('error event and the [DONE] terminator (no event field)', () => {
    expect(sseErrorEvent('{"code":"unavailable","message":"stream deleted"}')).toBe(
      'event: error\ndata: {"code":"unavailable","message":"stream deleted"}\n\n',
    );
    expect(sseDoneEvent()).toBe('data: [DONE]\n\n');
  });

  it('record data with newlines stays on one data line (JSON escapes them)', () => {
    const data = encodeReadBatchJson({ records: [rec(0, 'line1\nline2\r\n')] }, 'raw');
    const event = sseBatchEvent({ lastSeqNum: 0, count: 1, bytes: 21 }, data);
    expect(event.split('\n')).toEqual([
      'event: batch',
      'id: 0,1,21',
      'data: {"records":[{"seq_num":0,"timestamp":1755770400123,"body":"line1\\nline2\\r\\n"}]}',
      '',
      '',
    ]);
  });

  it('refuses data containing raw line breaks', () => {
    expect(() => sseBatchEvent({ lastSeqNum: 0, count: 1, bytes: 8 }, '{"a":\n1}')).toThrow(AssertionError);
    expect(() => sseErrorEvent('{"message":"a\rb"}')).toThrow(AssertionError);
  });
});

describe('parseLastEventId', () => {
  it('parses seq_num,count,bytes', () => {
    expect(parseLastEventId('1,2,30')).toEqual({ lastSeqNum: 1, count: 2, bytes: 30 });
    expect(parseLastEventId('0,0,0')).toEqual({ lastSeqNum: 0, count: 0, bytes: 0 });
    expect(parseLastEventId('9007199254740991,1,1').lastSeqNum).toBe(Number.MAX_SAFE_INTEGER);
  });

  it('round-trips the ids it emits', () => {
    const id = { lastSeqNum: 123456, count: 1000, bytes: 1048576 };
    const line = sseBatchEvent(id, '{}').split('\n')[1];
    expect(parseLastEventId(line.slice('id: '.length))).toEqual(id);
  });

  it('saturates valid u64s above 2^53 - 1', () => {
    expect(parseLastEventId('18446744073709551615,18446744073709551615,9007199254740992')).toEqual({
      lastSeqNum: Number.MAX_SAFE_INTEGER,
      count: Number.MAX_SAFE_INTEGER,
      bytes: Number.MAX_SAFE_INTEGER,
    });
  });

  for (const bad of [
    '',
    '1',
    '1,2',
    '1,2,3,4',
    '1,,3',
    ',2,3',
    'a,2,3',
    '1,2,x',
    '-1,2,3',
    '1.5,2,3',
    '1, 2,3',
    ' 1,2,3',
    '+1,2,3',
    '0x10,2,3',
    '1e3,2,3',
    '18446744073709551616,0,0',
    '123456789012345678901,0,0',
  ]) {
    it(`rejects ${JSON.stringify(bad)} with bad_header`, () => {
      expectS2Error(() => parseLastEventId(bad), 'bad_header', '`last-event-id`');
    });
  }
});
