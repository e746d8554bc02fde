/**
 * Helpers for session tests against the real server: basin setup, session calls on the records
 * route, unary appends and reads for setup and verification, and an SSE event parser.
 */
import type { ClientHttp2Session, ClientHttp2Stream } from 'node:http2';
import type { Readable } from 'node:stream';
import { afterAll, beforeAll, expect } from 'vitest';
import { closeHttp2Sessions, request, uniqueBasin, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { decodeReadBatch, encodeAppendInput } from '../../../src/api/codec/proto-client.js';
import { FrameReader } from '../../../src/api/s2s/reader.js';
import { openDuplex, type Duplex } from './duplex.js';

export async function createBasin(baseUrl: string, config: Record<string, unknown> = {}): Promise<string> {
  const basin = uniqueBasin('sess');
  const res = await request(baseUrl, {
    method: 'POST',
    path: '/v1/basins',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ basin, config: { create_stream_on_append: true, create_stream_on_read: true, ...config } }),
  });
  expect(res.status).toBe(201);
  return basin;
}

/** Appends one batch of `bodies` (no headers) to `stream` with a unary protobuf append; expects 200. */
export async function appendBodies(
  baseUrl: string,
  basin: string,
  stream: string,
  bodies: Uint8Array[],
): Promise<void> {
  const res = await request(baseUrl, {
    method: 'POST',
    path: `/v1/streams/${stream}/records`,
    headers: { 'content-type': 'application/protobuf', 's2-basin': basin },
    body: Buffer.from(encodeAppendInput({ records: bodies.map((body) => ({ headers: [], body })) })),
  });
  expect(res.status).toBe(200);
}

export interface Target {
  baseUrl: string;
  basin: string;
  stream: string;
}

/** The setup `sessionServer` registers; `server` and `basin` are set once the file's tests run. */
export interface SessionServer {
  server: TestServer;
  basin: string;
  /** A stream of the basin not used before (the basin creates streams on append and read). */
  target(): Target;
}

/**
 * Registers a test file's setup: a real in-process server (with `options`) and a fresh basin,
 * made before the file's tests and closed after them. `started` runs once the server is up.
 */
export function sessionServer(
  streamPrefix: string,
  options: Parameters<typeof startServer>[0] = {},
  started: (server: TestServer) => void = () => {},
): SessionServer {
  let counter = 0;
  const setup: SessionServer = {
    server: undefined as unknown as TestServer,
    basin: '',
    target: () => ({ baseUrl: setup.server.baseUrl, basin: setup.basin, stream: `${streamPrefix}-${++counter}` }),
  };
  beforeAll(async () => {
    setup.server = await startServer(options);
    started(setup.server);
    setup.basin = await createBasin(setup.server.baseUrl);
  });
  afterAll(async () => {
    closeHttp2Sessions();
    await setup.server.stop();
  });
  return setup;
}

function recordsPath(target: Target, query = ''): string {
  return `/v1/streams/${encodeURIComponent(target.stream)}/records${query ? `?${query}` : ''}`;
}

export function appendSession(target: Target, protocol: Protocol, headers: Record<string, string> = {}): Duplex {
  return openDuplex(target.baseUrl, {
    method: 'POST',
    path: recordsPath(target),
    headers: { 'content-type': 's2s/proto', 's2-basin': target.basin, ...headers },
    protocol,
  });
}

/** An S2S read session (api.md 9): a GET whose request body is empty. */
export function readSession(
  target: Target,
  protocol: Protocol,
  query: string,
  headers: Record<string, string> = {},
): Duplex {
  return readCall(target, protocol, query, { 'content-type': 's2s/proto', ...headers });
}

/** An SSE read session (api.md 8.4). */
export function sseSession(
  target: Target,
  protocol: Protocol,
  query: string,
  headers: Record<string, string> = {},
): Duplex {
  return readCall(target, protocol, query, { accept: 'text/event-stream', ...headers });
}

function readCall(target: Target, protocol: Protocol, query: string, headers: Record<string, string>): Duplex {
  const call = openDuplex(target.baseUrl, {
    method: 'GET',
    path: recordsPath(target, query),
    headers: { 's2-basin': target.basin, ...headers },
    protocol,
  });
  call.end();
  return call;
}

