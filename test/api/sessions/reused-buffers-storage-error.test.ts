/**
 * A catch-up that fails mid-response (the object store fails a block read) ends with its terminal
 * frame after exact records, and leaves the reused catch-up buffers (api/codec/out-buffers.ts)
 * sound: every pooled frame it wrote is given back once (poisoned by the probe when it is), none
 * twice, and the readers after it, reusing those buffers, get every record byte-exact.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { FaultyObjectStore } from '../../../src/objectstore/faulty.js';
import { LocalFsObjectStore } from '../../../src/objectstore/local-fs.js';
import { ChunkLog } from '../../../src/storage/chunk-log.js';
import { systemRand } from '../../../src/util/rand.js';
import { closeHttp2Sessions } from '../../support/http.js';
import { startServer, type TestServer } from '../../support/server.js';
import { until } from '../../support/until.js';
import { poisonCatchUpBuffers } from './poison-pool.js';
import { fillNibbles, readH1, type ReadCall } from './raw-readers.js';
import { appendBodies, createBasin } from './support.js';

const probe = poisonCatchUpBuffers();
const sizes = [1, 8192, 65536 + 13, 1000, 8200];
const recordCount = 400;

function bodyOf(i: number): Buffer {
  const out = Buffer.alloc(sizes[i % sizes.length]!);
  return fillNibbles(out, i * 0x85ebca6b + 11);
}

let dir: string;
let store: FaultyObjectStore;
let log: ChunkLog;
let server: TestServer;
let basin: string;

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's2-buffers-error-'));
  const disk = new LocalFsObjectStore(dir);
  await disk.init();
  store = new FaultyObjectStore(disk, { rand: systemRand });
  log = await ChunkLog.open(store, {
    blockBytes: 16 * 1024,
    segmentBytesMax: 1024 * 1024,
    blockCacheBytes: 256 * 1024,
    storeRetryTimeoutMs: 300,
  });
  server = await startServer({ log });
  basin = await createBasin(server.baseUrl);
  for (let start = 0; start < recordCount; start += 20) {
    await appendBodies(
      server.baseUrl,
      basin,
      'failing',
      Array.from({ length: 20 }, (_, k) => bodyOf(start + k)),
    );
  }
  await log.checkpoint();
}, 60_000);

afterAll(async () => {
  closeHttp2Sessions();
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const call = (encoding?: 'zstd'): ReadCall => ({
  kind: 's2s',
  basin,
  path: `/v1/streams/failing/records?seq_num=0&count=${recordCount}`,
  encoding,
});

describe('a catch-up that fails mid-response', () => {
  it('ends with a terminal frame after exact records; the pool stays sound for the next readers', async () => {
    // Once the reader has 1 MiB, the store fails every read (past the retry budget).
    let fault: { remove(): void } | undefined;
    const failAt = (bytes: number) => {
      if (bytes >= 1024 * 1024 && !fault) fault = store.faults.add({ mode: 'fatal', op: 'get' });
    };
    let failed;
    try {
      failed = await readH1(server.baseUrl, call(), bodyOf, 0, {
        pauseMs: 2,
        burstBytes: 256 * 1024,
        onProgress: failAt,
      });
    } finally {
      fault?.remove();
    }
    expect(failed.terminal?.status).toBeGreaterThanOrEqual(500);
    expect(failed.next).toBeGreaterThan(0);
    expect(failed.next).toBeLessThan(recordCount);
    await until('every pooled buffer was given back', () => probe.outstanding() === 0);
    expect(probe.violations).toEqual([]);
    const after = await Promise.all([
      readH1(server.baseUrl, call(), bodyOf, 0),
      readH1(server.baseUrl, call('zstd'), bodyOf, 0, { pauseMs: 2, burstBytes: 512 * 1024 }),
    ]);
    expect(after.map((r) => [r.next, r.terminal])).toEqual([
      [recordCount, undefined],
      [recordCount, undefined],
    ]);
    await until('every pooled buffer was given back', () => probe.outstanding() === 0);
    expect(probe.violations).toEqual([]);
  }, 60_000);
});
