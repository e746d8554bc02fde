/**
 * Local-disk reads through a block cache far smaller than one read-ahead run, with pooled block
 * memory (storage/block-pool.ts) poisoned the moment it goes back to the pool: every read path
 * (unary protobuf pages, S2S sessions plain and gzip, SSE, unary JSON) gets every record
 * byte-exact while the others, running at once, evict blocks and reuse their memory; and so does
 * a checkpoint that merges the last segment (it holds views of its blocks across awaits) while
 * page reads churn the pool. An early release (a page, a frame, collectUnary's gathering, a lease
 * not pinned) shows as poison in some record. On an encrypted stream, fence and trim commands are
 * delivered as they are stored (views of the blocks) next to the decrypted records: the list they
 * came from must never be released (engine/read-session.ts deliver).
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppendInput, AppendRecord, S2, type S2Stream } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkLog } from '../../src/storage/chunk-log.js';
import { openStreamLog } from '../../src/storage/open.js';
import { poisonBlockPools } from '../storage/poison-block-pool.js';
import { seededBytes } from '../support/bytes.js';
import { uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';
import { sdkClient } from '../support/sdk.js';

const probe = poisonBlockPools();
const sizes = [1, 700, 3000, 8200, 50, 20_000];
const first = 300;
const total = 400;

/** Incompressible, so that blocks are stored uncompressed and kept in pooled memory as read. */
function bodyOf(i: number): Buffer {
  return Buffer.from(seededBytes(sizes[i % sizes.length]!, i * 0x9e3779b1 + 7));
}

let dir: string;
let log: ChunkLog;
let server: TestServer;
let s2: S2;
let basin: string;
let encrypted: string;
const key = new Uint8Array(32).fill(0x5a);

async function appendRange(from: number, to: number): Promise<void> {
  const stream = s2.basin(basin).stream('p');
  for (let start = from; start < to; start += 10) {
    const records = Array.from({ length: Math.min(10, to - start) }, (_, k) =>
      AppendRecord.bytes({ body: bodyOf(start + k), headers: [[Buffer.from('n'), Buffer.from(String(start + k))]] }),
    );
    await stream.append(AppendInput.create(records));
  }
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's2-pooled-blocks-'));
  log = await openStreamLog(
    { kind: 'local', root: dir },
    { chunkLog: { blockBytes: 8 * 1024, segmentBytesMax: 256 * 1024, blockCacheBytes: 40 * 1024 } },
  );
  server = await startServer({ log });
  s2 = sdkClient(server.baseUrl);
  basin = uniqueBasin('pooled');
  await s2.basins.create({ basin, config: { createStreamOnAppend: true, createStreamOnRead: true } });
  await appendRange(0, first);
  encrypted = uniqueBasin('pooled-enc');
  await s2.basins.create({
    basin: encrypted,
    config: { createStreamOnAppend: true, createStreamOnRead: true, streamCipher: 'aegis-256' },
  });
  const stream = encryptedStream('fetch');
  for (let start = 0; start < commandsTotal; start += 10) {
    const records = Array.from({ length: 10 }, (_, k) => {
      const i = start + k;
      return i % 3 === 0 ? AppendRecord.fence(fenceOf(i)) : AppendRecord.bytes({ body: bodyOf(i) });
    });
    await stream.append(AppendInput.create(records));
  }
  await log.checkpoint();
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

/** An encrypted stream where every third record is a fence command (stored as it is, not sealed). */
const commandsTotal = 120;
function fenceOf(i: number): string {
  return `fence-${i}-${'x'.repeat(i % 20)}`;
}
function encryptedStream(transport: 's2s' | 'fetch'): S2Stream {
  return s2.basin(encrypted).stream('e', { forceTransport: transport, encryptionKey: key });
}

