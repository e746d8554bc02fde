/**
 * Reading a request body: the size limit (before and after decompression), the process-wide
 * budget of bodies being received, the body timeouts, Content-Encoding, and what happens to the
 * rest of a body we refuse or give up on. RequestContext.body is the entry point.
 */
import http2 from 'node:http2';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { errors, type S2Error } from '../domain/errors.js';
import { requestBodiesBytesMax, requestBodyIdleTimeoutMs, requestBodyTimeoutMs } from '../limits.js';
import type { Request, RequestContext, Response } from './http.js';

/** zstd-napi's native binding; its high-level decompress has no output limit (see zstdDecompressCapped). */
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');

/** See `RequestContext.body`. */
export function readRequestBody(
  ctx: RequestContext,
  bodyError: (message: string) => S2Error,
  maxBytes: number,
): Promise<Buffer> {
  // Not an async function: its suspended frame, promise and result object per request were 7% of
  // the bytes a unary append allocates (heap sampling with collected objects, W4 lock-step).
  const declared = Number(ctx.req.headers['content-length']);
  if (Number.isFinite(declared) && declared > maxBytes) {
    refuseBody(ctx);
    return Promise.reject(tooLarge(bodyError, maxBytes));
  }
  return readBody(ctx, bodyError, maxBytes, Number.isFinite(declared) ? declared : undefined);
}

/**
 * What a finished body read comes to: the body decompressed per Content-Encoding, or the error to
 * answer with (thrown).
 */
function bodyOf(
  ctx: RequestContext,
  read: BodyRead,
  bodyError: (message: string) => S2Error,
  maxBytes: number,
): Buffer {
  if (read.kind === 'too-large') {
    refuseBody(ctx);
    throw tooLarge(bodyError, maxBytes);
  }
  if (read.kind === 'over-budget') {
    refuseBody(ctx);
    throw errors.unavailable(
      `too many request bodies are being received (${requestBodiesBytesMax} bytes at most); retry later`,
    );
  }
  if (read.kind === 'timeout') {
    abandonRequestBody(ctx.req, ctx.res);
    throw errors.requestTimeout(read.message);
  }
  const raw = read.body;
  const encoding = ctx.header('content-encoding')?.trim().toLowerCase();
  if (!encoding || encoding === 'identity' || raw.length === 0) return raw;
  if (encoding !== 'gzip' && encoding !== 'zstd') {
    throw errors.invalidHeader('content-encoding', `unsupported encoding ${encoding}`);
  }
  let out: Buffer | null;
  try {
    out = encoding === 'gzip' ? gunzipSync(raw, { maxOutputLength: maxBytes }) : zstdDecompressCapped(raw, maxBytes);
  } catch (error) {
    if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge(bodyError, maxBytes);
    throw bodyError(`failed to decode request body with content-encoding ${encoding}`);
  }
  if (out === null || out.length > maxBytes) throw tooLarge(bodyError, maxBytes);
  return out;
}

/**
 * The rest of a body we refuse (too large, over the budget): HTTP/2 resets the stream once the
 * error is out, so the client stops sending; HTTP/1.1 reads and drops it, since closing the
 * socket with unread data could lose the response (TCP reset).
 */
function refuseBody(ctx: RequestContext): void {
  if ('stream' in ctx.res) abandonRequestBody(ctx.req, ctx.res);
  else discardBody(ctx.req);
}

/**
 * Gives up on the rest of a request body that stalled: once the response is out, HTTP/1.1 closes
 * the connection (what follows could not be told from the next request) and HTTP/2 resets the
 * stream (RST_STREAM NO_ERROR: "stop sending, the response is complete").
 */
export function abandonRequestBody(req: Request, res: Response): void {
  if ('stream' in res) {
    // The stream's own 'finish' (the response's comes only once the stream closed): the response
    // is out, so the reset cannot cut it short.
    const stream = res.stream;
    stream.once('finish', () => {
      if (!stream.closed) stream.close(http2.constants.NGHTTP2_NO_ERROR);
    });
  } else if (!res.headersSent) {
    res.setHeader('connection', 'close');
  } else {
    res.once('finish', () => req.socket.destroySoon());
  }
}