/** Unary JSON append of raw-format bodies; returns the ack JSON. */
export async function appendUnary(target: Target, ...bodies: string[]): Promise<{ end: { seq_num: number } }> {
  const res = await request(target.baseUrl, {
    method: 'POST',
    path: recordsPath(target),
    headers: { 'content-type': 'application/json', 's2-basin': target.basin },
    body: JSON.stringify({ records: bodies.map((body) => ({ body })) }),
  });
  expect(res.status).toBe(200);
  return res.json();
}

/** Bodies of every record from seq_num 0 (unary reads, 1000 at a time). */
export async function readAllBodies(target: Target): Promise<string[]> {
  const bodies: string[] = [];
  for (;;) {
    const res = await request(target.baseUrl, {
      path: recordsPath(target, `seq_num=${bodies.length}&clamp=true&wait=0`),
      headers: { 's2-basin': target.basin },
    });
    if (res.status === 416) return bodies;
    expect(res.status).toBe(200);
    const batch = res.json() as { records: { body?: string }[] };
    if (batch.records.length === 0) return bodies;
    for (const record of batch.records) bodies.push(record.body ?? '');
  }
}

export async function tailOf(target: Target): Promise<number> {
  const res = await request(target.baseUrl, {
    path: `/v1/streams/${encodeURIComponent(target.stream)}/records/tail`,
    headers: { 's2-basin': target.basin },
  });
  expect(res.status).toBe(200);
  return (res.json() as { tail: { seq_num: number } }).tail.seq_num;
}

export interface SseEvent {
  event?: string;
  id?: string;
  data: string;
}

/** Parses a complete SSE body into events (api.md 8.4 framing: `field: value` lines, blank line ends). */
export function parseSse(text: string): SseEvent[] {
  const events: SseEvent[] = [];
  for (const block of text.split('\n\n')) {
    if (block === '') continue;
    const event: SseEvent = { data: '' };
    for (const line of block.split('\n')) {
      const colon = line.indexOf(': ');
      const field = line.slice(0, colon);
      const value = line.slice(colon + 2);
      if (field === 'event') event.event = value;
      else if (field === 'id') event.id = value;
      else if (field === 'data') event.data = value;
      else throw new Error(`unexpected SSE line ${JSON.stringify(line)}`);
    }
    events.push(event);
  }
  return events;
}

/** An incremental SSE reader over a streaming response. */
export class SseReader {
  private buffer = '';
  constructor(private readonly call: Duplex) {}

  /** The next event, or undefined at the end of the body. */
  async next(): Promise<SseEvent | undefined> {
    for (;;) {
      const end = this.buffer.indexOf('\n\n');
      if (end >= 0) {
        const block = this.buffer.slice(0, end + 2);
        this.buffer = this.buffer.slice(end + 2);
        return parseSse(block)[0];
      }
      const chunk = await this.call.nextChunk();
      if (chunk === undefined) {
        if (this.buffer !== '') throw new Error(`SSE body ended inside an event: ${this.buffer}`);
        return undefined;
      }
      this.buffer += chunk.toString('utf8');
    }
  }
}

/**
 * Resumes a paused S2S read (an HTTP/1.1 response body or an HTTP/2 stream) and consumes its records from seq_num `from` until `to`
 * (exclusive) arrived, each once and in order; `check` looks at every record's body.
 */
export async function readRecordsUntil(
  stream: Readable,
  from: number,
  to: number,
  check: (seqNum: number, body: Buffer) => void,
): Promise<void> {
  const reader = new FrameReader();
  let next = from;
  const done = new Promise<void>((resolve, reject) => {
    stream.on('data', (chunk: Buffer) => {
      try {
        for (const frame of reader.push(chunk)) {
          for (const record of decodeReadBatch(frame.payload).records) {
            expect(record.seqNum).toBe(next);
            check(next, Buffer.from(record.body));
            next += 1;
          }
        }
        if (next === to) resolve();
      } catch (error) {
        reject(error);
      }
    });
  });
  stream.resume();
  await done;
}

/**
 * Opens a raw HTTP/2 S2S read session on `target` from `seqNum`, waits for its response and pauses
 * it: the server meets flow control once the window is full (slow-reader tests; resume with
 * readRecordsUntil).
 */
export async function pausedH2Read(
  client: ClientHttp2Session,
  target: Target,
  seqNum: number,
): Promise<ClientHttp2Stream> {
  const stream = client.request({
    ':path': `/v1/streams/${target.stream}/records?seq_num=${seqNum}`,
    'content-type': 's2s/proto',
    's2-basin': target.basin,
  });
  stream.end();
  await new Promise((resolve) => stream.once('response', resolve));
  stream.pause();
  return stream;
}
