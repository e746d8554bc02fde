/**
 * S2S append session (api.md 7.4, lite-internals 1.5): `POST .../records` with
 * `Content-Type: s2s/proto`, a body of framed AppendInputs and a response of framed AppendAcks,
 * over HTTP/2 or full-duplex HTTP/1.1 (acks stream out while the chunked body still arrives).
 *
 * Two loops share one ordered queue:
 * - input: reads one frame at a time, decodes it and submits it; the next input is not read until
 *   the previous one was admitted by the global in-flight budget and the session has fewer than
 *   `inflightInputsMax` un-acked inputs (input-side backpressure). A malformed frame or an input
 *   the engine refuses is queued as a failure in its place, and reading stops.
 * - output: awaits the queue's entries in input order and writes one ack frame per input once it
 *   is durable. The first failure becomes the terminal frame (status + the unary JSON body) after
 *   the acks of every earlier input; the engine has poisoned the session, so no later input is
 *   applied. A client that ends its body gets its remaining acks and a response without terminal.
 */
import type { AppendAck, AppendInput } from '../../domain/types.js';
import { errors, S2Error } from '../../domain/errors.js';
import { requestBodyIdleTimeoutMs, requestBodyTimeoutMs } from '../../limits.js';
import { decodeAppendInput, encodeAppendAck } from '../codec/proto.js';
import { errorResponse } from '../errors.js';
import { abandonRequestBody, requestBodies, type Request, type Response } from '../http.js';
import type { Compression } from '../s2s/compression.js';
import { encodeRegularFrame, encodeTerminalFrame } from '../s2s/frame.js';
import { FrameReader } from '../s2s/reader.js';
import { BodyReader } from './body.js';
import { SessionOutput } from './output.js';
import type { AppendSessionPort } from './ports.js';

export interface AppendSessionOptions {
  compression: Compression;
  /** Un-acked inputs one session may have; beyond it the session stops reading its body. */
  inflightInputsMax: number;
}

type Entry = { ack: Promise<AppendAck> };

/** Inputs in submission order, each with the promise of its outcome; bounded in count. */
class AckQueue {
  private readonly entries: Entry[] = [];
  private finished = false;
  private wakeOutput: (() => void) | undefined;
  private wakeInput: (() => void) | undefined;

  constructor(private readonly max: number) {}

  push(ack: Promise<AppendAck>): void {
    // Outcomes are awaited in order later; a failure must not count as unhandled meanwhile.
    ack.catch(() => {});
    this.entries.push({ ack });
    this.wake('output');
  }

  fail(error: unknown): void {
    this.push(Promise.reject(error));
  }

  /** No more entries will be pushed. */
  finish(): void {
    this.finished = true;
    this.wake('output');
  }

  /** Resolves once another entry fits, or `signal` aborts. */
  async space(signal: AbortSignal): Promise<void> {
    while (this.entries.length >= this.max && !signal.aborted) {
      await new Promise<void>((resolve) => {
        const done = () => {
          signal.removeEventListener('abort', done);
          resolve();
        };
        this.wakeInput = done;
        signal.addEventListener('abort', done);
      });
    }
  }

  /** The oldest entry, waiting for one; `undefined` once finished and empty. Removed by `shift`. */
  async peek(): Promise<Entry | undefined> {
    while (this.entries.length === 0) {
      if (this.finished) return undefined;
      await new Promise<void>((resolve) => (this.wakeOutput = resolve));
    }
    return this.entries[0];
  }

  shift(): void {
    this.entries.shift();
    this.wake('input');
  }

  private wake(which: 'input' | 'output'): void {
    const wake = which === 'input' ? this.wakeInput : this.wakeOutput;
    if (which === 'input') this.wakeInput = undefined;
    else this.wakeOutput = undefined;
    wake?.();
  }
}

/** `promise`'s value, or undefined as soon as `signal` aborts. */
function unlessAborted<T>(promise: Promise<T>, signal: AbortSignal): Promise<T | undefined> {
  if (signal.aborted) return Promise.resolve(undefined);
  return new Promise<T | undefined>((resolve, reject) => {
    const onAbort = () => resolve(undefined);
    signal.addEventListener('abort', onAbort, { once: true });
    promise.then(
      (value) => {
        signal.removeEventListener('abort', onAbort);
        resolve(value);
      },
      (error: unknown) => {
        signal.removeEventListener('abort', onAbort);
        reject(error);
      },
    );
  });
}

/** A frame's AppendInput; undecodable protobuf inside a frame is a framing error (api.md 7.4). */
function decodeInput(payload: Uint8Array): AppendInput {
  try {
    return decodeAppendInput(payload);
  } catch (error) {
    if (error instanceof S2Error) throw errors.badFrame(error.message);
    throw error;
  }
}