/** The error for a body over `maxBytes` (a function, not a closure per request: see BodyReading). */
function tooLarge(bodyError: (message: string) => S2Error, maxBytes: number): S2Error {
  return bodyError(`request body exceeds ${maxBytes} bytes`);
}

/**
 * zstd decompression that stops once the output exceeds `maxBytes` (null then). zstd-napi's
 * `decompress` allocates whatever content size a frame header declares, or collects all output,
 * so a few bytes of input could demand gigabytes.
 */
export function zstdDecompressCapped(input: Buffer, maxBytes: number): Buffer | null {
  const dctx = new zstd.DCtx();
  const chunkSize = zstd.dStreamOutSize();
  const chunks: Buffer[] = [];
  let size = 0;
  let src: Uint8Array = input;
  for (;;) {
    const dst = Buffer.allocUnsafe(chunkSize);
    const [remaining, produced, consumed] = dctx.decompressStream(dst, src);
    size += produced;
    if (size > maxBytes) return null;
    chunks.push(dst.subarray(0, produced));
    src = src.subarray(consumed);
    if (src.length === 0 && produced < dst.length) {
      if (remaining !== 0) throw new Error('zstd input ends inside a frame');
      return Buffer.concat(chunks, size);
    }
  }
}

/** Bytes of an oversize body we keep reading (and dropping) so the error response can be delivered. */
const discardBytesMax = 64 * 1024 * 1024;

/**
 * Request body bytes being received across the process (`requestBodiesBytesMax`). A body takes
 * its declared length up front, or each chunk as it comes when it declared none, and gives it all
 * back when its read ends. Refusing (rather than waiting) means bodies never hold part of the
 * budget while waiting for the rest, so they cannot starve each other.
 */
export class BodyBudget {
  private used = 0;

  constructor(public max: number) {}

  get inUse(): number {
    return this.used;
  }

  take(bytes: number): boolean {
    if (this.used + bytes > this.max) return false;
    this.used += bytes;
    return true;
  }

  give(bytes: number): void {
    this.used -= bytes;
  }
}

export const requestBodies = new BodyBudget(requestBodiesBytesMax);

type BodyRead =
  | { kind: 'body'; body: Buffer }
  | { kind: 'too-large' }
  | { kind: 'over-budget' }
  | { kind: 'timeout'; message: string };

/**
 * Reads a request body up to `maxBytes` within the body timeouts (`requestBodyTimeoutMs` for the
 * whole body, `requestBodyIdleTimeoutMs` between chunks) and the process-wide body budget. The
 * request is never destroyed here: destroying it would also kill an HTTP/2 stream (or HTTP/1.1
 * socket) before the error response could be sent; `bodyOf` drains or abandons the rest.
 */
function readBody(
  ctx: RequestContext,
  bodyError: (message: string) => S2Error,
  maxBytes: number,
  declared: number | undefined,
): Promise<Buffer> {
  const req = ctx.req;
  if (req.readableEnded) return settledBody(ctx, { kind: 'body', body: Buffer.alloc(0) }, bodyError, maxBytes);
  const charged = declared ?? 0;
  if (!requestBodies.take(charged)) return settledBody(ctx, { kind: 'over-budget' }, bodyError, maxBytes);
  return new Promise((resolve, reject) => {
    const reading = new BodyReading(ctx, bodyError, maxBytes, charged, resolve, reject);
    readings.set(req, reading);
    bodiesReading.add(reading);
    armBodySweep();
    req.on('data', onBodyData);
    req.on('end', onBodyEnd);
    req.on('error', onBodyError);
    req.on('close', onBodyClose);
  });
}

/** A read that ended before it started (no body left, or no budget) as `body` returns it. */
function settledBody(
  ctx: RequestContext,
  read: BodyRead,
  bodyError: (message: string) => S2Error,
  maxBytes: number,
): Promise<Buffer> {
  try {
    return Promise.resolve(bodyOf(ctx, read, bodyError, maxBytes));
  } catch (error) {
    return Promise.reject(error as Error);
  }
}

/**
 * A body being read: its state, and what the timeout sweep sees. The request's listeners are the
 * shared functions below, which find it through `readings`: closures per request (one per event,
 * plus the settle and timeout ones) were ~0.4 KB of garbage per unary append (issue 14, W1).
 */
