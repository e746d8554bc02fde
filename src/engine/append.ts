/**
 * Append entry points (api.md 7.1, 7.4, lite-internals 1.4-1.5): validation, stream opening
 * with auto-creation, admission against the global in-flight byte budget, then the streamer.
 * The unary append and the S2S append session share this path; a session additionally keeps
 * its inputs in order and stops at its first failure.
 */
import { AppendConditionFailed, errors, S2Error } from '../domain/errors.js';
import { appendCounts, metrics } from '../metrics.js';
import type { EngineContext } from './context.js';
import { validateAppendInput, type ValidatedAppend } from './records.js';
import type { Semaphore } from './semaphore.js';
import type { StreamState } from './state.js';
import { streamerOf, type SessionHandle, type Streamer } from './streamer.js';
import { existingStream, openStream } from './streams.js';
import type { EncryptionKey } from './encryption/key.js';
import { StreamCipher } from './encryption/stream-cipher.js';
import type { AppendAck, AppendInput, StreamConfigLayer } from '../domain/types.js';

export interface AppendOptions {
  /** `s2-stream-config`: the config to use if this append auto-creates the stream (api.md 7.6). */
  streamConfig?: StreamConfigLayer;
  /** Aborting before admission writes nothing (lite-internals 6.5). */
  signal?: AbortSignal;
  /** `S2-Encryption-Key`: required for a stream with a cipher, ignored otherwise (api.md 7.5). */
  encryptionKey?: EncryptionKey;
}

export interface DataPlane {
  ctx: EngineContext;
  budget: Semaphore;
  /** Why writes are refused engine-wide (log failed or fenced), if they are. */
  refusal: () => string | undefined;
}

/** Opens the stream for writing and resolves its encryption key (steps 2-3 of api.md 7.1). */
async function openForAppend(
  dp: DataPlane,
  basin: string,
  name: string,
  options: AppendOptions,
): Promise<{ stream: StreamState; cipher: StreamCipher | null }> {
  const refusal = dp.refusal();
  if (refusal !== undefined) throw errors.unavailable(refusal);
  const stream = await openStream(dp.ctx, basin, name, 'append', options.streamConfig);
  const cipher = await StreamCipher.resolve(basin, name, stream.meta.cipher, options.encryptionKey);
  return { stream, cipher };
}

function countAppendError(error: unknown): void {
  const code =
    error instanceof S2Error ? error.code : error instanceof AppendConditionFailed ? 'condition_failed' : 'other';
  metrics.appendErrors.inc({ code });
}

/** The batch's permits: `max(1, metered)`; counted in the batch metrics as admission starts. */
function permitsOf(input: ValidatedAppend): number {
  metrics.appendBatchRecords.observe(input.records.length);
  metrics.appendBatchBytes.observe(input.meteredBytes);
  return Math.max(1, input.meteredBytes);
}

/**
 * Sequences an admitted batch on the stream's current streamer and returns its ack; on a refusal
 * the permits go back and the error is counted. Admission began at `waitStart` and ended at
 * `submitted` (monotonic ms).
 */
function sequence(
  dp: DataPlane,
  stream: StreamState,
  input: ValidatedAppend,
  permits: number,
  waitStart: number,
  submitted: number,
  signal: AbortSignal | undefined,
  session?: { handle: SessionHandle; streamer: Streamer },
): Promise<AppendAck> {
  metrics.appendPermitLatency.observe((submitted - waitStart) / 1000);
  appendCounts.inflightBytes += permits;
  try {
    // A client gone before sequencing gets nothing written (lite-internals 6.5).
    if (signal?.aborted) throw errors.unavailable('request aborted before it was sequenced');
    const refusal = dp.refusal();
    if (refusal !== undefined) throw errors.unavailable(refusal);
    // Looked up after admission: the streamer may have gone dormant or the stream been deleted.
    const streamer = session ? session.streamer : streamerOf(dp.ctx, stream);
    if (streamer.released) throw errors.streamDeletionPending();
    return streamer.append(input, session?.handle);
  } catch (error) {
    dp.budget.release(permits);
    appendCounts.inflightBytes -= permits;
    countAppendError(error);
    throw error;
  }
}

/** The ack came: permits back, ack metrics (`submitted`: when it was sequenced). */
function acked(dp: DataPlane, input: ValidatedAppend, permits: number, submitted: number): void {
  dp.budget.release(permits);
  appendCounts.inflightBytes -= permits;
  metrics.appendAckLatency.observe((dp.ctx.clock.monotonicMs() - submitted) / 1000);
  appendCounts.appends += 1;
  appendCounts.records += input.records.length;
  appendCounts.bytes += input.meteredBytes;
}

/** The sequenced batch failed: permits back, error counted. */
function notAcked(dp: DataPlane, permits: number, error: unknown): void {
  dp.budget.release(permits);
  appendCounts.inflightBytes -= permits;
  countAppendError(error);
}

/** A session input's ack, once sequenced (see `AppendSession.submit`). */
export interface Submitted {
  ack: Promise<AppendAck>;
}

/**
 * Sequences an admitted session input on the session's streamer; one `then` per ack does the
 * ack bookkeeping and records the session's first failure (`onFailure`).
 */
