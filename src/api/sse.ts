/**
 * Server-sent events for reads with `Accept: text/event-stream` (api.md 8.4). Each function returns one complete
 * event, ready to write:
 *
 *   event: batch / id: <last seq_num>,<count>,<bytes> / data: <ReadBatch JSON>
 *   event: ping  / data: {"timestamp":<ms>,"tail":{...}}
 *   event: error / data: {"code":..,"message":..}
 *   data: [DONE]                          (normal end; no `event:` field)
 *
 * No `retry:` field and no comment keep-alives. The `id` counters are cumulative within one HTTP response; resuming
 * with `Last-Event-ID` is parsed by `parseLastEventId`.
 */
import type { StreamPosition } from '../domain/types.js';
import { errors } from '../domain/errors.js';
import { AssertionError } from '../util/assert.js';
import { encodeStreamPositionJson } from './codec/json-records.js';

/** The `id` of a batch event, and what `Last-Event-ID` carries back (api.md 8.4). */
export interface SseEventId {
  /** seq_num of the last record of the batch. */
  lastSeqNum: number;
  /** Records delivered so far in this response (cumulative). */
  count: number;
  /** Metered bytes delivered so far in this response (cumulative). */
  bytes: number;
}

/** An SSE `data:` line ends at a newline; JSON serializers never emit raw ones, and this keeps it that way. */
function dataLine(data: string): string {
  if (data.includes('\n') || data.includes('\r')) throw new AssertionError('SSE data must not contain line breaks');
  return `data: ${data}\n\n`;
}

export function sseBatchEvent(id: SseEventId, dataJson: string): string {
  return `event: batch\nid: ${id.lastSeqNum},${id.count},${id.bytes}\n${dataLine(dataJson)}`;
}

/** Heartbeat: the server time and the current tail (lite adds `tail` to the spec's ping, api.md 16.3). */
export function ssePingEvent(timestampMs: number, tail: StreamPosition): string {
  return `event: ping\n${dataLine(`{"timestamp":${timestampMs},"tail":${encodeStreamPositionJson(tail)}}`)}`;
}

/** A mid-stream failure: the JSON error body; the response ends after it, without `[DONE]`. */
export function sseErrorEvent(errorJson: string): string {
  return `event: error\n${dataLine(errorJson)}`;
}

export function sseDoneEvent(): string {
  return 'data: [DONE]\n\n';
}

const U64_MAX = 0xffff_ffff_ffff_ffffn;
const u64Digits = /^\d{1,20}$/;

/**
 * Parses `Last-Event-ID: <seq_num>,<count>,<bytes>` (three u64s). Anything else is `400 bad_header`. Values above
 * 2^53 - 1 (valid u64s, but never produced by this server) saturate to `Number.MAX_SAFE_INTEGER`: resuming after such a
 * seq_num starts beyond any tail, and such counts exhaust any limit, exactly as the exact values would.
 */
export function parseLastEventId(value: string): SseEventId {
  const parts = value.split(',');
  if (parts.length !== 3) {
    throw errors.invalidHeader('last-event-id', 'expected `<seq_num>,<count>,<bytes>`');
  }
  const [lastSeqNum, count, bytes] = parts.map((part) => {
    if (!u64Digits.test(part)) throw errors.invalidHeader('last-event-id', `\`${part}\` is not an unsigned integer`);
    const n = BigInt(part);
    if (n > U64_MAX) throw errors.invalidHeader('last-event-id', `\`${part}\` exceeds u64`);
    return n > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(n);
  });
  return { lastSeqNum, count, bytes };
}
