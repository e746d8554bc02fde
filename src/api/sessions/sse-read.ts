/**
 * SSE read session (api.md 8.4): `GET .../records` with `Accept: text/event-stream` first.
 *
 * Each non-empty batch is a `batch` event whose id is `<last seq_num>,<count>,<bytes>`, the
 * counters cumulative over this response (so a client resuming with `Last-Event-ID` can have its
 * limits reduced by what it already got); heartbeats are `ping` events with the server time and
 * the tail; a mid-stream failure is an `error` event with the JSON error body and no `[DONE]`; a
 * normal end is `data: [DONE]`. Backpressure as in output.ts: one event in flight at a time.
 */
import { meteredBytes } from '../../domain/types.js';
import type { Clock } from '../../util/clock.js';
import { encodeReadBatchJson, type RecordFormat } from '../codec/json-records.js';
import type { Request, Response } from '../http.js';
import { sseBatchEvent, sseDoneEvent, sseErrorEvent, ssePingEvent } from '../sse.js';
import { serveReadSession } from './output.js';
import type { ReadSessionPort, SessionReadOutput } from './ports.js';

export interface SseReadOptions {
  format: RecordFormat;
  /** Server time for `ping` events. */
  clock: Clock;
}

/** Turns outputs into events, keeping the per-response counters of the batch ids. */
class SseEncoder {
  private count = 0;
  private bytes = 0;

  constructor(private readonly options: SseReadOptions) {}

  /** The event for `output`, or undefined for an empty batch (only non-empty batches are sent). */
  event(output: SessionReadOutput): string | undefined {
    if (output.kind === 'heartbeat') return ssePingEvent(this.options.clock.nowMs(), output.tail);
    const records = output.records;
    if (records.length === 0) return undefined;
    this.count += records.length;
    for (const record of records) this.bytes += meteredBytes(record);
    const id = { lastSeqNum: records[records.length - 1]!.seqNum, count: this.count, bytes: this.bytes };
    const batch = output.tail ? { records, tail: output.tail } : { records };
    return sseBatchEvent(id, encodeReadBatchJson(batch, this.options.format));
  }
}

export function serveSseRead(
  req: Request,
  res: Response,
  session: ReadSessionPort,
  options: SseReadOptions,
): Promise<void> {
  const encoder = new SseEncoder(options);
  return serveReadSession(req, res, session, {
    contentType: 'text/event-stream',
    message: (output) => encoder.event(output),
    end: sseDoneEvent,
    failure: ({ body }) => sseErrorEvent(body),
  });
}
