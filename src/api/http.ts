/**
 * Request/response helpers shared by every handler, over Node's HTTP/1.1 and HTTP/2
 * compatibility APIs (the same handler serves both).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import http2 from 'node:http2';
import { setMaxListeners } from 'node:events';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { errors, S2Error } from '../domain/errors.js';
import type { Access } from './auth/access.js';
import {
  requestBodiesBytesMax,
  requestBodyBytesMax,
  requestBodyIdleTimeoutMs,
  requestBodyTimeoutMs,
} from '../limits.js';

/** zstd-napi's native binding; its high-level decompress has no output limit (see zstdDecompressCapped). */
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');

export type Request = IncomingMessage | Http2ServerRequest;
export type Response = ServerResponse | Http2ServerResponse;

/** The close signal of each HTTP/1.1 connection (see `RequestContext.closeSignal`). */
const connectionSignals = new WeakMap<object, AbortSignal>();

/** Header values must be visible ASCII (plus space/tab) to be read as strings (api.md 2). */
const headerValueChars = /^[\t\x20-\x7e]*$/;

export class RequestContext {
  readonly method: string;
  readonly path: string;
  /** The raw query string (after `?`); parsed on first use of `query` (most requests have none). */
  private readonly search: string;
  private parsedQuery: URLSearchParams | undefined;
  /** Media types of Content-Type and Accept, parsed once each (handlers ask several times). */
  private contentType: string | null | undefined;
  private accept: string | null | undefined;
  /** Decoded path parameters, filled by the router. */
  params: Record<string, string> = {};
  /** The route pattern that matched (or what answered), labelling metrics and logs: raw paths are unbounded. */
  route = 'unmatched';
  /**
   * Checked before a success response goes out; throws to answer with its error instead. The
   * server sets it for /v1 routes so that an instance fenced while a request waited (a long-poll
   * read, say) does not answer from its stale view.
   */
  beforeSuccess: (() => void) | undefined;
  /** What the request may do; set by the server's authenticate step (read it through auth/request.ts). */
  access: Access | undefined;

  constructor(
    readonly req: Request,
    readonly res: Response,
  ) {
    this.method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
    this.search = q < 0 ? '' : url.slice(q + 1);
  }

  get query(): URLSearchParams {
    return (this.parsedQuery ??= new URLSearchParams(this.search));
  }

  /** The connection the request came on: its HTTP/2 session, or its HTTP/1.1 socket. */
  get connection(): object {
    const req = this.req;
    return 'stream' in req ? (req.stream.session ?? req.stream) : req.socket;
  }

  /**
   * Aborts when the client goes away before the response finished, so waits are not kept for
   * nobody. HTTP/1.1: one signal per connection (its socket closing is the only way a response is
   * cut short there); an AbortController and a listener per request were 4% of a unary append's
   * CPU (docs/benchmarks.md, "W4"). HTTP/2: one per request, as a stream can be reset alone.
   */
  closeSignal(): AbortSignal {
    const req = this.req;
    if ('stream' in req) {
      const controller = new AbortController();
      this.res.once('close', () => {
        if (!this.res.writableFinished) controller.abort();
      });
      return controller.signal;
    }
    const socket = req.socket;
    let signal = connectionSignals.get(socket);
    if (!signal) {
      const controller = new AbortController();
      signal = controller.signal;
      // Pipelined requests of the connection may each wait on it (http1PipelinedRequestsMax).
      setMaxListeners(0, signal);
      socket.once('close', () => controller.abort());
      connectionSignals.set(socket, signal);
    }
    return signal;
  }

  /** A header as a string, or undefined if absent; throws bad_header if not visible ASCII. */
  header(name: string): string | undefined {
    const raw = this.req.headers[name];
    if (raw === undefined) return undefined;
    const value = Array.isArray(raw) ? raw.join(', ') : raw;
    if (!headerValueChars.test(value)) throw errors.invalidHeader(name, 'not UTF-8');
    return value;
  }

  /** Every instance of a header (for Accept-Encoding, which is scanned across instances). */
  headerValues(name: string): string[] {
    const raw = this.req.headers[name];
    if (raw === undefined) return [];
    return Array.isArray(raw) ? raw : [raw];
  }

  requiredHeader(name: string): string {
    const value = this.header(name);
    if (value === undefined) throw errors.missingHeader(name);
    return value;
  }

