/**
 * Raw readers for the reused-buffer tests: S2S read sessions and unary protobuf pages over
 * node:http and node:http2 clients whose reading pace (and HTTP/2 flow-control window) the test
 * controls, checking every record against what was appended as the bytes arrive.
 */
import http from 'node:http';
import http2 from 'node:http2';
import net from 'node:net';
import { decodeReadBatch } from '../../../src/api/codec/proto-client.js';
import { decodeFrameBody, parseTerminalPayload } from '../../../src/api/s2s/frame.js';

/**
 * Fills `out` with xorshift32 nibbles from `seed` (high nibble the offset's): half the entropy of
 * random bytes, so zstd and gzip frames stay large, and every record's bytes differ.
 */
export function fillNibbles<T extends Uint8Array>(out: T, seed: number): T {
  let x = seed >>> 0 || 1;
  for (let k = 0; k < out.length; k++) {
    x ^= x << 13;
    x ^= x >>> 17;
    x ^= x << 5;
    out[k] = (k & 0xf0) | ((x >>> 0) & 0x0f);
  }
  return out;
}

/** The body appended as record `seqNum`. */
export type Expected = (seqNum: number) => Buffer;

export interface Pace {
  /** A slow reader: pause `pauseMs` after every `burstBytes` received. */
  pauseMs?: number;
  burstBytes?: number;
  /** A reader that stalls once: stop for `stallMs` after `stallAfter` bytes, then read at full speed. */
  stallAfter?: number;
  stallMs?: number;
  /** Called with the bytes received so far after each chunk. */
  onProgress?: (bytes: number) => void;
  /** Give up (HTTP/1.1: destroy the socket; HTTP/2: RST_STREAM CANCEL) after this many bytes. */
  abortAfter?: number;
}

export interface ReadResult {
  /** Next seq_num expected (records checked so far, from `from`). */
  next: number;
  frames: number;
  compressed: number;
  heartbeats: number;
  aborted: boolean;
  /** Compression algorithms of the frames received (besides none). */
  algorithms: Set<string>;
  /** The terminal frame that ended the session, if one did (status and JSON error body). */
  terminal?: { status: number; body: string };
}

/** Splits an S2S response into frame bodies (flag + payload). */
class FrameSplitter {
  private chunks: Buffer[] = [];
  private have = 0;
  private need = 3;
  private inHeader = true;

  push(chunk: Buffer, onFrame: (body: Buffer) => void): void {
    this.chunks.push(chunk);
    this.have += chunk.length;
    while (this.have >= this.need) {
      const all = this.chunks.length === 1 ? this.chunks[0]! : Buffer.concat(this.chunks);
      const piece = all.subarray(0, this.need);
      const rest = all.subarray(this.need);
      this.chunks = rest.length > 0 ? [rest] : [];
      this.have = rest.length;
      if (this.inHeader) {
        this.need = (piece[0]! << 16) | (piece[1]! << 8) | piece[2]!;
        this.inHeader = false;
      } else {
        this.need = 3;
        this.inHeader = true;
        onFrame(piece);
      }
    }
  }

  get pending(): number {
    return this.have;
  }
}

/** Checks records in order against `expected`, naming the first that differs. */
export class RecordChecker {
  readonly result: ReadResult;

  constructor(
    private readonly expected: Expected,
    from: number,
  ) {
    this.result = { next: from, frames: 0, compressed: 0, heartbeats: 0, aborted: false, algorithms: new Set() };
  }

  batch(payload: Uint8Array): void {
    const batch = decodeReadBatch(payload);
    if (batch.records.length === 0) this.result.heartbeats++;
    for (const record of batch.records) {
      const want = this.result.next;
      if (record.seqNum !== want) throw new Error(`record ${record.seqNum} arrived where ${want} was expected`);
      if (!this.expected(want).equals(Buffer.from(record.body))) {
        const got = Buffer.from(record.body);
        const poisoned = got.length > 0 && got.every((b) => b === 0xee);
        throw new Error(`record ${want}: body differs (${got.length} bytes${poisoned ? ', all poison' : ''})`);
      }
      this.result.next++;
    }
  }

  frame(body: Buffer): void {
    const frame = decodeFrameBody(body);
    if (this.result.terminal) throw new Error('a frame after the terminal frame');
    if (frame.terminal) {
      this.result.terminal = parseTerminalPayload(frame.payload);
      return;
    }
    this.result.frames++;
    if (frame.compression !== 'none') {
      this.result.compressed++;
      this.result.algorithms.add(frame.compression);
    }
    this.batch(frame.payload);
  }
}

interface Source {
  stream: NodeJS.ReadableStream & { pause(): unknown; resume(): unknown; destroy(): unknown };
  abort(): void;
}

/** Feeds `source` to `onChunk` at `pace`; resolves at its end or once it aborted itself. */
function consume(source: Source, pace: Pace, onChunk: (chunk: Buffer) => void): Promise<boolean> {
  return new Promise((resolve, reject) => {
    let total = 0;
    let burst = 0;
    let aborted = false;
    const { stream } = source;
    stream.on('data', (chunk: Buffer) => {
      if (aborted) return;
      total += chunk.length;
      try {
        onChunk(chunk);
      } catch (error) {
        aborted = true;
        source.abort();
        reject(error as Error);
        return;
      }
      pace.onProgress?.(total);
      if (pace.abortAfter !== undefined && total >= pace.abortAfter) {
        aborted = true;
        source.abort();
        resolve(true);
        return;
      }
      if (pace.stallAfter !== undefined && total >= pace.stallAfter && total - chunk.length < pace.stallAfter) {
        stream.pause();
        setTimeout(() => stream.resume(), pace.stallMs ?? 1000);
      }
      if (pace.pauseMs !== undefined && (burst += chunk.length) >= (pace.burstBytes ?? 64 * 1024)) {
        burst = 0;
        stream.pause();
        setTimeout(() => stream.resume(), pace.pauseMs);
      }
    });
    stream.on('end', () => resolve(false));
    stream.on('error', (error: Error) => (aborted ? resolve(true) : reject(error)));
    // A stream closed under the reader (connection reset, session destroyed) without 'end' or 'error'.
    stream.on('close', () => (aborted ? resolve(true) : reject(new Error('the response closed before its end'))));
  });
}