/** The input loop: frames -> inputs -> admitted submissions, in order, until the body ends or a failure. */
/**
 * The incomplete frame a session holds between chunks. A client may pause between inputs for as
 * long as it likes, but a frame it started must arrive within the body timeouts (a trickled frame
 * holds up to 2 MiB, api.md 9.1), and its bytes count against the budget of request bodies.
 */
class FrameInProgress {
  private since: number | undefined;
  private charged = 0;

  /** How long the next read may wait for the client (undefined: no frame started, no limit). */
  waitMs(pendingBytes: number): number | undefined {
    if (pendingBytes === 0) return undefined;
    const left = requestBodyTimeoutMs - (performance.now() - (this.since ?? performance.now()));
    return Math.max(0, Math.min(requestBodyIdleTimeoutMs, left));
  }

  /** After a chunk was taken apart: `pendingBytes` of a frame remain; throws 503 if the budget is spent. */
  update(pendingBytes: number): void {
    if (pendingBytes === 0) this.since = undefined;
    else this.since ??= performance.now();
    if (pendingBytes > this.charged) {
      if (!requestBodies.take(pendingBytes - this.charged)) {
        throw errors.unavailable('too many request bodies are being received; retry later');
      }
    } else {
      requestBodies.give(this.charged - pendingBytes);
    }
    this.charged = pendingBytes;
  }

  release(): void {
    requestBodies.give(this.charged);
    this.charged = 0;
  }
}

/** The input loop: frames -> inputs -> admitted submissions, in order, until the body ends or a failure. */
async function readInputs(
  body: BodyReader,
  session: AppendSessionPort,
  queue: AckQueue,
  signal: AbortSignal,
  onTimeout: () => void,
): Promise<void> {
  const frames = new FrameReader();
  const inProgress = new FrameInProgress();
  try {
    for (;;) {
      const next = await body.next(inProgress.waitMs(frames.pendingBytes));
      if (next.kind === 'gone') return;
      if (next.kind === 'idle') {
        onTimeout();
        throw errors.requestTimeout(
          `S2S frame not received within ${requestBodyTimeoutMs} ms, or with no pause over ` +
            `${requestBodyIdleTimeoutMs} ms (${frames.pendingBytes} bytes arrived)`,
        );
      }
      if (next.kind === 'end') {
        frames.end(); // throws bad_frame if the body stopped inside a frame
        return;
      }
      for (const frame of frames.push(next.chunk)) {
        if (frame.terminal) throw errors.badFrame('Unexpected terminal frame as input');
        const input = decodeInput(frame.payload);
        await queue.space(signal);
        if (signal.aborted) return;
        const { ack } = await session.submit(input, signal);
        queue.push(ack);
      }
      inProgress.update(frames.pendingBytes);
    }
  } catch (error) {
    if (!signal.aborted) queue.fail(error);
  } finally {
    inProgress.release();
    queue.finish();
  }
}

/**
 * Runs an append session on an opened `session` until the body ends, the first failure, or the
 * client goes away. The 200 response starts at once (api.md 7.4).
 */
export async function serveS2SAppend(
  req: Request,
  res: Response,
  session: AppendSessionPort,
  options: AppendSessionOptions,
): Promise<void> {
  const out = new SessionOutput(req, res);
  const stopInput = new AbortController();
  const unsubscribe = out.onGone(() => stopInput.abort());
  const queue = new AckQueue(options.inflightInputsMax);
  out.start('s2s/proto');
  const input = readInputs(new BodyReader(req, stopInput.signal), session, queue, stopInput.signal, () =>
    abandonRequestBody(req, res),
  );
  try {
    for (let entry = await queue.peek(); entry !== undefined; entry = await queue.peek()) {
      let ack: AppendAck | undefined;
      try {
        // A client that left needs no more acks; what it submitted becomes durable regardless.
        ack = await unlessAborted(entry.ack, out.signal);
        if (ack === undefined) return;
      } catch (error) {
        stopInput.abort();
        const { status, body, internal } = errorResponse(error);
        out.end(encodeTerminalFrame(status, body));
        // A bug of ours: the client got its 500 frame; rethrown so the server logs it.
        if (internal) throw error;
        return;
      }
      queue.shift();
      if (!(await out.write(encodeRegularFrame(encodeAppendAck(ack), options.compression)))) return;
    }
    out.end();
  } finally {
    stopInput.abort();
    unsubscribe();
    await input;
    session.close();
  }
}