  /** The first media type of a header such as Content-Type or Accept, lowercased, without parameters. */
  mediaType(name: 'content-type' | 'accept'): string | undefined {
    const cached = name === 'accept' ? this.accept : this.contentType;
    if (cached !== undefined) return cached ?? undefined;
    const value = this.req.headers[name];
    const type = value === undefined ? null : firstMediaType(String(value));
    if (name === 'accept') this.accept = type;
    else this.contentType = type;
    return type ?? undefined;
  }

  isJsonContentType(): boolean {
    const type = this.mediaType('content-type');
    return type !== undefined && isJsonMediaType(type);
  }

  isProtobufContentType(): boolean {
    const type = this.mediaType('content-type');
    return type === 'application/protobuf' || type === 'application/x-protobuf';
  }

  /**
   * The whole request body, decompressed per Content-Encoding, capped at `maxBytes` (before and
   * after decompression). `bodyError` builds the error for an oversize or undecodable body
   * (bad_json or bad_proto per route). A body that does not arrive in time is 408
   * `request_timeout`; one that does not fit the server-wide budget of bodies being received is
   * 503 `unavailable` (see `readBody`).
   */
  body(bodyError: (message: string) => S2Error, maxBytes = requestBodyBytesMax): Promise<Buffer> {
    // Not an async function: its suspended frame, promise and result object per request were 7% of
    // the bytes a unary append allocates (heap sampling with collected objects, W4 lock-step).
    const declared = Number(this.req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      this.refuseBody();
      return Promise.reject(tooLarge(bodyError, maxBytes));
    }
    return readBody(this, bodyError, maxBytes, Number.isFinite(declared) ? declared : undefined);
  }

  /**
   * What a finished body read comes to (see `body`): the body decompressed per Content-Encoding,
   * or the error to answer with (thrown).
   * @internal called by BodyReading
   */
  bodyOf(read: BodyRead, bodyError: (message: string) => S2Error, maxBytes: number): Buffer {
    if (read.kind === 'too-large') {
      this.refuseBody();
      throw tooLarge(bodyError, maxBytes);
    }
    if (read.kind === 'over-budget') {
      this.refuseBody();
      throw errors.unavailable(
        `too many request bodies are being received (${requestBodiesBytesMax} bytes at most); retry later`,
      );
    }
    if (read.kind === 'timeout') {
      this.abandonBody();
      throw errors.requestTimeout(read.message);
    }
    const raw = read.body;
    const encoding = this.header('content-encoding')?.trim().toLowerCase();
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

  private abandonBody(): void {
    abandonRequestBody(this.req, this.res);
  }

  /**
   * The rest of a body we refuse (too large, over the budget): HTTP/2 resets the stream once the
   * error is out, so the client stops sending; HTTP/1.1 reads and drops it, since closing the
   * socket with unread data could lose the response (TCP reset).
   */
  private refuseBody(): void {
    if ('stream' in this.res) abandonRequestBody(this.req, this.res);
    else discardBody(this.req);
  }

  /**
   * Sends a complete response. Takes `headers` over (adds `content-length` to it): callers pass a
   * fresh object. Copying it per response (object spread) was part of the 14% `send` took of a
   * unary append's CPU (docs/benchmarks.md, "W4"), and `writeHead` with one object and no header
   * set before is Node's fast path.
   */
  send(status: number, body: string | Uint8Array | undefined, headers: Record<string, string | number> = {}): void {
    if (this.res.headersSent) {
      this.res.end();
      return;
    }
    if (status < 300) this.beforeSuccess?.();
    // Encode a string body once: byteLength and then end(string) would each walk a large JSON body.
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    headers['content-length'] = bytes === undefined ? 0 : bytes.length;
    this.res.writeHead(status, headers);
    if (bytes === undefined) this.res.end();
    else this.res.end(bytes);
  }

  sendJson(status: number, json: string, headers?: Record<string, string>): void {
    if (headers) headers['content-type'] = 'application/json';
    this.send(status, json, headers ?? { 'content-type': 'application/json' });
  }
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
    return Promise.resolve(ctx.bodyOf(read, bodyError, maxBytes));
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
      body = this.ctx.bodyOf(outcome, this.bodyError, this.maxBytes);
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

/** The first media type of a header value, lowercased, without parameters. */
function firstMediaType(value: string): string {
  let end = value.length;
  const comma = value.indexOf(',');
  if (comma >= 0) end = comma;
  const semicolon = value.indexOf(';');
  if (semicolon >= 0 && semicolon < end) end = semicolon;
  return value.slice(0, end).trim().toLowerCase();
}

export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}
