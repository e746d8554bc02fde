/**
 * Reads against a reference model: the same answers from the memory tail, from segments, and from
 * a mix, for every start position and several limits (count, metered bytes, end, until), with the
 * bytes and the stop reason storage reports, including expired and trimmed records;
 * seqNumForTimestamp with duplicate timestamps across block and segment boundaries; and the
 * visibility rules GC relies on (trim, retention, stream deletion), including a read that races
 * with GC deleting the segment it is reading.
 */
import { afterEach, describe, expect, it, vi } from 'vitest';
import { meteredBytes, type SequencedRecord } from '../../src/domain/types.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ChunkLog, type ChunkLogOptions } from '../../src/storage/chunk-log.js';
import { SegmentCache } from '../../src/storage/segment-cache.js';
import type { ReadRequest, ReadResult } from '../../src/storage/types.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import { createStream, faulty, makeAppend, readAll, seqs, type AppendOptions, collectableChunks } from './helpers.js';

const opened: ChunkLog[] = [];
const small: ChunkLogOptions = { blockBytes: 300, checkpointBytes: 1 << 30, checkpointChunks: 1 << 30 };

async function open(store: ObjectStore, options: ChunkLogOptions = {}): Promise<ChunkLog> {
  const log = await ChunkLog.open(store, {
    clock: new ManualClock(),
    rand: seededRand(opened.length + 7),
    ...small,
    ...options,
  });
  opened.push(log);
  return log;
}

afterEach(async () => {
  // A failed test may leave puts held forever: do not let closing hang the suite.
  for (const log of opened.splice(0)) await Promise.race([log.close(), new Promise((r) => setTimeout(r, 1_000))]);
});

/** What a log must return, computed by brute force. */
class Model {
  readonly records: { record: SequencedRecord; expiresAtMs: number | null }[] = [];
  trimPoint = 0;
  tail = 0;

  constructor(
    readonly log: ChunkLog,
    readonly stream: string,
  ) {}

  async append(count: number, options: AppendOptions = {}): Promise<void> {
    const append = makeAppend(this.stream, this.tail, count, {
      timestamp: (seq) => BigInt(Math.floor(seq / 4)) * 10n,
      ...options,
    });
    await this.log.commit([append]);
    for (const record of append.records) this.records.push({ record, expiresAtMs: append.expiresAtMs });
    this.tail += count;
    if (options.trimPoint !== undefined) this.trimPoint = Math.max(this.trimPoint, options.trimPoint);
  }

  surviving(nowMs: number): SequencedRecord[] {
    return this.records
      .filter((r) => r.record.seqNum >= this.trimPoint && (r.expiresAtMs === null || r.expiresAtMs > nowMs))
      .map((r) => r.record);
  }

  expectedRead(request: Omit<ReadRequest, 'stream'>): Omit<ReadResult, 'list'> {
    const { startSeqNum, endSeqNum, until, maxRecords, maxBytes, nowMs } = request;
    const records: SequencedRecord[] = [];
    let bytes = 0;
    for (const record of this.surviving(nowMs)) {
      if (record.seqNum < startSeqNum) continue;
      if (record.seqNum >= endSeqNum) break;
      if (records.length >= maxRecords) return { records, bytes, stop: 'count' };
      if (until !== undefined && record.timestamp >= until) return { records, bytes, stop: 'until' };
      if (bytes + meteredBytes(record) > maxBytes) return { records, bytes, stop: 'bytes' };
      bytes += meteredBytes(record);
      records.push(record);
    }
    // A read that fills `maxRecords` exactly stops on the count, whatever follows.
    return { records, bytes, stop: records.length >= maxRecords ? 'count' : 'end' };
  }

  expectedSeqForTimestamp(timestamp: bigint, end: number, nowMs: number): number | null {
    return this.surviving(nowMs).find((r) => r.seqNum < end && r.timestamp >= timestamp)?.seqNum ?? null;
  }

