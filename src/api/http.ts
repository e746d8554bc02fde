/**
 * Request/response helpers shared by every handler, over Node's HTTP/1.1 and HTTP/2
 * compatibility APIs (the same handler serves both). Reading request bodies (limits, budget,
 * timeouts, decompression) is in request-body.ts.
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { setMaxListeners } from 'node:events';
import { errors, type S2Error } from '../domain/errors.js';
import type { Access } from './auth/access.js';
import { requestBodyBytesMax } from '../limits.js';
import { readRequestBody } from './request-body.js';

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
   * 503 `unavailable` (see request-body.ts).
   */
  body(bodyError: (message: string) => S2Error, maxBytes = requestBodyBytesMax): Promise<Buffer> {
    return readRequestBody(this, bodyError, maxBytes);
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
