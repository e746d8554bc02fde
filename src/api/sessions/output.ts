/**
 * The response side of a streaming session (SSE or S2S) over HTTP/1.1 or HTTP/2.
 *
 * Backpressure: `write` resolves only once the transport accepted the chunk without exceeding its
 * buffer (`res.write()` returned true) or after 'drain'. Sessions produce their next message only
 * after the previous write resolved, so a slow reader holds at most one message here plus the
 * socket's own buffer; the engine's follower queue then overflows and the reader falls back to
 * storage (lite-internals 1.8), never the writer.
 *
 * A client that goes away (connection or HTTP/2 stream closed before the response finished)
 * aborts `signal`; pending writes then resolve `false` so the session unwinds and releases its
 * engine resources.
 */
import type { ServerResponse } from 'node:http';
import { errorResponse } from '../errors.js';
import type { Request, Response } from '../http.js';
import type { ReadSessionPort, SessionReadOutput } from './ports.js';

/** Headers every streaming response carries so proxies neither cache nor buffer it (api.md 7.4, 8.4, 8.6). */
export const streamingHeaders = {
  'cache-control': 'no-cache, no-transform',
  'x-accel-buffering': 'no',
} as const;

export class SessionOutput {
  private readonly gone = new AbortController();
  /**
   * Any close before we ended the response means the client left. (HTTP/2's compatibility layer
   * reports even an aborted stream as finished, so `writableFinished` cannot tell.)
   */
  private readonly onClose = () => this.gone.abort();

  constructor(
    private readonly req: Request,
    private readonly res: Response,
  ) {
    res.on('close', this.onClose);
    // An HTTP/2 client that resets the stream with NO_ERROR (the official SDK cancelling a session)
    // while writes wait for flow control gets no 'close' from Node (the stream waits for its writes
    // to finish, which never happens): only 'aborted'.
    if ('stream' in res) res.stream.on('aborted', this.onClose);
    if (isClosed(res)) this.gone.abort();
  }

  /**
   * Runs `fn` once the client is gone, at once if it already is (it may leave while the session
   * is being opened). Returns the function that unsubscribes.
   */
  onGone(fn: () => void): () => void {
    const signal = this.gone.signal;
    if (signal.aborted) {
      fn();
      return () => {};
    }
    signal.addEventListener('abort', fn, { once: true });
    return () => signal.removeEventListener('abort', fn);
  }

  /** Aborted when the client went away before the response finished. */
  get signal(): AbortSignal {
    return this.gone.signal;
  }

  get open(): boolean {
    return !this.gone.signal.aborted && !this.res.writableEnded;
  }

  /**
   * The transport's buffer plus `extra` more bytes stays below its high-water mark: a write now
   * would not have to wait for 'drain'. (Not `writableNeedDrain`, which HTTP/2's compatibility
   * response lacks: it would always read as writable.)
   */
  hasRoom(extra: number): boolean {
    return this.res.writableLength + extra < this.res.writableHighWaterMark;
  }

  /** Writes without waiting (the caller checked `hasRoom`); see `write` for `written`. */
  writeNow(chunk: Uint8Array | string, written?: () => void): void {
    if (this.open) (this.res as ServerResponse).write(chunk, written);
  }

  /** Sends the 200 status line and headers right away, before any message exists. */
  start(contentType: string): void {
    if (!this.open) return;
    this.res.writeHead(200, { 'content-type': contentType, ...streamingHeaders });
    // HTTP/2 sends headers on writeHead; HTTP/1.1 would wait for the first body chunk.
    if ('flushHeaders' in this.res) (this.res as ServerResponse).flushHeaders();
  }

  /**
   * Writes one message; resolves true when more may be written, false if the client is gone.
   * `written` runs once the transport is done with `chunk` (sent, or never to be sent).
   */
  write(chunk: Uint8Array | string, written?: () => void): Promise<boolean> {
    if (!this.open) return Promise.resolve(false);
    // Both response types take (chunk, callback) alike; their overload sets differ only in encodings.
    if ((this.res as ServerResponse).write(chunk, written)) return Promise.resolve(true);
    return new Promise<boolean>((resolve) => {
      const done = () => {
        this.res.off('drain', done);
        this.gone.signal.removeEventListener('abort', done);
        resolve(this.open);
      };
      this.res.on('drain', done);
      this.gone.signal.addEventListener('abort', done);
    });
  }

  /**
   * Ends the response (optionally with a last chunk). A request body that is still arriving (an
   * append session that ended with an error) is read and discarded from here on, so the client's
   * uploads are not stalled by flow control and the connection can be reused or closed by it.
   */
  end(last?: Uint8Array | string): void {
    this.res.off('close', this.onClose);
    if ('stream' in this.res) this.res.stream.off('aborted', this.onClose);
    if (!this.res.writableEnded && !isClosed(this.res)) {
      if (last === undefined) this.res.end();
      else this.res.end(last);
    }
    if (!this.req.readableEnded && !this.req.destroyed) this.req.resume();
  }
}