  /** Every start position, several limits (records, metered bytes, end, until), two clocks. */
  async check(nows: number[]): Promise<void> {
    for (const nowMs of nows) {
      for (let start = 0; start <= this.tail; start += 7) {
        for (const [maxRecords, maxBytes, endSeqNum, until] of [
          [1_000_000, 1 << 30, this.tail, undefined],
          [7, 1 << 30, this.tail, undefined],
          [1_000_000, 500, this.tail, undefined],
          [1_000_000, 1 << 30, Math.min(this.tail, start + 11), undefined],
          [1_000_000, 1 << 30, this.tail, BigInt(Math.floor(start / 4) * 10 + 30)],
        ] as const) {
          const request = { startSeqNum: start, endSeqNum, until, maxRecords, maxBytes, nowMs };
          const got = await this.log.read({ stream: this.stream, ...request });
          const expected = this.expectedRead(request);
          const what = `start ${start} limits ${maxRecords}/${maxBytes}/${endSeqNum}/${until} now ${nowMs}`;
          expect(seqs(got.records), what).toEqual(seqs(expected.records));
          expect({ bytes: got.bytes, stop: got.stop }, what).toEqual({ bytes: expected.bytes, stop: expected.stop });
          if (maxRecords === 7) expect({ records: got.records, bytes: got.bytes, stop: got.stop }).toEqual(expected);
        }
      }
      const lastTimestamp = Math.floor(this.tail / 4) * 10;
      for (let ts = 0; ts <= lastTimestamp + 10; ts += 15) {
        for (const end of [this.tail, Math.floor(this.tail / 2)]) {
          const got = await this.log.seqNumForTimestamp(this.stream, BigInt(ts), end, nowMs);
          expect(got, `timestamp ${ts} end ${end} now ${nowMs}`).toBe(
            this.expectedSeqForTimestamp(BigInt(ts), end, nowMs),
          );
        }
      }
    }
  }
}

describe('read and seqNumForTimestamp', () => {
  it.each([
    ['one segment per checkpoint', 0],
    ['small segments merged', 1 << 20],
  ])('give the same answers from memory, from segments and from a mix (%s)', async (_name, segmentMergeBytesMax) => {
    const store = new MemoryObjectStore();
    const clock = new ManualClock();
    const base = clock.nowMs();
    const log = await open(store, { clock, segmentMergeBytesMax });
    await log.commit(createStream('s'));
    const model = new Model(log, 's');
    for (let i = 0; i < 30; i++) await model.append(7, { expiresAtMs: i % 3 === 0 ? base + 10_000 : null });
    const nows = [base, base + 20_000];
    await model.check(nows);

    await log.checkpoint();
    expect(log.stats().memoryTailBytes).toBe(0);
    await model.check(nows);

    for (let i = 0; i < 10; i++) await model.append(9, { expiresAtMs: i % 4 === 0 ? base + 15_000 : null });
    await log.checkpoint();
    for (let i = 0; i < 6; i++) await model.append(5);
    await model.check(nows);

    await model.append(1, { trimPoint: 123 });
    await model.check(nows);

    // And the same after recovery.
    const reopened = await open(store, { clock, segmentMergeBytesMax });
    const again = Object.assign(new Model(reopened, 's'), { records: model.records, trimPoint: 123, tail: model.tail });
    await again.check(nows);
  });

  it('finds timestamps above 2^53 and the first of many duplicates', async () => {
    const log = await open(new MemoryObjectStore());
    await log.commit(createStream('s'));
    const base = 1n << 60n;
    await log.commit([makeAppend('s', 0, 40, { timestamp: (seq) => base + BigInt(seq < 20 ? 0 : 1000) })]);
    await log.checkpoint();
    await log.commit([makeAppend('s', 40, 10, { timestamp: () => base + 1000n })]);
    expect(await log.seqNumForTimestamp('s', base, 50, 0)).toBe(0);
    expect(await log.seqNumForTimestamp('s', base + 1n, 50, 0)).toBe(20);
    expect(await log.seqNumForTimestamp('s', base + 1000n, 50, 0)).toBe(20);
    expect(await log.seqNumForTimestamp('s', base + 1001n, 50, 0)).toBe(null);
    expect(await log.seqNumForTimestamp('s', base + 1n, 15, 0)).toBe(null);
    expect(await log.seqNumForTimestamp('unknown', 0n, 50, 0)).toBe(null);
  });

  it('never returns records at or beyond the durable tail or endSeqNum', async () => {
    const store = faulty();
    const log = await open(store);
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 5)]);
    store.faults.add({ op: 'put', mode: 'hold' });
    const pending = log.commit([makeAppend('s', 5, 5)]);
    await new Promise((resolve) => setImmediate(resolve));
    expect(seqs((await log.read(readAll('s', 100))).records)).toEqual([0, 1, 2, 3, 4]);
    expect(seqs((await log.read(readAll('s', 3))).records)).toEqual([0, 1, 2]);
    expect(await log.seqNumForTimestamp('s', 50n, 100, 0)).toBe(null);
    store.release();
    await pending;
    expect(await log.seqNumForTimestamp('s', 50n, 100, 0)).toBe(5);
  });
});

