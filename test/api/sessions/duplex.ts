/**
 * A raw full-duplex streaming client for session tests, over HTTP/1.1 (chunked request body
 * written over time while the response streams) or h2c (http2.connect). It exposes the response
 * status/headers as soon as they arrive and the response body as decoded S2S frames or raw bytes.
 */
import http from 'node:http';
import http2 from 'node:http2';
import type { ReadBatch } from '../../../src/api/codec/proto.js';
import { decodeAppendAck, decodeReadBatch, encodeAppendInput } from '../../../src/api/codec/proto-client.js';
import { parseTerminalPayload, type Frame } from '../../../src/api/s2s/frame.js';
import { FrameReader } from '../../../src/api/s2s/reader.js';
import type { AppendAck, AppendInput } from '../../../src/domain/types.js';
import { expect } from 'vitest';
import type { Protocol } from '../../support/http.js';

export interface DuplexResponse {
  status: number;
  headers: Record<string, string | string[] | undefined>;
}

/** A session's response head: 200, `contentType`, and the no-buffering headers (api.md 8.4, 9). */
export function expectStreamingResponse(
  response: DuplexResponse,
  contentType: 's2s/proto' | 'text/event-stream',
): void {
  expect(response.status).toBe(200);
  expect(response.headers['content-type']).toBe(contentType);
  expect(response.headers['cache-control']).toBe('no-cache, no-transform');
  expect(response.headers['x-accel-buffering']).toBe('no');
}

export interface Duplex {
  response: Promise<DuplexResponse>;
  write(chunk: Uint8Array): Promise<void>;
  end(): void;
  /** Abruptly goes away (socket destroyed / stream reset). */
  destroy(): void;
  /** The next response frame, or undefined when the response body ended. Throws on malformed framing. */
  nextFrame(): Promise<Frame | undefined>;
  /** All remaining raw response bytes (for JSON error responses and SSE). */
  rest(): Promise<Buffer>;
  /** The next raw chunk of the response body, or undefined at its end. */
  nextChunk(): Promise<Buffer | undefined>;
  /** Resolves when the response body ended or the exchange failed. */
  done: Promise<void>;
}

class ChunkQueue {
  private chunks: Buffer[] = [];
  private ended = false;
  private failure: Error | undefined;
  private wake: (() => void) | undefined;

  push(chunk: Buffer) {
    this.chunks.push(chunk);
    this.notify();
  }
  end(error?: Error) {
    if (this.ended) return;
    this.ended = true;
    this.failure = error;
    this.notify();
  }
  private notify() {
    const wake = this.wake;
    this.wake = undefined;
    wake?.();
  }
  /** Next chunk, or undefined at the end. */
  async next(): Promise<Buffer | undefined> {
    while (this.chunks.length === 0) {
      if (this.ended) {
        if (this.failure) throw this.failure;
        return undefined;
      }
      await new Promise<void>((resolve) => (this.wake = resolve));
    }
    return this.chunks.shift();
  }
}

