/**
 * Catch-up responses assembled in reused buffers (api/codec/out-buffers.ts) stay byte-exact: on a
 * real server on local disk, records of 1 KiB, 8 KiB (padded in segments) and 64 KiB are checkpointed
 * into segments, then read back from seq_num 0 by several S2S read sessions (HTTP/1.1 and h2c) and
 * unary protobuf page readers at once, so buffers go back to the pool and are reused while other
 * responses are in flight; every reader must see every record's body exactly.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { decodeReadBatch } from '../../../src/api/codec/proto-client.js';
import { catchUpBuffers } from '../../../src/api/codec/out-buffers.js';
import { openStreamLog } from '../../../src/storage/open.js';
import type { ChunkLog } from '../../../src/storage/chunk-log.js';
import { closeHttp2Sessions, request, type Protocol } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { batchOf } from './duplex.js';
import { appendBodies, createBasin, readSession, type Target } from './support.js';

const sizes = [1024, 8192, 1000, 65536, 8200, 3];
const recordCount = 900;

/** Body of record `i`: its size from `sizes`, bytes derived from `i` so any mix-up shows. */
function body(i: number): Buffer {
  const out = Buffer.alloc(sizes[i % sizes.length]!);
  for (let k = 0; k < out.length; k++) out[k] = (i * 31 + k * 7) & 0xff;
  return out;
}

let dir: string;
let log: ChunkLog;
let server: TestServer;
let target: Target;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's2-catchup-buffers-'));
  // Small blocks and segments: many blocks, several segments, reads across their edges.
  log = await openStreamLog(
    { kind: 'local', root: dir },
    { chunkLog: { blockBytes: 16 * 1024, segmentBytesMax: 2 * 1024 * 1024, blockCacheBytes: 1024 * 1024 } },
  );
  server = await startServer({ log });
  target = { baseUrl: server.baseUrl, basin: await createBasin(server.baseUrl), stream: 'buffers' };
  for (let start = 0; start < recordCount; start += 50) {
    const bodies = Array.from({ length: Math.min(50, recordCount - start) }, (_, k) => body(start + k));
    await appendBodies(target.baseUrl, target.basin, target.stream, bodies);
  }
  await log.checkpoint();
}, 60_000);

afterAll(async () => {
  closeHttp2Sessions();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function expectRecord(seqNum: number, got: Uint8Array, expected: number): void {
  expect(seqNum).toBe(expected);
  // toEqual on 64 KiB buffers prints badly; compare, then name the record that differs.
  if (!body(seqNum).equals(Buffer.from(got))) expect.fail(`record ${seqNum}: body differs`);
}

async function readS2S(protocol: Protocol): Promise<number> {
  const call = readSession(target, protocol, `seq_num=0&count=${recordCount}`);
  let next = 0;
  for (;;) {
    const frame = await call.nextFrame();
    if (frame === undefined) break;
    for (const record of batchOf(frame).records) expectRecord(record.seqNum, record.body, next++);
  }
  return next;
}

async function readPages(protocol: Protocol): Promise<number> {
  let next = 0;
  while (next < recordCount) {
    const res = await request(target.baseUrl, {
      path: `/v1/streams/${target.stream}/records?seq_num=${next}&count=1000`,
      headers: { 's2-basin': target.basin, accept: 'application/protobuf' },
      protocol,
    });
    expect(res.status).toBe(200);
    const batch = decodeReadBatch(res.body);
    expect(batch.records.length).toBeGreaterThan(0);
    for (const record of batch.records) expectRecord(record.seqNum, record.body, next++);
  }
  return next;
}

describe('catch-up from segments in reused response buffers', () => {
  it('serves S2S sessions and protobuf pages at once, over HTTP/1.1 and h2c, byte-exact', async () => {
    const readers = [
      readS2S('h1'),
      readS2S('h1'),
      readS2S('h2c'),
      readPages('h1'),
      readPages('h1'),
      readPages('h2c'),
      readS2S('h1'),
    ];
    expect(await Promise.all(readers)).toEqual(readers.map(() => recordCount));
    // The pool was used and kept what it may keep.
    expect(catchUpBuffers.kept).toBeGreaterThan(0);
  }, 60_000);

  it('serves the same again from the kept buffers (sequential reads reuse them)', async () => {
    expect(await readS2S('h1')).toBe(recordCount);
    expect(await readPages('h1')).toBe(recordCount);
  }, 60_000);
});