export interface ReadCall {
  path: string;
  basin: string;
  /** S2S (`s2s/proto`) or a unary protobuf page. */
  kind: 's2s' | 'page';
  encoding?: 'zstd' | 'gzip';
}

function headersOf(call: ReadCall): Record<string, string> {
  const headers: Record<string, string> = { 's2-basin': call.basin };
  if (call.kind === 's2s') headers['content-type'] = 's2s/proto';
  else headers.accept = 'application/protobuf';
  if (call.encoding) headers['accept-encoding'] = call.encoding;
  return headers;
}

/** Reads over HTTP/1.1 (a connection of its own) and checks every record from `from`. */
export function readH1(
  baseUrl: string,
  call: ReadCall,
  expected: Expected,
  from: number,
  pace: Pace = {},
): Promise<ReadResult> {
  const url = new URL(baseUrl);
  return new Promise((resolve, reject) => {
    const req = http.request({
      host: url.hostname,
      port: url.port,
      path: call.path,
      headers: headersOf(call),
      agent: false,
    });
    req.on('error', reject);
    req.on('response', (res) => {
      if (res.statusCode !== 200) return reject(new Error(`status ${res.statusCode}`));
      finishRead({ stream: res, abort: () => req.destroy() }, call, expected, from, pace).then(resolve, reject);
    });
    req.end();
  });
}

/** Reads one HTTP/2 stream of `session` and checks every record from `from`. */
export function readH2(
  session: http2.ClientHttp2Session,
  call: ReadCall,
  expected: Expected,
  from: number,
  pace: Pace = {},
): Promise<ReadResult> {
  return new Promise((resolve, reject) => {
    const req = session.request({ ':method': 'GET', ':path': call.path, ...headersOf(call) }, { endStream: true });
    req.on('error', reject);
    req.on('response', (headers) => {
      if (headers[':status'] !== 200) return reject(new Error(`status ${headers[':status']}`));
      const source = { stream: req, abort: () => req.close(http2.constants.NGHTTP2_CANCEL) };
      finishRead(source, call, expected, from, pace).then(resolve, reject);
    });
  });
}

async function finishRead(
  source: Source,
  call: ReadCall,
  expected: Expected,
  from: number,
  pace: Pace,
): Promise<ReadResult> {
  const checker = new RecordChecker(expected, from);
  if (call.kind === 's2s') {
    const splitter = new FrameSplitter();
    checker.result.aborted = await consume(source, pace, (chunk) =>
      splitter.push(chunk, (body) => checker.frame(body)),
    );
    if (!checker.result.aborted && splitter.pending > 0)
      throw new Error(`${splitter.pending} bytes after the last frame`);
    return checker.result;
  }
  const chunks: Buffer[] = [];
  checker.result.aborted = await consume(source, pace, (chunk) => chunks.push(chunk));
  if (!checker.result.aborted) checker.batch(Buffer.concat(chunks));
  return checker.result;
}

/**
 * Sends `paths` as pipelined HTTP/1.1 GETs on one connection and reads nothing for `holdMs`, so the
 * later responses wait in the server's memory behind the first; then returns each response body.
 */
export function pipelinedBodies(
  baseUrl: string,
  headers: Record<string, string>,
  paths: string[],
  holdMs: number,
): Promise<Buffer[]> {
  const url = new URL(baseUrl);
  const head = Object.entries(headers)
    .map(([name, value]) => `${name}: ${value}\r\n`)
    .join('');
  return new Promise((resolve, reject) => {
    const socket = net.connect(Number(url.port), url.hostname, () => {
      socket.pause();
      socket.write(paths.map((p) => `GET ${p} HTTP/1.1\r\nhost: ${url.host}\r\n${head}\r\n`).join(''));
      setTimeout(() => socket.resume(), holdMs);
    });
    const chunks: Buffer[] = [];
    let have = 0;
    const bodies: Buffer[] = [];
    socket.on('data', (chunk: Buffer) => {
      chunks.push(chunk);
      have += chunk.length;
      for (;;) {
        const all = chunks.length === 1 ? chunks[0]! : Buffer.concat(chunks);
        chunks.length = 0;
        if (all.length > 0) chunks.push(all);
        const end = all.indexOf('\r\n\r\n');
        if (end < 0) return;
        const header = all.subarray(0, end).toString('latin1');
        if (!header.startsWith('HTTP/1.1 200'))
          return reject(new Error(`response ${bodies.length}: ${header.split('\r\n')[0]}`));
        const length = Number(/content-length: *(\d+)/i.exec(header)?.[1] ?? NaN);
        if (!(length >= 0)) return reject(new Error(`response ${bodies.length} has no content-length`));
        if (have < end + 4 + length) return;
        bodies.push(Buffer.from(all.subarray(end + 4, end + 4 + length)));
        const rest = all.subarray(end + 4 + length);
        chunks.length = 0;
        if (rest.length > 0) chunks.push(rest);
        have = rest.length;
        if (bodies.length === paths.length) {
          socket.destroy();
          return resolve(bodies);
        }
      }
    });
    socket.on('error', reject);
    socket.on('close', () =>
      reject(new Error(`connection closed after ${bodies.length} of ${paths.length} responses`)),
    );
  });
}
