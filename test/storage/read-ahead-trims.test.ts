/**
 * A reader walking a stream block by block on real files, with the segment cache reading ahead
 * (runs of blocks, the next segment's footer and first run), while a trim and GC delete the
 * segments ahead of it and a checkpoint merges the last one: every read returns exactly the
 * surviving records in order, with their bytes, and never an error; read-aheads of deleted
 * segments fail quietly. Bodies of 8 KiB and more, so that blocks are padded (codec-segment.ts).
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SequencedRecord } from '../../src/domain/types.js';
import { openObjectStore } from '../../src/objectstore/index.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import type { Append } from '../../src/storage/types.js';
import { createStream, readAll } from './helpers.js';

const sizes = [8 * 1024 + 1, 7, 64 * 1024 + 3, 1, 9000, 20_000 + 5];

function record(seqNum: number): SequencedRecord {
  const size = sizes[seqNum % sizes.length]!;
  const backing = new Uint8Array(size + 8);
  const body = backing.subarray(seqNum % 8, (seqNum % 8) + size); // odd source offsets: padded blocks
  for (let i = 0; i < size; i += 997) body[i] = (seqNum * 31 + i) & 0xff;
  return { seqNum, timestamp: BigInt(seqNum), headers: [], body };
}

function append(first: number, count: number, trimPoint?: number): Append {
  const records = Array.from({ length: count }, (_, i) => record(first + i));
  const out: Append = {
    kind: 'append',
    stream: 's',
    records,
    tail: { seqNum: first + count, timestamp: BigInt(first + count - 1) },
    writtenAtMs: 2_000,
    expiresAtMs: null,
  };
  if (trimPoint !== undefined) out.trimPoint = trimPoint;
  return out;
}

function expectRecord(got: SequencedRecord, seqNum: number): void {
  const want = record(seqNum);
  expect(got.seqNum).toBe(seqNum);
  expect(Buffer.from(got.body).equals(Buffer.from(want.body)), `body of ${seqNum}`).toBe(true);
}

let dir = '';
const opened: { log: ChunkLog; store: ObjectStore }[] = [];
beforeAll(async () => void (dir = await mkdtemp(join(tmpdir(), 's2-read-ahead-trims-'))));
afterAll(async () => {
  for (const { log, store } of opened) {
    await log.close();
    await store.close?.();
  }
  await rm(dir, { recursive: true, force: true });
});

async function open(place: string): Promise<{ log: ChunkLog; store: ObjectStore }> {
  const store = await openObjectStore({ kind: 'local', root: join(dir, place) });
  const log = await ChunkLog.open(store, {
    blockBytes: 16 * 1024,
    segmentBytesMax: 128 * 1024,
    segmentMergeBytesMax: 48 * 1024,
    checkpointBytes: 1 << 30,
    checkpointChunks: 1 << 20,
    checkpointIntervalMs: 3_600_000,
    memoryTailBytesMax: 1 << 30,
    blockCacheBytes: 1 << 20,
  });
  opened.push({ log, store });
  return { log, store };
}

describe('read-ahead across segments while trims and GC delete them', () => {
  it('a block-by-block reader sees exactly the surviving records', { timeout: 120_000 }, async () => {
    const { log, store } = await open('walk');
    await log.commit(createStream('s'));
    let tail = 0;
    for (let i = 0; i < 8; i++) {
      await log.commit([append(tail, 12)]);
      tail += 12;
      expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
    }
    const segments = (await store.list('segment/')).length;
    expect(segments).toBeGreaterThan(4);

    let cursor = 0;
    let step = 0;
    let trimPoint = 0;
    while (cursor < tail) {
      const { records } = await log.read({ ...readAll('s', tail), startSeqNum: cursor, maxRecords: 2 });
      expect(records.length, `read from ${cursor}`).toBeGreaterThan(0);
      const first = Math.max(cursor, trimPoint);
      records.forEach((r, i) => expectRecord(r, first + i));
      cursor = records.at(-1)!.seqNum + 1;
      step++;
      if (step === 5) {
        // Ahead of the reader: a trim past the next two segments, deleted by GC.
        trimPoint = cursor + 30;
        await log.commit([append(tail, 1, trimPoint)]);
        tail += 1;
        await log.collectGarbage();
        expect((await store.list('segment/')).length).toBeLessThan(segments);
      }
      if (step === 12) {
        // A small last segment merged (replaced) while the reader is on its way there.
        await log.commit([append(tail, 2)]);
        tail += 2;
        expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
        await log.collectGarbage();
      }
    }
    expect(cursor).toBe(tail);
    expect(step).toBeGreaterThan(12);
  });
});