function sequenceInSession(
  dp: DataPlane,
  stream: StreamState,
  input: ValidatedAppend,
  permits: number,
  waitStart: number,
  signal: AbortSignal | undefined,
  session: { handle: SessionHandle; streamer: Streamer },
  onFailure: (error: unknown) => void,
): Submitted {
  const submitted = dp.ctx.clock.monotonicMs();
  const ack = sequence(dp, stream, input, permits, waitStart, submitted, signal, session);
  ack.then(
    () => acked(dp, input, permits, submitted),
    (error: unknown) => {
      notAcked(dp, permits, error);
      onFailure(error);
    },
  );
  return { ack };
}

/**
 * Takes the batch's permits, then sequences on the session's streamer. Synchronous when the
 * permits are free (the common case): an async function here, and its await in the transport,
 * were two promises and three microtask hops per input of an append session (W4/session profile).
 */
function admitAndAppend(
  dp: DataPlane,
  stream: StreamState,
  input: ValidatedAppend,
  signal: AbortSignal | undefined,
  session: { handle: SessionHandle; streamer: Streamer },
  onFailure: (error: unknown) => void,
): Submitted | Promise<Submitted> {
  const permits = permitsOf(input);
  const waitStart = dp.ctx.clock.monotonicMs();
  const waiting = dp.budget.acquire(permits, signal);
  if (waiting === undefined) {
    return sequenceInSession(dp, stream, input, permits, waitStart, signal, session, onFailure);
  }
  return waiting.then(() => sequenceInSession(dp, stream, input, permits, waitStart, signal, session, onFailure));
}

/**
 * Unary append: resolves with the ack once the batch is durable. The steps of `openForAppend`
 * and `admitAndAppend`, inline: for an existing stream without a cipher and permits free, the
 * only await is the ack's. Each promise, closure and result object less per append is garbage
 * the collector does not chase (issue 14, W1 tail latency).
 */
export async function append(
  dp: DataPlane,
  basin: string,
  name: string,
  input: AppendInput,
  options: AppendOptions = {},
): Promise<AppendAck> {
  const validated = validateAppendInput(input);
  const refusal = dp.refusal();
  if (refusal !== undefined) throw errors.unavailable(refusal);
  const stream =
    existingStream(dp.ctx, basin, name) ?? (await openStream(dp.ctx, basin, name, 'append', options.streamConfig));
  const cipher =
    stream.meta.cipher === null
      ? null
      : await StreamCipher.resolve(basin, name, stream.meta.cipher, options.encryptionKey);
  // Sealed after validation measured the plaintext; the batch's metered size is unchanged (api.md 6.4).
  const sealed = cipher ? cipher.sealAppend(validated) : validated;
  const permits = permitsOf(sealed);
  const waitStart = dp.ctx.clock.monotonicMs();
  const waiting = dp.budget.acquire(permits, options.signal);
  if (waiting) await waiting;
  const submitted = dp.ctx.clock.monotonicMs();
  const ack = sequence(dp, stream, sealed, permits, waitStart, submitted, options.signal);
  let result: AppendAck;
  try {
    result = await ack;
  } catch (error) {
    notAcked(dp, permits, error);
    throw error;
  }
  acked(dp, sealed, permits, submitted);
  return result;
}

/**
 * An append session (S2S, api.md 7.4): inputs are submitted one at a time, in order; each
 * `submit` resolves once the input is admitted and sequenced, with a promise of its ack. The
 * first failure poisons the session: later inputs are not applied. The session holds a lease so
 * the streamer survives idle gaps between inputs.
 */
export class AppendSession {
  private readonly handle: SessionHandle = { lastAckEnd: 0, poisoned: false };
  private failure: unknown;
  private closed = false;
  /** What `sequence` needs of the session, built once rather than per input. */
  private readonly target: { handle: SessionHandle; streamer: Streamer };
  /** The first failure of any input poisons the session. */
  private readonly onFailure = (error: unknown): void => {
    this.failure ??= error;
  };

  private constructor(
    private readonly dp: DataPlane,
    private readonly stream: StreamState,
    private readonly streamer: Streamer,
    private readonly releaseLease: () => void,
    private readonly cipher: StreamCipher | null,
  ) {
    this.target = { handle: this.handle, streamer: this.streamer };
  }

  static async open(dp: DataPlane, basin: string, name: string, options: AppendOptions = {}): Promise<AppendSession> {
    const { stream, cipher } = await openForAppend(dp, basin, name, options);
    const streamer = streamerOf(dp.ctx, stream);
    return new AppendSession(dp, stream, streamer, streamer.lease(), cipher);
  }

  /**
   * Validates and admits one input. Fails (without sequencing) if the input is invalid or the
   * session already failed; otherwise gives its ack promise, which settles in input order. The
   * result is immediate when the in-flight budget admits the input at once, a promise otherwise;
   * failures are always a rejected promise.
   */
  submit(input: AppendInput, signal?: AbortSignal): Submitted | Promise<Submitted> {
    if (this.closed) return Promise.reject(errors.other('append session closed'));
    if (this.failure !== undefined) return Promise.reject(this.failure);
    let validated: ValidatedAppend;
    try {
      validated = validateAppendInput(input);
      if (this.cipher) validated = this.cipher.sealAppend(validated);
    } catch (error) {
      this.failure = error;
      this.handle.poisoned = true;
      return Promise.reject(error);
    }
    try {
      return admitAndAppend(this.dp, this.stream, validated, signal, this.target, this.onFailure);
    } catch (error) {
      return Promise.reject(error);
    }
  }

  /** Releases the session's hold on the streamer; acks already promised still settle. */
  close(): void {
    if (this.closed) return;
    this.closed = true;
    this.releaseLease();
  }
}
