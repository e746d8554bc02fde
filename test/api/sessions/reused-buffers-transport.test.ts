/**
 * Catch-up responses in reused buffers (api/codec/out-buffers.ts) never show a client bytes that
 * are not its own: with every buffer poisoned the moment the server gives it back, S2S sessions and
 * protobuf pages of records of 1 B to 128 KiB (padded blocks, several segments, real files) stay
 * byte-exact through HTTP/2 streams sharing one connection behind a 16 KiB flow-control window,
 * slow HTTP/1.1 readers whose socket buffers fill (writes returning false), zstd and gzip frames,
 * and clients that abort mid-response while others keep reading; no buffer is handed out twice.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import http from 'node:http';
import http2 from 'node:http2';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openStreamLog } from '../../../src/storage/open.js';
import type { ChunkLog } from '../../../src/storage/chunk-log.js';
import { closeHttp2Sessions } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { until } from '../../support/until.js';
import { poisonCatchUpBuffers } from './poison-pool.js';
import {
  fillNibbles,
  pipelinedBodies,
  readH1,
  readH2,
  RecordChecker,
  type ReadCall,
  type ReadResult,
} from './raw-readers.js';
import { appendBodies, createBasin } from './support.js';

const probe = poisonCatchUpBuffers();
const sizes = [1, 8192, 65536 + 13, 1000, 3, 8200, 128 * 1024];
const recordCount = 420;
const streams = ['a', 'b'] as const;

/** Body of record `i` of `stream`: size from `sizes`, bytes derived from both so any mix-up shows. */
function bodyOf(stream: string, i: number): Buffer {
  const out = Buffer.alloc(sizes[i % sizes.length]!);
  return fillNibbles(out, stream.charCodeAt(0) * 0x9e3779b1 + i * 0x85ebca6b + 1);
}

/** Counts writes that returned false (socket or stream buffer full) on each transport. */
const refused = { h1: 0, h2: 0 };
function countRefusals(proto: { write: (...args: never[]) => boolean }, key: keyof typeof refused): void {
  const write = proto.write;
  proto.write = function (this: unknown, ...args: never[]) {
    const ok = write.apply(this, args);
    if (!ok) refused[key]++;
    return ok;
  };
}
countRefusals(http.ServerResponse.prototype as never, 'h1');
countRefusals(http2.Http2ServerResponse.prototype as never, 'h2');

let dir: string;
let log: ChunkLog;
let server: TestServer;
let basin: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's2-reused-buffers-'));
  // Small blocks, segments and cache: many blocks, several segments, reads from the files.
  log = await openStreamLog(
    { kind: 'local', root: dir },
    { chunkLog: { blockBytes: 16 * 1024, segmentBytesMax: 2 * 1024 * 1024, blockCacheBytes: 1024 * 1024 } },
  );
  server = await startServer({ log });
  basin = await createBasin(server.baseUrl);
  for (const stream of streams) {
    for (let start = 0; start < recordCount; start += 14) {
      const bodies = Array.from({ length: Math.min(14, recordCount - start) }, (_, k) => bodyOf(stream, start + k));
      await appendBodies(server.baseUrl, basin, stream, bodies);
    }
  }
  await log.checkpoint();
}, 120_000);

