/**
 * The two bounds checkpoints exist for: memory (the records not yet in segments stay within
 * `memoryTailBytesMax`, plus the chunks in flight, however fast appends come) and recovery time
 * (a reopen replays only the chunks after the last manifest, fewer than `checkpointChunks`).
 */
import { afterEach, describe, expect, it } from 'vitest';
import type { SequencedRecord } from '../../src/domain/types.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import { ChunkLog, type ChunkLogOptions } from '../../src/storage/chunk-log.js';
import type { Append } from '../../src/storage/types.js';
import { chunkPrefix } from '../../src/storage/names.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import { createStream, faulty, makeAppend, readRange, collectableChunks } from './helpers.js';

const opened: ChunkLog[] = [];

async function open(store: ObjectStore, options: ChunkLogOptions = {}): Promise<ChunkLog> {
  const log = await ChunkLog.open(store, { clock: new ManualClock(), rand: seededRand(opened.length + 1), ...options });
  opened.push(log);
  return log;
}

afterEach(async () => {
  for (const log of opened.splice(0)) await Promise.race([log.close(), new Promise((r) => setTimeout(r, 1_000))]);
});

async function tick(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

const KiB = 1024;

/** One record of a 1 KiB body at `seqNum`. */
function kibAppend(stream: string, seqNum: number): Append {
  const append = makeAppend(stream, seqNum, 1);
  append.records[0].body = new Uint8Array(KiB).fill(seqNum % 251);
  return append;
}

/** Runs `tasks` workers that each commit `kibAppend`s until `total` are done; calls `after` after each. */
async function sustained(log: ChunkLog, stream: string, total: number, workers: number, after: () => void) {
  const records: SequencedRecord[] = [];
  let next = 0;
  const worker = async () => {
    while (next < total) {
      const append = kibAppend(stream, next++);
      records[append.records[0].seqNum] = append.records[0];
      await log.commit([append]);
      after();
    }
  };
  await Promise.all(Array.from({ length: workers }, worker));
  return records;
}

describe('memory bound', () => {
  it('commits wait while the memory tail is full, and go on once a checkpoint folds it', async () => {
    const memory = new MemoryObjectStore();
    const store = faulty(memory);
    const options = { checkpointBytes: 8 * KiB, memoryTailBytesMax: 16 * KiB, chunkBytesMax: 2 * KiB };
    const log = await open(store, { ...options, chunksInFlightMax: 2, segmentMergeBytesMax: 0 });
    await log.commit(createStream('s'));
    // Checkpoints cannot finish: their segment puts are held.
    const hold = store.faults.add({ op: 'put', prefix: 'segment/', mode: 'hold' });
    let resolved = 0;
    const commits = Array.from({ length: 60 }, (_, i) => log.commit([kibAppend('s', i)]).then(() => resolved++));
    await tick();
    expect(store.held.length).toBe(1);
    const stalledAt = resolved;
    expect(stalledAt).toBeGreaterThan(8); // the first checkpoint started at 8 KiB...
    expect(stalledAt).toBeLessThan(30); // ...and the writer stopped at 16 KiB, plus the chunks in flight
    expect(log.stats()).toMatchObject({ writesPaused: true });
    expect(log.stats().memoryTailBytes).toBeGreaterThanOrEqual(16 * KiB);
    expect(log.stats().memoryTailBytes).toBeLessThan(16 * KiB + 2 * 3 * KiB);
    await tick();
    expect(resolved).toBe(stalledAt); // still waiting: nothing is sealed while paused

    hold.remove();
    store.release();
    await Promise.all(commits);
    expect(log.stats().writesPaused).toBe(false);
    expect((await memory.list('segment/')).length).toBeGreaterThan(1);
    const reopened = await open(memory);
    expect(reopened.recovered().streams[0].tail.seqNum).toBe(60);
    expect((await readRange(reopened, 's', 0, 60)).map((r) => r.body[0])).toEqual(
      Array.from({ length: 60 }, (_, i) => i % 251),
    );
  });

  it('a checkpoint that fails while commits wait for memory is retried without further triggers', async () => {
    const clock = new ManualClock();
    const memory = new MemoryObjectStore();
    const store = faulty(memory, clock);
    const log = await open(store, { clock, checkpointBytes: 8 * KiB, chunkBytesMax: 2 * KiB, segmentMergeBytesMax: 0 });
    await log.commit(createStream('s'));
    // The first segment put waits until the writer is paused, then it and the next one fail.
    store.faults.add({ op: 'put', prefix: 'segment/', mode: 'hold', times: 1 });
    const failing = store.faults.add({ op: 'put', prefix: 'segment/', mode: 'fatal', times: 2 });
    let resolved = 0;
    const commits = Array.from({ length: 40 }, (_, i) => log.commit([kibAppend('s', i)]).then(() => resolved++));
    await tick();
    expect(log.stats().writesPaused).toBe(true);
    store.release();
    await tick();
    expect(failing.fired).toBe(2);
    const stalledAt = resolved;
    expect(stalledAt).toBeLessThan(40);
    await clock.advance(999);
    expect(resolved).toBe(stalledAt);
    await clock.advance(1);
    for (let i = 0; i < 50 && resolved < 40; i++) await tick();
    expect(resolved).toBe(40);
    await Promise.all(commits);
    expect(log.stats().writesPaused).toBe(false);
    expect(log.status().ok).toBe(true);
  });

  it('under sustained appends the memory tail stays bounded and segments appear', async () => {
    const memory = new MemoryObjectStore();
    const chunkBytesMax = 4 * KiB;
    const chunksInFlightMax = 4;
    const log = await open(memory, {
      checkpointBytes: 16 * KiB,
      memoryTailBytesMax: 32 * KiB,
      chunkBytesMax,
      chunksInFlightMax,
      segmentMergeBytesMax: 0,
    });
    await log.commit(createStream('s'));
    let maxTail = 0;
    const total = 800;
    const records = await sustained(log, 's', total, 64, () => {
      maxTail = Math.max(maxTail, log.stats().memoryTailBytes);
    });
    // A chunk of 4 KiB holds at most 4 such records; each costs its body plus a little bookkeeping.
    expect(maxTail).toBeGreaterThanOrEqual(16 * KiB);
    expect(maxTail).toBeLessThan(32 * KiB + chunksInFlightMax * 2 * chunkBytesMax);
    expect(log.stats().manifestId).toBeGreaterThan(10); // about one checkpoint per 16 KiB
    expect((await memory.list('segment/')).length).toBeGreaterThan(10);
    const reopened = await open(memory);
    expect(await readRange(reopened, 's', 0, total)).toEqual(records);
  });
});

describe('recovery bound', () => {
  it('after many chunks, a reopen replays only those after the last manifest', async () => {
    const memory = new MemoryObjectStore();
    const checkpointChunks = 10;
    const log = await open(memory, { checkpointChunks, chunksInFlightMax: 2 });
    await log.commit(createStream('s'));
    const records: SequencedRecord[] = [];
    for (let i = 0; i < 200; i++) {
      const append = makeAppend('s', i, 1);
      records.push(...append.records);
      await log.commit([append]); // one chunk each
    }
    // Let queued checkpoints and GC finish: each collectGarbage waits for what is queued before it.
    for (let i = 0; i < 5; i++) await log.collectGarbage();
    const { appliedChunkId, foldedChunkId, manifestId } = log.stats();
    expect(appliedChunkId).toBeGreaterThan(200);
    expect(manifestId).toBeGreaterThan(10);
    expect(appliedChunkId - foldedChunkId).toBeLessThan(checkpointChunks);
    const chunks = await collectableChunks(memory);
    expect(chunks.length).toBeLessThan(checkpointChunks); // folded chunks were collected
    await log.close();

    const store = faulty(memory);
    const events: Record<string, unknown>[] = [];
    const reopened = await open(store, {
      logger: (event, fields) => void (event === 'fenced-chunk-log' && events.push(fields)),
    });
    const gets = store.calls.filter((c) => c.op === 'get' && c.key.startsWith(chunkPrefix));
    expect(gets.length).toBe(appliedChunkId - foldedChunkId);
    expect(events).toEqual([expect.objectContaining({ applied: appliedChunkId - foldedChunkId })]);
    expect(reopened.recovered().streams[0].tail.seqNum).toBe(200);
    expect(await readRange(reopened, 's', 0, 200)).toEqual(records);
  });

  it('chunks that land while a checkpoint runs are folded by the next one, without waiting for more commits', async () => {
    const memory = new MemoryObjectStore();
    const store = faulty(memory);
    const log = await open(store, { checkpointChunks: 5 });
    await log.commit(createStream('s'));
    const hold = store.faults.add({ op: 'put', prefix: 'manifest/', mode: 'hold' });
    for (let i = 0; i < 5; i++) await log.commit([makeAppend('s', i, 1)]);
    await tick();
    expect(store.held.length).toBe(1); // a checkpoint is waiting for its manifest
    for (let i = 5; i < 30; i++) await log.commit([makeAppend('s', i, 1)]);
    hold.remove();
    store.release();
    for (let i = 0; i < 5; i++) await log.collectGarbage();
    const { appliedChunkId, foldedChunkId } = log.stats();
    expect(appliedChunkId - foldedChunkId).toBe(0);
    expect(await collectableChunks(memory)).toEqual([]);
  });
});
