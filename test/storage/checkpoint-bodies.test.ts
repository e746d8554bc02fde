/**
 * Checkpoints hand each segment to the store in the form it takes without a copy (see
 * BodyHandling in src/objectstore/types.ts): fresh memory handed over to the memory store, a reused
 * SharedArrayBuffer scratch to a store that passes bodies to a thread, a reused plain scratch to
 * others; and whichever form, every segment reads back whole after several checkpoints.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { BodyHandling, ObjectStore, PutOptions } from '../../src/objectstore/types.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { decodeSegment } from '../../src/storage/codec-segment.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import { createStream, makeAppend, readRange, seqs } from './helpers.js';

interface SegmentPut {
  body: Uint8Array;
  copy: Uint8Array;
  handOver: boolean;
}

/** The memory store seen through a store that declares `handling` and records segment puts. */
function recording(handling: BodyHandling | undefined): { store: ObjectStore; puts: SegmentPut[] } {
  const inner = new MemoryObjectStore();
  const puts: SegmentPut[] = [];
  const store: ObjectStore = {
    bodyHandling: handling,
    put(key: string, body: Uint8Array, options?: PutOptions) {
      if (key.startsWith('segment/')) puts.push({ body, copy: body.slice(), handOver: options?.handOver === true });
      // The inner store copies unless the body really is handed over.
      return inner.put(key, body, handling === 'hand-over' ? options : { ...options, handOver: false });
    },
    get: (key, range) => inner.get(key, range),
    head: (key) => inner.head(key),
    list: (prefix, options) => inner.list(prefix, options),
    delete: (keys) => inner.delete(keys),
    describe: () => `recording(${handling ?? 'none'})`,
  };
  return { store, puts };
}

const logs: ChunkLog[] = [];
afterEach(async () => {
  for (const log of logs.splice(0)) await log.close();
});

/** Two checkpoints of several segments each (small segments), then every record read back. */
async function checkpointTwice(store: ObjectStore): Promise<void> {
  const log = await ChunkLog.open(store, {
    clock: new ManualClock(),
    rand: seededRand(7),
    blockBytes: 256,
    segmentBytesMax: 2048,
    segmentMergeBytesMax: 0,
  });
  logs.push(log);
  await log.commit([...createStream('a'), ...createStream('b').slice(1)]);
  for (let round = 0; round < 2; round++) {
    for (let i = 0; i < 10; i++) {
      await log.commit([makeAppend('a', (round * 10 + i) * 8, 8), makeAppend('b', round * 10 + i, 1)]);
    }
    expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
  }
  expect(seqs(await readRange(log, 'a', 0, 160))).toEqual(Array.from({ length: 160 }, (_, i) => i));
  expect(await readRange(log, 'a', 0, 160)).toEqual(makeAppend('a', 0, 160).records);
  expect(await readRange(log, 'b', 0, 20)).toEqual(makeAppend('b', 0, 20).records);
}

describe('segment bodies at checkpoints', () => {
  it('the memory store gets every segment in fresh memory, handed over', async () => {
    const { store, puts } = recording('hand-over');
    await checkpointTwice(store);
    expect(puts.length).toBeGreaterThan(4);
    expect(puts.every((p) => p.handOver)).toBe(true);
    expect(new Set(puts.map((p) => p.body.buffer)).size).toBe(puts.length);
    // Nothing wrote into a body after it was handed over, and none holds memory it does not show
    // (these small segments take much less than their size bound: they were copied to fit).
    for (const put of puts) expect(put.body).toEqual(put.copy);
    for (const put of puts) expect(put.body.byteLength).toBeGreaterThanOrEqual(put.body.buffer.byteLength * 0.75);
  });

  it('a store that passes bodies to a thread gets them in one reused SharedArrayBuffer', async () => {
    const { store, puts } = recording('shared');
    await checkpointTwice(store);
    expect(puts.length).toBeGreaterThan(4);
    expect(puts.every((p) => !p.handOver && p.body.buffer instanceof SharedArrayBuffer)).toBe(true);
    expect(new Set(puts.map((p) => p.body.buffer)).size).toBe(1);
    for (const put of puts) expect(decodeSegment(put.copy).records.length).toBeGreaterThan(0);
  });

  it('other stores get a reused plain scratch and keep their own copy', async () => {
    const { store, puts } = recording(undefined);
    await checkpointTwice(store);
    expect(puts.every((p) => !p.handOver && !(p.body.buffer instanceof SharedArrayBuffer))).toBe(true);
    expect(new Set(puts.map((p) => p.body.buffer)).size).toBe(1);
  });
});