export function openDuplex(
  baseUrl: string,
  options: { method: 'GET' | 'POST'; path: string; headers: Record<string, string>; protocol: Protocol },
): Duplex {
  const queue = new ChunkQueue();
  const frames = new FrameReader();
  let pending: Frame[] = [];
  let resolveDone!: () => void;
  const done = new Promise<void>((resolve) => (resolveDone = resolve));
  const finish = (error?: Error) => {
    queue.end(error);
    resolveDone();
  };

  let writeChunk: (chunk: Uint8Array) => Promise<void>;
  let endBody: () => void;
  let destroy: () => void;
  let response: Promise<DuplexResponse>;

  if (options.protocol === 'h2c') {
    const session = http2.connect(baseUrl);
    session.on('error', () => {});
    const stream = session.request({ ':method': options.method, ':path': options.path, ...options.headers });
    stream.on('error', (error) => finish(error));
    stream.on('data', (chunk: Buffer) => queue.push(chunk));
    stream.on('end', () => finish());
    stream.on('close', () => {
      finish();
      session.close();
    });
    response = new Promise((resolve, reject) => {
      stream.once('response', (h) =>
        resolve({ status: Number(h[':status']), headers: h as DuplexResponse['headers'] }),
      );
      stream.once('error', reject);
      stream.once('close', () => reject(new Error('stream closed before a response')));
    });
    writeChunk = (chunk) => new Promise((resolve) => stream.write(chunk, () => resolve()));
    endBody = () => stream.end();
    destroy = () => {
      stream.close(http2.constants.NGHTTP2_CANCEL);
      session.destroy();
    };
  } else {
    const url = new URL(options.path, baseUrl);
    const agent = new http.Agent({ keepAlive: false });
    const req = http.request(url, { method: options.method, headers: options.headers, agent });
    req.on('error', (error) => finish(error));
    response = new Promise((resolve, reject) => {
      req.once('response', (res) => {
        res.on('data', (chunk: Buffer) => queue.push(chunk));
        res.on('end', () => finish());
        res.on('error', (error) => finish(error));
        res.on('close', () => finish(res.complete ? undefined : new Error('response aborted')));
        resolve({ status: res.statusCode ?? 0, headers: res.headers });
      });
      req.once('error', reject);
    });
    // Send the headers now: the server answers 200 before any input arrives (api.md 7.4).
    req.flushHeaders();
    writeChunk = (chunk) => new Promise((resolve) => req.write(chunk, () => resolve()));
    endBody = () => req.end();
    destroy = () => req.destroy();
  }
  response.catch(() => {});

  return {
    response,
    done,
    write: (chunk) => writeChunk(chunk),
    end: () => endBody(),
    destroy: () => destroy(),
    async nextFrame() {
      for (;;) {
        if (pending.length > 0) return pending.shift();
        const chunk = await queue.next();
        if (chunk === undefined) {
          frames.end();
          return undefined;
        }
        pending = [...frames.push(chunk)];
      }
    },
    nextChunk: () => queue.next(),
    async rest() {
      const chunks: Buffer[] = [];
      for (let chunk = await queue.next(); chunk !== undefined; chunk = await queue.next()) chunks.push(chunk);
      return Buffer.concat(chunks);
    },
  };
}

/** A frame of an input, as a client sends it. */
export function inputFrame(input: AppendInput, flag = 0): Uint8Array {
  const payload = encodeAppendInput(input);
  return rawFrame(payload, flag);
}

export function rawFrame(payload: Uint8Array, flag = 0): Uint8Array {
  const length = 1 + payload.length;
  const out = Buffer.alloc(4 + payload.length);
  out[0] = length >>> 16;
  out[1] = (length >>> 8) & 0xff;
  out[2] = length & 0xff;
  out[3] = flag;
  out.set(payload, 4);
  return out;
}

export function records(...bodies: string[]): AppendInput {
  return { records: bodies.map((body) => ({ headers: [], body: new Uint8Array(Buffer.from(body)) })) };
}

/** The JSON body of a terminal frame: `{code, message}` or the 412/416 shapes. */
export type ErrorBody = { code?: string; message?: string; [field: string]: unknown };

export function ackOf(frame: Frame | undefined): AppendAck {
  if (!frame || frame.terminal) throw new Error(`expected an ack frame, got ${describe(frame)}`);
  return decodeAppendAck(frame.payload);
}

export function batchOf(frame: Frame | undefined): ReadBatch {
  if (!frame || frame.terminal) throw new Error(`expected a ReadBatch frame, got ${describe(frame)}`);
  return decodeReadBatch(frame.payload);
}

export function terminalOf(frame: Frame | undefined): { status: number; body: ErrorBody } {
  if (!frame || !frame.terminal) throw new Error(`expected a terminal frame, got ${describe(frame)}`);
  const { status, body } = parseTerminalPayload(frame.payload);
  return { status, body: JSON.parse(body) as ErrorBody };
}

function describe(frame: Frame | undefined): string {
  if (!frame) return 'the end of the response';
  return frame.terminal ? `terminal ${Buffer.from(frame.payload).toString('latin1')}` : 'a regular frame';
}
