/**
 * Memory mode end to end with the official SDK (@s2-dev/streamstore) on records checkpointed into
 * segments: the memory store hands the block cache views of the segments it keeps
 * (ObjectStore.partsShareMemory), so whatever a read does with a block's bytes it does to the
 * stored segment. Every read path (S2S plain and gzip, the fetch transport, unary protobuf) gets
 * every record byte-exact, twice over (cold and from the cache), and afterwards every segment
 * object is byte for byte what the checkpoint stored: nothing on the way out wrote into them.
 */
import { createHash } from 'node:crypto';
import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { InstrumentedObjectStore } from '../../src/objectstore/instrumented.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { seededBytes } from '../support/bytes.js';
import { uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';
import { readSessionFromStart, sdkClient } from '../support/sdk.js';

const recordCount = 240;
const sizes = [1, 8192, 65_536 + 13, 1000, 3, 0];

/** Incompressible bodies, and every third one compressible (zstd blocks as well as plain ones). */
function bodyOf(i: number): Uint8Array {
  const size = sizes[i % sizes.length]!;
  return i % 3 === 0 ? new Uint8Array(size).fill(i & 0xff) : seededBytes(size, i + 1);
}

/** Counts block reads, so the test knows the reads went to the segments. */
class CountingStore extends MemoryObjectStore {
  partReads = 0;
  override getParts(key: string, start: number, lengths: readonly number[]): Promise<Uint8Array[]> {
    this.partReads++;
    return super.getParts(key, start, lengths);
  }
}

let memory: CountingStore;
let log: ChunkLog;
let server: TestServer;
let basin: string;

const client = (compression: 'none' | 'gzip'): S2 => sdkClient(server.baseUrl, compression);

/** A digest of every segment object the store holds, by key. */
async function segmentDigests(): Promise<Map<string, string>> {
  const out = new Map<string, string>();
  for (const { key } of await memory.list('segment/')) {
    out.set(
      key,
      createHash('sha256')
        .update(await memory.get(key))
        .digest('hex'),
    );
  }
  return out;
}

beforeAll(async () => {
  memory = new CountingStore();
  // As memory mode opens it (storage/open.ts): the instrumented wrapper over the memory store.
  const store = new InstrumentedObjectStore(memory, { onRequest: () => {} });
  log = await ChunkLog.open(store, {
    journal: { kind: 'memory' },
    blockBytes: 16 * 1024,
    segmentBytesMax: 256 * 1024,
    compressMinBytes: 64,
  });
  server = await startServer({ log });
  const s2 = client('none');
  basin = uniqueBasin('sdk-memseg');
  await s2.basins.create({ basin, config: { createStreamOnAppend: true, createStreamOnRead: true } });
  const s = s2.basin(basin).stream('views');
  for (let start = 0; start < recordCount; start += 10) {
    const records = Array.from({ length: 10 }, (_, k) => AppendRecord.bytes({ body: bodyOf(start + k) }));
    await s.append(AppendInput.create(records));
  }
  await log.checkpoint();
}, 120_000);

afterAll(async () => {
  await server?.stop();
});

function check(seqNum: number, body: Uint8Array, where: string): void {
  if (!Buffer.from(bodyOf(seqNum)).equals(Buffer.from(body))) expect.fail(`${where}: record ${seqNum} differs`);
}

function readSession(via: S2, transport: 's2s' | 'fetch'): Promise<number> {
  const s = via.basin(basin).stream('views', { forceTransport: transport });
  return readSessionFromStart(s, recordCount, (seqNum, body) => check(seqNum, body, transport));
}

async function readUnary(via: S2): Promise<number> {
  const s = via.basin(basin).stream('views');
  let next = 0;
  while (next < recordCount) {
    const batch = await s.read({ start: { from: { seqNum: next } } }, { as: 'bytes' });
    expect(batch.records.length).toBeGreaterThan(0);
    for (const record of batch.records) {
      expect(record.seqNum).toBe(next);
      check(next, record.body, 'unary');
      next++;
    }
  }
  return next;
}

describe('memory mode: SDK reads of segments whose blocks are views of the stored objects', () => {
  it('every read path gets every record exactly, and the stored segments stay as they were written', async () => {
    const before = await segmentDigests();
    expect(before.size).toBeGreaterThan(1);
    const partReads = memory.partReads;
    const plain = client('none');
    const gzip = client('gzip');
    for (let round = 0; round < 2; round++) {
      const counts = await Promise.all([
        readSession(plain, 's2s'),
        readSession(gzip, 's2s'),
        readSession(plain, 'fetch'),
        readUnary(plain),
      ]);
      expect(counts).toEqual([recordCount, recordCount, recordCount, recordCount]);
    }
    expect(memory.partReads).toBeGreaterThan(partReads);
    expect(await segmentDigests()).toEqual(before);
  }, 120_000);
});
