/**
 * The official SDK (@s2-dev/streamstore, S2S over h2c, uncompressed and gzip) catches up on streams
 * stored in segments on local disk, several sessions at once over its shared connection, and gets
 * every record of 1 B to 64 KiB byte-exact while the server assembles its frames in reused buffers
 * (api/codec/out-buffers.ts) that are poisoned the moment they are given back.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkLog } from '../../src/storage/chunk-log.js';
import { openStreamLog } from '../../src/storage/open.js';
import { poisonCatchUpBuffers } from '../api/sessions/poison-pool.js';
import { fillNibbles } from '../api/sessions/raw-readers.js';
import { uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';
import { until } from '../support/until.js';
import { readSessionFromStart, sdkClient } from '../support/sdk.js';

const probe = poisonCatchUpBuffers();
const sizes = [1, 8192, 65536 + 13, 1000, 3, 8200];
const recordCount = 300;
const streams = ['sdk-a', 'sdk-b'];

function bodyOf(stream: string, i: number): Uint8Array {
  const out = new Uint8Array(sizes[i % sizes.length]!);
  return fillNibbles(out, stream.length * 0x9e3779b1 + stream.charCodeAt(4) * 977 + i * 0x85ebca6b + 1);
}

let dir: string;
let log: ChunkLog;
let server: TestServer;
let basin: string;

const client = (compression: 'none' | 'gzip'): S2 => sdkClient(server.baseUrl, compression);

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's2-sdk-buffers-'));
  log = await openStreamLog(
    { kind: 'local', root: dir },
    { chunkLog: { blockBytes: 16 * 1024, segmentBytesMax: 1024 * 1024, blockCacheBytes: 512 * 1024 } },
  );
  server = await startServer({ log });
  const s2 = client('none');
  basin = uniqueBasin('sdk-buf');
  await s2.basins.create({ basin, config: { createStreamOnAppend: true, createStreamOnRead: true } });
  for (const name of streams) {
    const s = s2.basin(basin).stream(name);
    for (let start = 0; start < recordCount; start += 10) {
      const records = Array.from({ length: 10 }, (_, k) => AppendRecord.bytes({ body: bodyOf(name, start + k) }));
      await s.append(AppendInput.create(records));
    }
  }
  await log.checkpoint();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

function readAll(via: S2, name: string): Promise<number> {
  const s = via.basin(basin).stream(name, { forceTransport: 's2s' });
  return readSessionFromStart(s, recordCount, (seqNum, body) => {
    if (!Buffer.from(bodyOf(name, seqNum)).equals(Buffer.from(body))) expect.fail(`${name} record ${seqNum} differs`);
  });
}

describe('SDK catch-up from segments in reused buffers', () => {
  it('reads every record exactly from several sessions at once, uncompressed and gzip', async () => {
    const plain = client('none');
    const gzip = client('gzip');
    const taken = probe.taken();
    const counts = await Promise.all([
      readAll(plain, 'sdk-a'),
      readAll(plain, 'sdk-b'),
      readAll(gzip, 'sdk-a'),
      readAll(gzip, 'sdk-b'),
      readAll(plain, 'sdk-a'),
    ]);
    expect(counts).toEqual(counts.map(() => recordCount));
    expect(probe.taken() - taken).toBeGreaterThan(5);
    await until('every pooled buffer was given back', () => probe.outstanding() === 0);
    expect(probe.violations).toEqual([]);
  }, 120_000);
});
