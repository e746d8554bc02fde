/**
 * Request/response helpers shared by every handler, over Node's HTTP/1.1 and HTTP/2
 * compatibility APIs (the same handler serves both).
 */
import type { IncomingMessage, ServerResponse } from 'node:http';
import type { Http2ServerRequest, Http2ServerResponse } from 'node:http2';
import { createRequire } from 'node:module';
import { gunzipSync } from 'node:zlib';
import { errors, S2Error } from '../domain/errors.js';
import { requestBodyBytesMax } from '../limits.js';

/** zstd-napi's native binding; its high-level decompress has no output limit (see zstdDecompressCapped). */
const zstd = createRequire(import.meta.url)('zstd-napi/binding.js') as typeof import('zstd-napi/binding.js');

export type Request = IncomingMessage | Http2ServerRequest;
export type Response = ServerResponse | Http2ServerResponse;

/** Header values must be visible ASCII (plus space/tab) to be read as strings (api.md 2). */
const headerValueChars = /^[\t\x20-\x7e]*$/;

export class RequestContext {
  readonly method: string;
  readonly path: string;
  readonly query: URLSearchParams;
  /** Decoded path parameters, filled by the router. */
  params: Record<string, string> = {};

  constructor(
    readonly req: Request,
    readonly res: Response,
  ) {
    this.method = (req.method ?? 'GET').toUpperCase();
    const url = req.url ?? '/';
    const q = url.indexOf('?');
    this.path = q < 0 ? url : url.slice(0, q);
    this.query = new URLSearchParams(q < 0 ? '' : url.slice(q + 1));
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
    const value = this.req.headers[name];
    if (value === undefined) return undefined;
    const first = String(value).split(',')[0]!;
    return first.split(';')[0]!.trim().toLowerCase();
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
   * (bad_json or bad_proto per route).
   */
  async body(bodyError: (message: string) => S2Error, maxBytes = requestBodyBytesMax): Promise<Buffer> {
    const tooLarge = () => bodyError(`request body exceeds ${maxBytes} bytes`);
    const declared = Number(this.req.headers['content-length']);
    if (Number.isFinite(declared) && declared > maxBytes) {
      discardBody(this.req);
      throw tooLarge();
    }
    const raw = await readCapped(this.req, maxBytes);
    if (raw === null) throw tooLarge();
    const encoding = this.header('content-encoding')?.trim().toLowerCase();
    if (!encoding || encoding === 'identity' || raw.length === 0) return raw;
    if (encoding !== 'gzip' && encoding !== 'zstd') {
      throw errors.invalidHeader('content-encoding', `unsupported encoding ${encoding}`);
    }
    let out: Buffer | null;
    try {
      out = encoding === 'gzip' ? gunzipSync(raw, { maxOutputLength: maxBytes }) : zstdDecompressCapped(raw, maxBytes);
    } catch (error) {
      if ((error as NodeJS.ErrnoException).code === 'ERR_BUFFER_TOO_LARGE') throw tooLarge();
      throw bodyError(`failed to decode request body with content-encoding ${encoding}`);
    }
    if (out === null || out.length > maxBytes) throw tooLarge();
    return out;
  }

  send(status: number, body: string | Uint8Array | undefined, headers: Record<string, string> = {}): void {
    if (this.res.headersSent) {
      this.res.end();
      return;
    }
    // Encode a string body once: byteLength and then end(string) would each walk a large JSON body.
    const bytes = typeof body === 'string' ? Buffer.from(body, 'utf8') : body;
    const allHeaders: Record<string, string | number> = { ...headers };
    allHeaders['content-length'] = bytes === undefined ? 0 : bytes.length;
    this.res.writeHead(status, allHeaders);
    if (bytes === undefined) this.res.end();
    else this.res.end(bytes);
  }

  sendJson(status: number, json: string, headers: Record<string, string> = {}): void {
    this.send(status, json, { 'content-type': 'application/json', ...headers });
  }
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
 * Reads a request body up to `maxBytes`; null if it is longer. The request is never destroyed
 * here: destroying it would also kill an HTTP/2 stream (or HTTP/1.1 socket) before the error
 * response could be sent, so an oversize body is drained and dropped instead.
 */
function readCapped(req: Request, maxBytes: number): Promise<Buffer | null> {
  if (req.readableEnded) return Promise.resolve(Buffer.alloc(0));
  return new Promise((resolve, reject) => {
    const chunks: Buffer[] = [];
    let size = 0;
    const cleanup = () => {
      req.off('data', onData);
      req.off('end', onEnd);
      req.off('error', onError);
      req.off('close', onClose);
    };
    const onData = (chunk: Buffer) => {
      size += chunk.length;
      if (size <= maxBytes) return void chunks.push(chunk);
      cleanup();
      discardBody(req);
      resolve(null);
    };
    const onEnd = () => {
      cleanup();
      resolve(Buffer.concat(chunks, size));
    };
    const onError = (error: Error) => {
      cleanup();
      reject(error);
    };
    const onClose = () => {
      cleanup();
      reject(errors.other('request body ended prematurely'));
    };
    req.on('data', onData);
    req.on('end', onEnd);
    req.on('error', onError);
    req.on('close', onClose);
  });
}

/** Drops the rest of a body we will not read; a body far beyond any limit ends the request. */
function discardBody(req: Request): void {
  let dropped = 0;
  req.on('data', (chunk: Buffer) => {
    dropped += chunk.length;
    if (dropped > discardBytesMax) req.destroy();
  });
  req.on('error', () => {});
  req.resume();
}

export function isJsonMediaType(type: string): boolean {
  return type === 'application/json' || (type.startsWith('application/') && type.endsWith('+json'));
}