/** The encrypted stream's records from 0, by unary protobuf pages or a read session. */
async function encryptedReads(how: 'pages' | 's2s' | 'fetch'): Promise<number> {
  const stream = encryptedStream(how === 'pages' ? 'fetch' : how);
  const verify = (seqNum: number, body: Uint8Array): void => {
    const want = seqNum % 3 === 0 ? Buffer.from(fenceOf(seqNum)) : bodyOf(seqNum);
    if (!want.equals(Buffer.from(body))) expect.fail(`encrypted ${how}: record ${seqNum} differs`);
  };
  let next = 0;
  if (how === 'pages') {
    while (next < commandsTotal) {
      const batch = await stream.read({ start: { from: { seqNum: next } } }, { as: 'bytes' });
      if (batch.records.length === 0) break;
      for (const r of batch.records) verify(next++, r.body);
    }
    return next;
  }
  const read = await stream.readSession(
    { start: { from: { seqNum: 0 } }, stop: { limits: { count: commandsTotal } } },
    { as: 'bytes' },
  );
  for await (const r of read) verify(next++, r.body);
  return next;
}

function check(seqNum: number, body: Uint8Array, what: string): void {
  if (!bodyOf(seqNum).equals(Buffer.from(body))) expect.fail(`${what}: record ${seqNum} differs`);
}

/** SDK unary protobuf reads, page after page; returns the records read. */
async function pages(count: number): Promise<number> {
  let next = 0;
  while (next < count) {
    const batch = await s2
      .basin(basin)
      .stream('p')
      .read({ start: { from: { seqNum: next } }, stop: { limits: { count: count - next } } }, { as: 'bytes' });
    if (batch.records.length === 0) break;
    for (const r of batch.records) {
      expect(r.seqNum).toBe(next);
      check(next++, r.body, 'protobuf');
    }
  }
  return next;
}

async function session(count: number, transport: 's2s' | 'fetch', compression: 'none' | 'gzip'): Promise<number> {
  const via = compression === 'gzip' ? sdkClient(server.baseUrl, 'gzip') : s2;
  const read = await via
    .basin(basin)
    .stream('p', { forceTransport: transport })
    .readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count } } }, { as: 'bytes' });
  let next = 0;
  for await (const r of read) {
    expect(r.seqNum).toBe(next);
    check(next++, r.body, `${transport} ${compression}`);
  }
  return next;
}

/** Unary JSON reads in base64, page after page. */
async function json(count: number): Promise<number> {
  let next = 0;
  while (next < count) {
    const url = `${server.baseUrl}/v1/streams/p/records?seq_num=${next}&count=${count - next}`;
    const res = await fetch(url, { headers: { 's2-basin': basin, 's2-format': 'base64', accept: 'application/json' } });
    expect(res.status).toBe(200);
    const page = (await res.json()) as { records: { seq_num: number; body?: string }[] };
    if (page.records.length === 0) break;
    for (const r of page.records) {
      expect(r.seq_num).toBe(next);
      check(next++, Buffer.from(r.body ?? '', 'base64'), 'json');
    }
  }
  return next;
}

/** Every read path at once, twice over, each from seq_num 0. */
async function allPaths(count: number): Promise<void> {
  const reads = [
    pages(count),
    session(count, 's2s', 'none'),
    session(count, 's2s', 'gzip'),
    session(count, 'fetch', 'none'),
    json(count),
    pages(count),
    session(count, 's2s', 'none'),
    json(count),
  ];
  expect(await Promise.all(reads)).toEqual(reads.map(() => count));
}

describe('reads from pooled block memory under cache pressure', () => {
  it('are byte-exact on every path at once, and through a checkpoint merge that reads the cache', async () => {
    const given = probe.given();
    await allPaths(first);
    expect(probe.given()).toBeGreaterThan(given);
    expect(probe.reused()).toBeGreaterThan(0);
    // The last segment is small: this checkpoint merges it while page reads churn the pool.
    await appendRange(first, total);
    const merged = log.checkpoint();
    await Promise.all([pages(first), pages(first), session(first, 's2s', 'none')]);
    await merged;
    await allPaths(total);
  }, 120_000);

  it('keep the commands of an encrypted stream byte-exact while other reads reuse their blocks', async () => {
    const given = probe.given();
    const reads = [
      encryptedReads('pages'),
      encryptedReads('s2s'),
      encryptedReads('fetch'),
      pages(first),
      encryptedReads('s2s'),
      encryptedReads('pages'),
      session(first, 's2s', 'none'),
    ];
    expect(await Promise.all(reads)).toEqual([120, 120, 120, first, 120, 120, first]);
    expect(probe.given()).toBeGreaterThan(given);
  }, 120_000);
});