afterAll(async () => {
  closeHttp2Sessions();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function s2s(stream: string, encoding?: 'zstd' | 'gzip', from = 0): ReadCall {
  return {
    kind: 's2s',
    basin,
    path: `/v1/streams/${stream}/records?seq_num=${from}&count=${recordCount - from}`,
    encoding,
  };
}

function page(stream: string, from: number): ReadCall {
  return { kind: 'page', basin, path: `/v1/streams/${stream}/records?seq_num=${from}&count=1000`, encoding: undefined };
}

const expected = (stream: string) => (i: number) => bodyOf(stream, i);

/** Every record of `stream` in unary protobuf pages, each read at `pace`. */
async function allPages(read: (call: ReadCall, from: number) => Promise<ReadResult>, stream: string): Promise<number> {
  let next = 0;
  while (next < recordCount) {
    const result = await read(page(stream, next), next);
    expect(result.next).toBeGreaterThan(next);
    next = result.next;
  }
  return next;
}

function connectH2(): Promise<http2.ClientHttp2Session> {
  return new Promise((resolve, reject) => {
    const session = http2.connect(server.baseUrl, { settings: { initialWindowSize: 16 * 1024 } });
    session.once('connect', () => resolve(session));
    session.once('error', reject);
  });
}

async function poolSettled(): Promise<void> {
  await until('every pooled buffer was given back', () => probe.outstanding() === 0);
  expect(probe.violations).toEqual([]);
}

describe('catch-up in reused buffers under backpressure', () => {
  it('keeps HTTP/2 sessions sharing one connection behind a 16 KiB window byte-exact', async () => {
    const session = await connectH2();
    const slow = { pauseMs: 5, burstBytes: 256 * 1024 };
    const before = { taken: probe.taken(), refused: refused.h2 };
    try {
      const results = await Promise.all([
        readH2(session, s2s('a'), expected('a'), 0, slow),
        readH2(session, s2s('b', 'zstd'), expected('b'), 0, slow),
        readH2(session, s2s('a', 'gzip'), expected('a'), 0),
        readH2(session, s2s('b'), expected('b'), 0),
        // Meanwhile HTTP/1.1 readers take and give back pooled buffers as fast as they can.
        readH1(server.baseUrl, s2s('b'), expected('b'), 0),
        allPages((call, from) => readH1(server.baseUrl, call, expected('a'), from), 'a'),
      ]);
      expect(results.slice(0, 5).map((r) => (r as ReadResult).next)).toEqual([420, 420, 420, 420, 420]);
      expect(results[5]).toBe(recordCount);
      expect([...(results[1] as ReadResult).algorithms]).toEqual(['zstd']);
      expect([...(results[2] as ReadResult).algorithms]).toEqual(['gzip']);
    } finally {
      session.close();
    }
    // The scenario happened: buffers went round, and HTTP/2 writes were refused (window full).
    expect(probe.taken() - before.taken).toBeGreaterThan(20);
    expect(refused.h2).toBeGreaterThan(before.refused);
    await poolSettled();
  }, 120_000);

  it('keeps slow HTTP/1.1 readers (socket buffers full) byte-exact, S2S and pages', async () => {
    const slow = { pauseMs: 20, burstBytes: 512 * 1024 };
    const before = refused.h1;
    const results = await Promise.all([
      readH1(server.baseUrl, s2s('a'), expected('a'), 0, slow),
      readH1(server.baseUrl, s2s('b', 'zstd'), expected('b'), 0, slow),
      readH1(server.baseUrl, s2s('a', 'gzip'), expected('a'), 0, slow),
      allPages((call, from) => readH1(server.baseUrl, call, expected('b'), from, slow), 'b'),
      readH1(server.baseUrl, s2s('b'), expected('b'), 0),
    ]);
    expect(results.map((r) => (typeof r === 'number' ? r : r.next))).toEqual([420, 420, 420, 420, 420]);
    expect(refused.h1).toBeGreaterThan(before);
    await poolSettled();
  }, 120_000);

  it('keeps pipelined HTTP/1.1 pages byte-exact while they wait behind a full socket', async () => {
    const froms = [0, 37, 90, 150, 222, 300, 333, 380, 5, 64];
    const before = probe.given();
    const bodies = await pipelinedBodies(
      server.baseUrl,
      { 's2-basin': basin, accept: 'application/protobuf' },
      froms.map((from) => page('b', from).path),
      200,
    );
    for (const [n, from] of froms.entries()) {
      const checker = new RecordChecker(expected('b'), from);
      checker.batch(bodies[n]!);
      expect(checker.result.next).toBeGreaterThan(from);
    }
    // A page's buffer goes back on the response's 'finish', which may run just after the client
    // has its last bytes: wait for it, then check every page was given back.
    await until('every page buffer was given back', () => probe.given() - before >= froms.length);
    expect(probe.given() - before).toBeGreaterThanOrEqual(froms.length);
    await poolSettled();
  }, 60_000);

  it('stays byte-exact for the readers that remain when others abort mid-response', async () => {
    const session = await connectH2();
    try {
      const aborting = { abortAfter: 300 * 1024, pauseMs: 2, burstBytes: 64 * 1024 };
      const results = await Promise.all([
        readH2(session, s2s('a'), expected('a'), 0, aborting),
        readH2(session, s2s('b', 'zstd'), expected('b'), 0, aborting),
        readH2(session, s2s('b'), expected('b'), 0, { pauseMs: 3, burstBytes: 128 * 1024 }),
        readH1(server.baseUrl, s2s('a'), expected('a'), 0, { abortAfter: 2 * 1024 * 1024 }),
        readH1(server.baseUrl, s2s('b', 'gzip'), expected('b'), 0, { abortAfter: 700 * 1024 }),
        readH1(server.baseUrl, page('a', 0), expected('a'), 0, { abortAfter: 100 * 1024 }),
        readH1(server.baseUrl, s2s('a'), expected('a'), 0, { pauseMs: 3, burstBytes: 256 * 1024 }),
      ]);
      expect(results.map((r) => r.aborted)).toEqual([true, true, false, true, true, true, false]);
      expect(results[2]!.next).toBe(recordCount);
      expect(results[6]!.next).toBe(recordCount);
      // The same connection still serves a whole catch-up afterwards.
      expect((await readH2(session, s2s('a', 'zstd'), expected('a'), 0)).next).toBe(recordCount);
    } finally {
      session.close();
    }
    // Aborted responses may leave buffers to the GC, but none was handed out twice or given back twice.
    expect(probe.violations).toEqual([]);
    // And reads after the aborts, reusing whatever went back, are exact.
    const after = await Promise.all([
      readH1(server.baseUrl, s2s('b'), expected('b'), 0),
      allPages((call, from) => readH1(server.baseUrl, call, expected('a'), from), 'a'),
    ]);
    expect(after[0].next).toBe(recordCount);
    expect(after[1]).toBe(recordCount);
    expect(probe.violations).toEqual([]);
  }, 120_000);
});
