/**
 * What the streaming transports (SSE, S2S) need from the engine, kept deliberately narrow so the
 * transports can be tested on their own: an opened read session is an async iterator of outputs
 * (architecture.md, "api -> engine"), an opened append session admits inputs one at a time and
 * hands back one ack promise per input.
 *
 * Opening (stream lookup, auto-create, start resolution, 416) happens before the response starts,
 * so its failures are ordinary JSON responses (api.md 7.4, 8.4, 8.6); everything after is framed.
 */
import type { RecordList } from '../../domain/record-list.js';
import type { AppendAck, AppendInput, SequencedRecord, StreamPosition } from '../../domain/types.js';

/**
 * One output of a read session (api.md 8.3): a batch (live batches carry `tail`) or a heartbeat.
 * `list`, when present, holds the same records as stored (protobuf is encoded from it directly).
 */
export type SessionReadOutput =
  | { kind: 'batch'; records: SequencedRecord[]; list?: RecordList; tail?: StreamPosition }
  | { kind: 'heartbeat'; tail: StreamPosition };

/**
 * An opened read session. The transport pulls the next output only after the previous one was
 * written out (so a slow client slows the pull, never grows a buffer) and calls `close` when it
 * stops, for whatever reason (possibly more than once). `close` must release timers and follower
 * slots even while a `next()` is pending, and make that `next()` settle.
 */
export interface ReadSessionPort {
  /** The next output, or `undefined` when the read ended normally (limits, until, wait). */
  next(): Promise<SessionReadOutput | undefined>;
  close(): void;
  /**
   * The push path (optional): while the session waits for live batches, it may hand one to
   * `sink` synchronously instead of resolving a pending `next()`. `sink` returns false when it
   * cannot take the output now; the session then delivers it through `next()` as usual. Checks
   * and metering that `next()` does for an output happen before `sink` accepts it.
   */
  setLiveSink?(sink: ((output: SessionReadOutput) => boolean) | undefined): void;
}

/**
 * An opened append session on one stream (api.md 7.4, lite-internals 1.5). `submit` validates
 * the input, waits until the global in-flight budget admits it, and hands it to the stream's
 * write path behind the session's earlier inputs. It resolves once admitted (so the transport may
 * read the next input) with the promise of the input's ack, which resolves once durable; when
 * admission is immediate the result may be given directly rather than as a promise.
 *
 * After the first failure of any input (invalid, condition failed, storage) the session is
 * poisoned: later inputs, even already submitted ones, are never applied.
 */
export interface AppendSessionPort {
  submit(input: AppendInput, signal: AbortSignal): { ack: Promise<AppendAck> } | Promise<{ ack: Promise<AppendAck> }>;
  /** The transport is done with the session (ended, failed, or the client went away). */
  close(): void;
}