describe('trim, retention and deletion', () => {
  it('GC deletes segments entirely below the trim point (and tells the segment cache), and reads skip trimmed records', async () => {
    const store = faulty();
    const log = await open(store, { segmentMergeBytesMax: 0 });
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 100)]);
    await log.checkpoint();
    await log.commit([makeAppend('s', 100, 100)]);
    await log.checkpoint();
    const segments = (await store.list('segment/')).map((o) => o.key);
    expect(segments.length).toBe(2);

    const forget = vi.spyOn(SegmentCache.prototype, 'forget');
    try {
      await log.commit([makeAppend('s', 200, 1, { trimPoint: 150 })]);
      expect(seqs((await log.read(readAll('s', 201))).records)[0]).toBe(150);
      await log.collectGarbage();
      expect(forget.mock.calls).toEqual([[[segments[0]]]]);
    } finally {
      forget.mockRestore();
    }
    expect((await store.list('segment/')).map((o) => o.key)).toEqual([segments[1]]);
    store.calls.length = 0;
    expect(seqs((await log.read(readAll('s', 201))).records)[0]).toBe(150);
    expect(store.calls.some((c) => c.key === segments[0])).toBe(false);
    expect(await log.seqNumForTimestamp('s', 0n, 201, 0)).toBe(150);

    const reopened = await open(store);
    expect(reopened.recovered().streams[0].trimPoint).toBe(150);
    expect(seqs((await reopened.read(readAll('s', 201))).records)).toEqual(range(150, 201));
  });

  it('hides expired records and GC deletes segments whose records all expired', async () => {
    const clock = new ManualClock();
    const store = new MemoryObjectStore();
    const log = await open(store, { clock, gcIntervalMs: 1_000_000, segmentMergeBytesMax: 0 });
    await log.commit(createStream('s'));
    const now = clock.nowMs();
    await log.commit([makeAppend('s', 0, 10, { expiresAtMs: now + 5_000 })]);
    await log.checkpoint();
    await log.commit([makeAppend('s', 10, 10, { expiresAtMs: null })]);
    await log.checkpoint();
    expect(seqs((await log.read(readAll('s', 20, now))).records)).toEqual(range(0, 20));
    expect(seqs((await log.read(readAll('s', 20, now + 5_000))).records)).toEqual(range(10, 20));
    await log.collectGarbage();
    expect((await store.list('segment/')).length).toBe(2);
    await clock.advance(5_000);
    await log.collectGarbage();
    expect((await store.list('segment/')).length).toBe(1);
    expect(seqs((await log.read(readAll('s', 20, now + 5_000))).records)).toEqual(range(10, 20));
  });

  it('stream.delete purges records, metadata and segment objects', async () => {
    const store = new MemoryObjectStore();
    const log = await open(store);
    await log.commit([...createStream('gone'), ...createStream('kept').slice(1)]);
    await log.commit([makeAppend('gone', 0, 30), makeAppend('kept', 0, 3)]);
    await log.checkpoint();
    await log.commit([makeAppend('gone', 30, 5)]);
    await log.commit([{ kind: 'stream.delete', stream: 'gone' }]);
    expect((await log.read(readAll('gone', 35))).records).toEqual([]);
    expect(await log.seqNumForTimestamp('gone', 0n, 35, 0)).toBe(null);
    await log.collectGarbage();
    expect((await store.list('segment/gone/')).length).toBe(0);
    expect((await store.list('segment/kept/')).length).toBe(1);
    const reopened = await open(store);
    expect(reopened.recovered().streams.map((s) => s.id)).toEqual(['kept']);
    expect((await reopened.read(readAll('gone', 35))).records).toEqual([]);
  });

  it('a read that races with GC deleting its segment treats the records as trimmed', async () => {
    const store = faulty();
    const log = await open(store);
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 50)]);
    await log.checkpoint();
    await log.commit([makeAppend('s', 50, 10)]);
    const hold = store.faults.add({ op: 'get', prefix: 'segment/', mode: 'hold' });
    const read = log.read(readAll('s', 60));
    await new Promise((resolve) => setImmediate(resolve));
    expect(store.held.length).toBe(1);
    hold.remove();
    await log.commit([makeAppend('s', 60, 1, { trimPoint: 55 })]);
    await log.collectGarbage();
    expect((await store.list('segment/')).length).toBe(0);
    store.release();
    expect(seqs((await read).records)).toEqual(range(55, 60));
  });

  it('keeps a last segment that is small only because it compressed well: merges are bounded by raw bytes', async () => {
    const store = new MemoryObjectStore();
    const log = await open(store, { segmentMergeBytesMax: 8_000, compressMinBytes: 64 });
    await log.commit(createStream('s'));
    // 40 KB of bodies that zstd squeezes to a few hundred bytes per block.
    const compressible = makeAppend('s', 0, 20);
    compressible.records = compressible.records.map((r) => ({ ...r, body: new Uint8Array(2_000).fill(97) }));
    await log.commit([compressible]);
    await log.checkpoint();
    const [first] = await store.list('segment/');
    expect(first!.size).toBeLessThan(8_000); // small on the store, 40 KB of records

    await log.commit([makeAppend('s', 20, 1)]);
    await log.checkpoint();
    await log.collectGarbage();
    // Rewriting it would cost 40 KB of encoding per checkpoint for one new record.
    const segments = (await store.list('segment/')).map((o) => o.key);
    expect(segments).toHaveLength(2);
    expect(segments[0]).toBe(first!.key);
    const read = (await log.read(readAll('s', 21))).records;
    expect(seqs(read)).toEqual(range(0, 21));
    expect(read[3]!.body).toEqual(compressible.records[3]!.body);
  });

  it('a slow stream of compressible records gets a new segment per segmentMergeBytesMax of raw bytes', async () => {
    // Neither one segment rewritten whole at every checkpoint (stored size alone), nor a segment per
    // checkpoint once the last one is kept: the segment kept full by raw bytes is followed by a new
    // small one that the next checkpoints merge into until it is full too.
    const store = new MemoryObjectStore();
    const log = await open(store, { segmentMergeBytesMax: 8_000, compressMinBytes: 64 });
    await log.commit(createStream('s'));
    const bodies: Uint8Array[] = [];
    for (let i = 0; i < 20; i++) {
      const append = makeAppend('s', i, 1);
      append.records = append.records.map((r) => ({ ...r, body: new Uint8Array(2_000).fill(97 + (i % 26)) }));
      bodies.push(append.records[0]!.body);
      await log.commit([append]);
      await log.checkpoint();
    }
    await log.collectGarbage();
    const segments = await store.list('segment/');
    // 20 records of ~2 KB raw: 4 per segment (5 segments) before its raw bytes reach 8 KB; each ~460 B stored.
    expect(segments.length).toBeGreaterThanOrEqual(4);
    expect(segments.length).toBeLessThanOrEqual(7);
    expect(segments.every((s) => s.size < 8_000)).toBe(true);
    const read = (await log.read(readAll('s', 20))).records;
    expect(seqs(read)).toEqual(range(0, 20));
    expect(read.map((r) => r.body)).toEqual(bodies);
  });

  it('rewrites a small last segment with new records instead of adding segments', async () => {
    const memory = new MemoryObjectStore();
    const store = faulty(memory);
    const log = await open(store, { segmentMergeBytesMax: 2_000, blockCacheBytes: 0 });
    await log.commit(createStream('s'));
    for (let i = 0; i < 12; i++) {
      await log.commit([makeAppend('s', i * 4, 4)]);
      await log.checkpoint();
    }
    await log.collectGarbage();
    const segments = await store.list('segment/');
    // Each segment grew until it passed 2000 bytes, then a new one started.
    expect(segments.length).toBeGreaterThan(1);
    expect(segments.length).toBeLessThan(6);
    expect(segments.slice(0, -1).every((s) => s.size >= 2_000)).toBe(true);
    expect(seqs((await log.read(readAll('s', 48))).records)).toEqual(range(0, 48));

    // A read holding a reference to a segment that a merge replaces finds the records in the new one.
    await log.commit([makeAppend('s', 48, 1)]);
    await log.checkpoint();
    await log.collectGarbage();
    const last = (await store.list('segment/')).at(-1)!.key;
    const hold = store.faults.add({ op: 'get', prefix: last, mode: 'hold' });
    const read = log.read({ ...readAll('s', 50), startSeqNum: 48 });
    for (let i = 0; i < 20 && store.held.length === 0; i++) await new Promise((resolve) => setImmediate(resolve));
    expect(store.held.length).toBe(1);
    hold.remove();
    await log.commit([makeAppend('s', 49, 1)]);
    await log.checkpoint();
    await log.collectGarbage();
    expect(await store.head(last)).toBeNull();
    store.release();
    expect(seqs((await read).records)).toEqual([48, 49]);
    const reopened = await open(memory);
    expect(seqs((await reopened.read(readAll('s', 50))).records)).toEqual(range(0, 50));
  });

  it('GC deletes folded chunks and keeps only the newest manifests', async () => {
    const store = new MemoryObjectStore();
    const log = await open(store, { manifestsKept: 2 });
    await log.commit(createStream('s'));
    for (let i = 0; i < 5; i++) {
      await log.commit([makeAppend('s', i, 1)]);
      await log.checkpoint();
    }
    await log.collectGarbage();
    const chunks = (await collectableChunks(store)).length;
    expect(chunks).toBe(0);
    expect((await store.list('manifest/')).map((o) => o.key)).toEqual([
      'manifest/00000000000000000005',
      'manifest/00000000000000000006',
    ]);
    await log.commit([makeAppend('s', 5, 1)]);
    const reopened = await open(store);
    expect(seqs((await reopened.read(readAll('s', 6))).records)).toEqual(range(0, 6));
  });

  it('keeps large snapshots in their own object and deletes unreferenced ones', async () => {
    const store = new MemoryObjectStore();
    const log = await open(store, { manifestInlineBytesMax: 100, manifestsKept: 1 });
    await log.commit(createStream('s'));
    for (let i = 0; i < 3; i++) {
      await log.commit([makeAppend('s', i, 1)]);
      await log.checkpoint();
    }
    await log.collectGarbage();
    expect((await store.list('snapshot/')).length).toBe(1);
    const reopened = await open(store, { manifestInlineBytesMax: 100 });
    expect(reopened.recovered().streams[0].tail.seqNum).toBe(3);
    expect(seqs((await reopened.read(readAll('s', 3))).records)).toEqual([0, 1, 2]);
  });
});

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
