/**
 * Records of every shape (bodies of 0 B to the 1 MiB batch limit, binary, empty-valued and many
 * headers, fence and trim command records with their empty header names) appended with the
 * official SDK to a local-disk server and checkpointed into segment format 2 blocks read back
 * identical, with the same seq_nums and timestamps, through every read path: unary protobuf
 * (SDK), S2S and SSE read sessions (SDK), and unary JSON in base64 (fetch), from segments and
 * from segments followed by the memory tail.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkLog } from '../../src/storage/chunk-log.js';
import { openStreamLog } from '../../src/storage/open.js';
import { uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';
import { seededBytes } from '../support/bytes.js';
import { sdkClient } from '../support/sdk.js';

type Header = readonly [Uint8Array, Uint8Array];
interface Appended {
  headers: Header[];
  body: Uint8Array;
}
interface Got extends Appended {
  seqNum: number;
  timestamp: number;
}

const enc = (text: string) => new TextEncoder().encode(text);
const empty = new Uint8Array(0);

const bytesOf = seededBytes;

const headerSets: Header[][] = [
  [],
  [[Uint8Array.from({ length: 256 }, (_, i) => i), empty]],
  [[enc('name'), empty]],
  Array.from({ length: 60 }, (_, h): Header => [enc(`h${h % 9}`), bytesOf(h % 6, h)]),
];
const bodySizes = [0, 1, 127, 128, 4096, 8193, 65_536];

let dir: string;
let log: ChunkLog;
let server: TestServer;
let s2: S2;
let basin: string;
/** What was appended to the stream, by seq_num, and the seq_num up to which it was checkpointed. */
const appended: Appended[] = [];
let checkpointed = 0;

async function append(records: { headers: Header[]; body: Uint8Array; command?: AppendRecord }[]): Promise<void> {
  const input = records.map((r) => r.command ?? AppendRecord.bytes({ body: r.body, headers: r.headers }));
  const ack = await s2.basin(basin).stream('edges').append(AppendInput.create(input));
  expect(ack.start.seqNum).toBe(appended.length);
  for (const r of records) appended.push({ headers: r.headers, body: r.body });
}

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's2-segment-reads-'));
  log = await openStreamLog(
    { kind: 'local', root: dir },
    { chunkLog: { blockBytes: 16 * 1024, blockCacheBytes: 256 * 1024 } },
  );
  server = await startServer({ log });
  s2 = sdkClient(server.baseUrl);
  basin = uniqueBasin('seg-reads');
  await s2.basins.create({ basin, config: { createStreamOnAppend: true, createStreamOnRead: true } });
  let n = 0;
  for (const headers of headerSets) {
    await append(bodySizes.map((size) => ({ headers, body: bytesOf(size, ++n) })));
    const max = AppendRecord.maxBodyBytes(headers.map(([k, v]) => [k, v]));
    await append([{ headers, body: bytesOf(max, ++n) }]);
  }
  // Command records: a fence with an empty token (empty body) and a trim to 0 (changes nothing).
  await append([
    { headers: [[empty, enc('fence')]], body: empty, command: AppendRecord.fence('') },
    { headers: [[empty, enc('trim')]], body: new Uint8Array(8), command: AppendRecord.trim(0) },
  ]);
  await log.checkpoint();
  checkpointed = appended.length;
  // Then records only in the memory tail.
  await append(bodySizes.map((size) => ({ headers: headerSets[3]!, body: bytesOf(size, ++n) })));
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const shape = (r: Appended) => `${r.headers.map(([k, v]) => `${hex(k)}=${hex(v)}`).join(',')} ${hex(r.body)}`;

/** Reads via the SDK's unary protobuf reads, page after page. */
async function unaryProtobuf(start: number): Promise<Got[]> {
  const out: Got[] = [];
  for (;;) {
    const batch = await s2
      .basin(basin)
      .stream('edges')
      .read(
        { start: { from: { seqNum: start + out.length } }, stop: { limits: { count: appended.length } } },
        { as: 'bytes' },
      );
    for (const r of batch.records) out.push({ ...r, headers: [...r.headers], timestamp: r.timestamp.getTime() });
    if (start + out.length >= appended.length || batch.records.length === 0) return out;
  }
}

async function session(start: number, transport: 's2s' | 'fetch'): Promise<Got[]> {
  const out: Got[] = [];
  const read = await s2
    .basin(basin)
    .stream('edges', { forceTransport: transport })
    .readSession(
      { start: { from: { seqNum: start } }, stop: { limits: { count: appended.length - start } } },
      { as: 'bytes' },
    );
  for await (const r of read) out.push({ ...r, headers: [...r.headers], timestamp: r.timestamp.getTime() });
  return out;
}

/** Unary JSON reads with `s2-format: base64` (api.md 4.7), page after page. */
async function unaryJson(start: number): Promise<Got[]> {
  const out: Got[] = [];
  while (start + out.length < appended.length) {
    const url = `${server.baseUrl}/v1/streams/edges/records?seq_num=${start + out.length}`;
    const res = await fetch(url, { headers: { 's2-basin': basin, 's2-format': 'base64', accept: 'application/json' } });
    expect(res.status).toBe(200);
    const json = (await res.json()) as {
      records: { seq_num: number; timestamp: number; headers?: [string, string][]; body?: string }[];
    };
    if (json.records.length === 0) break;
    for (const r of json.records) {
      out.push({
        seqNum: r.seq_num,
        timestamp: r.timestamp,
        headers: (r.headers ?? []).map(([k, v]) => [Buffer.from(k, 'base64'), Buffer.from(v, 'base64')] as const),
        body: Buffer.from(r.body ?? '', 'base64'), // both omitted when empty (api.md 4.7)
      });
    }
  }
  return out;
}

describe('segment format 2 blocks through every read path', () => {
  it('hold what was appended, with one seq_num and timestamp per record on every path', async () => {
    expect(checkpointed).toBeGreaterThan(30);
    const reference = await unaryProtobuf(0);
    expect(reference.map((r) => r.seqNum)).toEqual(appended.map((_, i) => i));
    expect(reference.map(shape)).toEqual(appended.map(shape));
    const key = (r: Got) => `${r.seqNum} ${r.timestamp} ${shape(r)}`;
    for (const start of [0, 5, checkpointed - 1, checkpointed]) {
      const want = reference.slice(start).map(key);
      expect((await unaryProtobuf(start)).map(key), `protobuf from ${start}`).toEqual(want);
      expect((await session(start, 's2s')).map(key), `s2s from ${start}`).toEqual(want);
      expect((await session(start, 'fetch')).map(key), `sse from ${start}`).toEqual(want);
      expect((await unaryJson(start)).map(key), `json from ${start}`).toEqual(want);
    }
  }, 120_000);
});
