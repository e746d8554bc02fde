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
 * Serves a read session until it ends, fails or the client leaves, one message in flight at a
 * time; always closes the session.
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
  try {
    for (;;) {
      const output = await session.next();
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
    const response = errorResponse(error);
    out.end(encoding.failure(response));
    // A bug of ours: the client got its error frame or event; rethrown so the server logs it.
    if (response.internal) throw error;
  } finally {
    unsubscribe();
    session.close();
  }
}