class BodyReading {
  private readonly chunks: Buffer[] = [];
  private size = 0;
  readonly startedAt = performance.now();
  lastChunkAt = this.startedAt;

  constructor(
    private readonly ctx: RequestContext,
    private readonly bodyError: (message: string) => S2Error,
    private readonly maxBytes: number,
    private charged: number,
    private readonly resolve: (body: Buffer) => void,
    private readonly reject: (error: Error) => void,
  ) {}

  data(chunk: Buffer): void {
    const size = this.size + chunk.length;
    this.size = size;
    if (size > this.maxBytes) return this.settle({ kind: 'too-large' });
    if (size > this.charged) {
      if (!requestBodies.take(size - this.charged)) return this.settle({ kind: 'over-budget' });
      this.charged = size;
    }
    this.chunks.push(chunk);
    this.lastChunkAt = performance.now();
  }

  // Most unary bodies arrive in one chunk, a buffer of its own (Node's parser copies each body
  // chunk out of the socket's read buffer): no second copy then.
  end(): void {
    const chunks = this.chunks;
    this.settle({ kind: 'body', body: chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks, this.size) });
  }

  timeout(what: string): void {
    this.settle({ kind: 'timeout', message: `request body not received ${what} (${this.size} bytes arrived)` });
  }

  // The request keeps its four listeners: they find no reading once it is deleted, and removing
  // them (four scans of the request's listener lists) cost more than the no-op calls left (W4).
  // Removing a 'data' listener would not pause the request either.
  settle(outcome: BodyRead | Error): void {
    readings.delete(this.ctx.req);
    bodiesReading.delete(this);
    requestBodies.give(this.charged);
    this.charged = 0;
    if (outcome instanceof Error) return this.reject(outcome);
    let body: Buffer;
    try {
      body = bodyOf(this.ctx, outcome, this.bodyError, this.maxBytes);
    } catch (error) {
      return this.reject(error as Error);
    }
    this.resolve(body);
  }
}

/** The body being read of each request (one at most: a handler reads its body once). */
const readings = new WeakMap<Request, BodyReading>();

function onBodyData(this: Request, chunk: Buffer): void {
  readings.get(this)?.data(chunk);
}

function onBodyEnd(this: Request): void {
  readings.get(this)?.end();
}

function onBodyError(this: Request, error: Error): void {
  readings.get(this)?.settle(error);
}

function onBodyClose(this: Request): void {
  readings.get(this)?.settle(errors.other('request body ended prematurely'));
}

/**
 * Body timeouts are checked by one sweep every `bodySweepMs` over the bodies being read, running
 * only while there are any: a timer armed and cleared per request (plus its re-arming) was 1-2% of
 * a unary append's CPU (W4 profile). A timeout fires at most `bodySweepMs` late.
 */
const bodySweepMs = 250;
const bodiesReading = new Set<BodyReading>();
let bodySweep: NodeJS.Timeout | undefined;

function armBodySweep(): void {
  if (bodySweep === undefined) {
    bodySweep = setInterval(sweepBodies, bodySweepMs);
    bodySweep.unref();
  }
}

function sweepBodies(): void {
  if (bodiesReading.size === 0) {
    clearInterval(bodySweep);
    bodySweep = undefined;
    return;
  }
  const now = performance.now();
  for (const watch of bodiesReading) {
    if (now - watch.startedAt >= requestBodyTimeoutMs) watch.timeout(`within ${requestBodyTimeoutMs} ms`);
    else if (now - watch.lastChunkAt >= requestBodyIdleTimeoutMs) {
      watch.timeout(`with no pause over ${requestBodyIdleTimeoutMs} ms`);
    }
  }
}

/**
 * Drops the rest of a body we will not read. A body far beyond any limit, or one still arriving
 * after the body timeout, ends the request.
 */
function discardBody(req: Request): void {
  let dropped = 0;
  const timer = setTimeout(() => req.destroy(), requestBodyTimeoutMs);
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > discardBytesMax) req.destroy();
  });
  req.on('end', () => clearTimeout(timer));
  req.on('close', () => clearTimeout(timer));
  req.on('error', () => {});
  req.resume();
}
