/**
 * The storage engine reports into the process-global Prometheus handles of src/metrics.ts. Tests
 * in one file run one after another in their own process, so before/after deltas are exact.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterEach, describe, expect, it } from 'vitest';
import type { Counter, Gauge, Histogram } from 'prom-client';
import { metrics } from '../../src/metrics.js';
import { LocalFsObjectStore } from '../../src/objectstore/local-fs.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ChunkLog, type ChunkLogOptions } from '../../src/storage/chunk-log.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import { createStream, makeAppend, readAll, seqs, collectableChunks } from './helpers.js';

const opened: ChunkLog[] = [];

async function open(store: ObjectStore, options: ChunkLogOptions = {}): Promise<ChunkLog> {
  const log = await ChunkLog.open(store, { clock: new ManualClock(), rand: seededRand(opened.length + 1), ...options });
  opened.push(log);
  return log;
}

afterEach(async () => {
  for (const log of opened.splice(0)) await log.close();
});

/** A histogram's observation count and sum. */
async function histogram(metric: Histogram): Promise<{ count: number; sum: number }> {
  const { values } = await metric.get();
  const pick = (suffix: string) => values.find((v) => v.metricName?.endsWith(suffix))?.value ?? 0;
  return { count: pick('_count'), sum: pick('_sum') };
}

async function value(metric: Counter | Gauge): Promise<number> {
  return (await metric.get()).values[0]?.value ?? 0;
}

describe('storage metrics', () => {
  it('a commit moves the flush histograms: one chunk, its bytes, its records', async () => {
    const log = await open(new MemoryObjectStore());
    await log.commit(createStream('s'));
    const before = {
      duration: await histogram(metrics.flushDuration),
      bytes: await histogram(metrics.flushBytes),
      records: await histogram(metrics.flushRecords),
    };
    await Promise.all([log.commit([makeAppend('s', 0, 3)]), log.commit([makeAppend('s', 3, 4)])]);
    const duration = await histogram(metrics.flushDuration);
    const bytes = await histogram(metrics.flushBytes);
    const records = await histogram(metrics.flushRecords);
    // Both commits were submitted in one synchronous run: they share one chunk (group commit).
    expect(records.count - before.records.count).toBe(1);
    expect(records.sum - before.records.sum).toBe(7);
    expect(bytes.count - before.bytes.count).toBe(1);
    expect(bytes.sum - before.bytes.sum).toBeGreaterThan(7 * 8);
    expect(duration.count - before.duration.count).toBe(1);
  });

  it('checkpoints, GC deletions and segment cache hits and misses are counted', async () => {
    const store = new MemoryObjectStore();
    const log = await open(store, { segmentMergeBytesMax: 0 });
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 20)]);
    const checkpoints = await value(metrics.checkpoints);
    await log.checkpoint();
    expect((await value(metrics.checkpoints)) - checkpoints).toBe(1);

    const misses = await value(metrics.blockCacheMisses);
    const hits = await value(metrics.blockCacheHits);
    expect(seqs((await log.read(readAll('s', 20))).records)).toHaveLength(20);
    expect((await value(metrics.blockCacheMisses)) - misses).toBe(2); // footer and block
    expect(seqs((await log.read(readAll('s', 20))).records)).toHaveLength(20);
    expect((await value(metrics.blockCacheHits)) - hits).toBe(2);

    // A trim below which the segment lies, then a checkpoint that folds the chunks: GC deletes both.
    const keys = async () => (await store.list('')).map((o) => o.key);
    const present = await keys();
    const deleted = await value(metrics.gcDeletedObjects);
    await log.commit([makeAppend('s', 20, 1, { trimPoint: 21 })]);
    await log.checkpoint();
    await log.collectGarbage();
    const after = new Set(await keys());
    const gone = present.filter((key) => !after.has(key));
    expect(gone.filter((key) => key.startsWith('segment/'))).toHaveLength(1);
    // ...plus the chunk of the trim itself, written and folded meanwhile.
    expect(await collectableChunks(store)).toEqual([]);
    expect((await value(metrics.gcDeletedObjects)) - deleted).toBeGreaterThanOrEqual(gone.length + 1);
  });

  it('the writer epoch is set on open and never goes down', async () => {
    const store = new MemoryObjectStore();
    for (let i = 0; i < 3; i++) await (await open(store)).close();
    const epoch = (await open(store)).epoch;
    expect(await value(metrics.writerEpoch)).toBe(epoch);
    await open(new MemoryObjectStore()); // epoch 1 elsewhere in the process
    expect(await value(metrics.writerEpoch)).toBe(epoch);
  });

  it('every fsync of the local-disk store is timed: the file and its directory', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's2-metrics-'));
    try {
      const store = new LocalFsObjectStore(dir);
      await store.init();
      await store.put('chunk/1', new Uint8Array(10)); // creates chunk/: its entry is synced in the root
      const before = await histogram(metrics.fsyncDuration);
      await store.put('chunk/2', new Uint8Array(10), { ifNoneMatch: '*', putId: 'p' });
      expect((await histogram(metrics.fsyncDuration)).count - before.count).toBe(2);
    } finally {
      await rm(dir, { recursive: true, force: true });
    }
  });
});