/** The response's connection or HTTP/2 stream is already closed (compat responses lack `destroyed`). */
function isClosed(res: Response): boolean {
  if ('stream' in res) return res.stream.destroyed || res.stream.closed;
  return res.destroyed;
}

/** Bytes (or characters) a session writes before it lets the event loop turn (see serveReadSession). */
const turnBytes = 256 * 1024;

/** How one read transport (S2S or SSE) writes what a read session produces. */
export interface ReadEncoding {
  contentType: string;
  /** The message for one output, or undefined to send nothing for it. */
  message(output: SessionReadOutput): Uint8Array | string | undefined;
  /** The last chunk after the session ended normally, if any. */
  end(): Uint8Array | string | undefined;
  /** The last chunk after a failure (mapped to an API error): a terminal frame or error event. */
  failure(response: { status: number; body: string }): Uint8Array | string;
  /** Called with a message once the transport no longer needs it (its memory may be reused). */
  written?(message: Uint8Array | string): void;
}

/**
 * The push path of a read session (ports.ts, `setLiveSink`): live outputs the session hands over
 * while it waits, written by one flush deferred with `setImmediate`. The streamer pushes to
 * followers in the same callback that releases the appends' acks, and an ack reaches its reply
 * several promise hops later: writing at once, or in one microtask, put every follower's frame on
 * the wire ahead of the acks (W1's ack latency); after the microtasks, the acks go first. Outputs are taken only while the
 * transport's buffer, counting what waits here, is below its high-water mark, so a client that
 * does not read gets its batches through the pull path, which waits for 'drain', and its follower
 * lags and falls back to storage: the same bound as the pull path.
 */
class LivePush {
  private pending: SessionReadOutput[] = [];
  /** Metered bytes of `pending`, close to their encoded size. */
  private pendingBytes = 0;
  /** What the encoding threw in a flush, if it did: the pull loop rethrows it. */
  failure: { error: unknown } | undefined;

  constructor(
    private readonly out: SessionOutput,
    private readonly encoding: ReadEncoding,
    private readonly session: ReadSessionPort,
  ) {}

  readonly take = (output: SessionReadOutput): boolean => {
    if (this.failure || !this.out.open || !this.out.hasRoom(this.pendingBytes)) return false;
    if (this.pending.length === 0) setImmediate(this.flush);
    this.pending.push(output);
    if (output.kind === 'batch') this.pendingBytes += output.list?.bytes ?? 0;
    return true;
  };

  /** Writes what was taken, in order; the pull loop runs it before each write of its own. */
  readonly flush = (): void => {
    const pending = this.pending;
    if (pending.length === 0) return;
    this.pending = [];
    this.pendingBytes = 0;
    const written = this.encoding.written;
    try {
      for (const output of pending) {
        const message = this.encoding.message(output);
        if (message !== undefined) this.out.writeNow(message, written && (() => written(message)));
      }
    } catch (error) {
      // Not thrown from an immediate (it would take the server down): the session ends, and the
      // pull loop sends the failure and rethrows it.
      this.failure = { error };
      this.session.close();
    }
  };
}

/**
 * Serves a read session until it ends, fails or the client leaves, one message in flight at a
 * time (live batches may also be pushed, see LivePush); always closes the session.
 */
export async function serveReadSession(
  req: Request,
  res: Response,
  session: ReadSessionPort,
  encoding: ReadEncoding,
): Promise<void> {
  const out = new SessionOutput(req, res);
  let sinceTurn = 0;
  // Unblocks a pending `next()` (a follower waiting for appends) as soon as the client leaves.
  const unsubscribe = out.onGone(() => session.close());
  out.start(encoding.contentType);
  const push = session.setLiveSink && new LivePush(out, encoding, session);
  session.setLiveSink?.(push?.take);
  try {
    for (;;) {
      const output = await session.next();
      push?.flush();
      if (push?.failure) throw push.failure.error;
      if (output === undefined) break;
      const message = encoding.message(output);
      if (message === undefined) continue;
      const written = encoding.written;
      if (!(await out.write(message, written && (() => written(message))))) return;
      // A catch-up from cached blocks into a socket that takes every write at once never leaves the
      // microtask queue: without a turn of the event loop now and then, one session held the loop
      // for 0.7 s (memory mode, W8) and every other client waited.
      sinceTurn += message.length;
      if (sinceTurn >= turnBytes) {
        sinceTurn = 0;
        await new Promise((resolve) => setImmediate(resolve));
      }
    }
    out.end(encoding.end());
  } catch (error) {
    // Batches pushed before the failure go first (a deleted stream's terminal trim record).
    if (!push?.failure) push?.flush();
    const response = errorResponse(error);
    out.end(encoding.failure(response));
    // A bug of ours: the client got its error frame or event; rethrown so the server logs it.
    if (response.internal) throw error;
  } finally {
    session.setLiveSink?.(undefined);
    unsubscribe();
    session.close();
  }
}
