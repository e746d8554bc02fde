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
 * - output: takes the queue's entries in input order and writes one ack frame per input once it
 *   is durable; the frames of acks that became durable together go out in one write. The first
 *   failure becomes the terminal frame (status + the unary JSON body) after the acks of every
 *   earlier input; the engine has poisoned the session, so no later input is applied. A client
 *   that ends its body gets its remaining acks and a response without terminal.
 */
import type { AppendAck, AppendInput } from '../../domain/types.js';
import { errors, S2Error } from '../../domain/errors.js';
import { requestBodyIdleTimeoutMs, requestBodyTimeoutMs } from '../../limits.js';
import { appendAckSize, decodeAppendInput, writeAppendAck } from '../codec/proto.js';
import { errorResponse } from '../errors.js';
import type { Request, Response } from '../http.js';
import { abandonRequestBody, requestBodies } from '../request-body.js';
import { encodeTerminalFrame, frameReservedBytes, writeRegularFrameHeader } from '../s2s/frame.js';
import { FrameReader } from '../s2s/reader.js';
import { BodyReader } from './body.js';
import { SessionOutput } from './output.js';
import type { AppendSessionPort } from './ports.js';

/**
 * No compression option: an append session's frames to the client (acks, a terminal error) are
 * far below the compression threshold (api.md 9.3), so `Accept-Encoding` never changes them.
 */
export interface AppendSessionOptions {
  /** Un-acked inputs one session may have; beyond it the session stops reading its body. */
  inflightInputsMax: number;
}

/** An input's outcome, recorded when its ack promise settles (so the output loop needs no await per ack). */
interface Entry {
  state: 'pending' | 'ok' | 'failed';
  /** Set once `ok`. */
  ack?: AppendAck;
  /** Set once `failed`. */
  error?: unknown;
}

/**
 * Inputs in submission order, each with its outcome once known; bounded in count. The output loop
 * sleeps on `changed()` and is woken when the oldest entry settles, an entry is queued, the input
 * ends or the client leaves; it then writes every settled ack at the head in one go.
 */
class AckQueue {
  private readonly entries: Entry[] = [];
  private ended = false;
  private wakeOutput: (() => void) | undefined;
  private wakeInput: (() => void) | undefined;

  constructor(private readonly max: number) {}

  get full(): boolean {
    return this.entries.length >= this.max;
  }

  get finished(): boolean {
    return this.ended;
  }

  push(ack: Promise<AppendAck>): void {
    const index = this.entries.length;
    const entry: Entry = { state: 'pending' };
    this.entries.push(entry);
    // Outcomes are read in order later; a failure must not count as unhandled meanwhile.
    ack.then(
      (value) => {
        entry.state = 'ok';
        entry.ack = value;
        if (this.entries[0] === entry) this.wake('output');
      },
      (error: unknown) => {
        entry.state = 'failed';
        entry.error = error;
        if (this.entries[0] === entry) this.wake('output');
      },
    );
    if (index === 0) this.wake('output');
  }

  fail(error: unknown): void {
    this.entries.push({ state: 'failed', error });
    this.wake('output');
  }

  /** No more entries will be pushed. */
  finish(): void {
    this.ended = true;
    this.wake('output');
  }

  /** Wakes the output loop (the client left). */
  interrupt(): void {
    this.wake('output');
  }

  /** Resolves once another entry fits, or `signal` aborts. */
  async space(signal: AbortSignal): Promise<void> {
    while (this.full && !signal.aborted) {
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

  /** The oldest entry (settled or not), if any. */
  head(): Entry | undefined {
    return this.entries[0];
  }

  /** The entry `index` places after the oldest, if any. */
  at(index: number): Entry | undefined {
    return this.entries[index];
  }

  /** Resolves at the next change the output loop may care about (see the class comment). */
  changed(): Promise<void> {
    return new Promise<void>((resolve) => (this.wakeOutput = resolve));
  }

  shift(): void {
    this.entries.shift();
    if (!this.full) this.wake('input');
  }

  private wake(which: 'input' | 'output'): void {
    const wake = which === 'input' ? this.wakeInput : this.wakeOutput;
    if (which === 'input') this.wakeInput = undefined;
    else this.wakeOutput = undefined;
    wake?.();
  }
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
      frames.add(next.chunk);
      for (let frame = frames.next(); frame !== undefined; frame = frames.next()) {
        if (frame.terminal) throw errors.badFrame('Unexpected terminal frame as input');
        const input = decodeInput(frame.payload);
        if (queue.full) await queue.space(signal);
        if (signal.aborted) return;
        // Usually immediate (admitted at once): awaiting only a real promise saves a microtask hop.
        let submitted = session.submit(input, signal);
        if (submitted instanceof Promise) submitted = await submitted;
        queue.push(submitted.ack);
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
  const queue = new AckQueue(options.inflightInputsMax);
  const unsubscribe = out.onGone(() => {
    stopInput.abort();
    queue.interrupt();
  });
  out.start('s2s/proto');
  const input = readInputs(new BodyReader(req, stopInput.signal), session, queue, stopInput.signal, () =>
    abandonRequestBody(req, res),
  );
  try {
    for (;;) {
      // A client that left needs no more acks; what it submitted becomes durable regardless.
      if (out.signal.aborted) return;
      const head = queue.head();
      if (head === undefined || head.state === 'pending') {
        if (head === undefined && queue.finished) break;
        await queue.changed();
        continue;
      }
      if (head.state === 'failed') {
        stopInput.abort();
        const { status, body, internal } = errorResponse(head.error);
        out.end(encodeTerminalFrame(status, body));
        // A bug of ours: the client got its 500 frame; rethrown so the server logs it.
        if (internal) throw head.error;
        return;
      }
      if (!(await out.write(settledAcks(queue)))) return;
    }
    out.end();
  } finally {
    stopInput.abort();
    unsubscribe();
    await input;
    session.close();
  }
}

/**
 * The frames of the settled acks at the head of the queue, removed from it, as one buffer: acks
 * that became durable together (one sync) go out in one write rather than one write (and one
 * HTTP/1.1 chunk, one writev) each. An AppendAck is three positions, under 100 bytes, far below
 * `compressionThresholdBytes` (api.md 9.3), so ack frames are never compressed and are written
 * straight into that buffer: an ack buffer, a frame buffer and a concatenation per ack were a
 * third of this function's time and garbage (W4/session profile).
 */
function settledAcks(queue: AckQueue): Uint8Array {
  let count = 0;
  let bytes = 0;
  for (let entry = queue.at(0); entry?.state === 'ok'; entry = queue.at(++count)) {
    const size = appendAckSize(entry.ack!);
    ackSizes[count] = size;
    bytes += frameReservedBytes + size;
  }
  const out = Buffer.allocUnsafe(bytes);
  let pos = 0;
  for (let i = 0; i < count; i++) {
    pos = writeAppendAck(out, writeRegularFrameHeader(out, pos, ackSizes[i]!), queue.head()!.ack!);
    queue.shift();
  }
  return out;
}

/** Scratch of `settledAcks` (it never yields): the size of each ack it writes. */
const ackSizes: number[] = [];
