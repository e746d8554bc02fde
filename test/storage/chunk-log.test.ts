/**
 * ChunkLog behaviour on the in-memory store: ordering and durability of commits (puts held by
 * FaultyObjectStore until the test releases them), group commit, barriers, recovery of the exact committed
 * state, and reads that give identical answers from the memory tail and from segments.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ChunkLog, type ChunkLogOptions } from '../../src/storage/chunk-log.js';
import { chunkKey } from '../../src/storage/names.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import type { StreamLog } from '../../src/storage/types.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import { basinMeta, createStream, faulty, makeAppend, readAll, readRange, seqs, streamMeta } from './helpers.js';

const opened: StreamLog[] = [];

async function open(store: ObjectStore, options: ChunkLogOptions = {}): Promise<ChunkLog> {
  const log = await ChunkLog.open(store, { clock: new ManualClock(), rand: seededRand(opened.length + 1), ...options });
  opened.push(log);
  return log;
}

afterEach(async () => {
  // A failed test may leave puts held forever: do not let closing hang the suite.
  for (const log of opened.splice(0)) await Promise.race([log.close(), new Promise((r) => setTimeout(r, 1_000))]);
});

/** Lets queued promise callbacks and I/O callbacks run. */
async function tick(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('commit', () => {
  it('resolves commits in submission order, only once their chunk and all earlier ones are durable', async () => {
    const store = faulty();
    const log = await open(store);
    await log.commit(createStream('s'));
    store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'hold' });
    const order: string[] = [];
    const first = log.commit([makeAppend('s', 0, 1)]).then(() => order.push('first'));
    await tick();
    const second = log.commit([makeAppend('s', 1, 1)]).then(() => order.push('second'));
    await tick();
    expect(store.held.map((h) => h.key)).toEqual([chunkKey(3), chunkKey(4)]);

    store.release((call) => call.key === chunkKey(4));
    await tick();
    expect(order).toEqual([]);
    expect((await log.read(readAll('s', 2))).records).toEqual([]);

    store.release();
    await Promise.all([first, second]);
    expect(order).toEqual(['first', 'second']);
    expect(seqs((await log.read(readAll('s', 2))).records)).toEqual([0, 1]);
  });

  it('puts every commit submitted during a flush into the next chunk (group commit)', async () => {
    const store = faulty();
    const log = await open(store, { chunksInFlightMax: 1 });
    await log.commit(createStream('s'));
    const hold = store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'hold' });
    const all = [log.commit([makeAppend('s', 0, 1)])];
    await tick();
    hold.remove();
    for (let seq = 1; seq < 50; seq++) all.push(log.commit([makeAppend('s', seq, 1)]));
    await tick();
    store.release();
    await Promise.all(all);
    const chunkPuts = store.calls.filter((c) => c.op === 'put' && c.key.startsWith('chunk/'));
    // fence, stream creation, the first append, then one chunk for the 49 that waited.
    expect(chunkPuts.length).toBe(4);
    expect(seqs((await log.read(readAll('s', 50))).records)).toEqual(range(0, 50));
  });

  it('seals a chunk early at chunkBytesMax and keeps order across chunks', async () => {
    const store = faulty();
    const log = await open(store, { chunkBytesMax: 4096, chunksInFlightMax: 2 });
    await log.commit(createStream('s'));
    const all = range(0, 100).map((seq) => log.commit([makeAppend('s', seq * 5, 5)]));
    await Promise.all(all);
    expect(store.calls.filter((c) => c.op === 'put' && c.key.startsWith('chunk/')).length).toBeGreaterThan(5);
    expect(seqs((await log.read(readAll('s', 500))).records)).toEqual(range(0, 500));
  });

  it('spends the flush budget: a burst at once, then one flush per interval', async () => {
    const clock = new ManualClock();
    const log = await open(new MemoryObjectStore(), { clock, flushIntervalMs: 50, flushBurst: 2 });
    await log.commit(createStream('s')); // first token
    await log.commit([makeAppend('s', 0, 1)]); // second token
    let done = false;
    const next = log.commit([makeAppend('s', 1, 1)]).then(() => (done = true));
    await tick();
    expect(done).toBe(false);
    await clock.advance(50);
    await next;
  });

  it('flushes a lone sequential writer at once, and makes concurrent writers share flushes again', async () => {
    const clock = new ManualClock();
    const store = faulty(new MemoryObjectStore(), clock);
    const log = await open(store, { clock, flushIntervalMs: 50, flushBurst: 1 });
    await log.commit(createStream('s')); // the token
    // Out of tokens: this one waits, and its wait gathers nothing else...
    const waited = log.commit([makeAppend('s', 0, 1)]);
    await tick();
    await clock.advance(50);
    await waited;
    // ...so the next, on an idle log, goes at once although no token has come back.
    await clock.advance(10);
    await log.commit([makeAppend('s', 1, 1)]);
    // A commit arriving while another is being written: two writers, waiting pays off again.
    store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'hold', times: 1 });
    const first = log.commit([makeAppend('s', 2, 1)]);
    await tick();
    expect(store.held.length).toBe(1);
    let secondDone = false;
    const second = log.commit([makeAppend('s', 3, 1)]).then(() => (secondDone = true));
    store.release();
    await first;
    await tick();
    expect(secondDone).toBe(false);
    await clock.advance(50);
    await second;
  });

  it('keeps chunk puts at one per flush interval under sustained concurrent commits', async () => {
    const clock = new ManualClock();
    const store = faulty(new MemoryObjectStore(), clock);
    const log = await open(store, { clock, flushIntervalMs: 50, flushBurst: 4 });
    await log.commit(createStream('s'));
    const before = store.calls.filter((c) => c.op === 'put' && c.key.startsWith('chunk/')).length;
    const commits: Promise<void>[] = [];
    let seq = 0;
    for (let ms = 0; ms < 1_000; ms += 5) {
      for (let i = 0; i < 3; i++) commits.push(log.commit([makeAppend('s', seq++, 1)]));
      await tick();
      await clock.advance(5);
    }
    await clock.advance(100);
    await Promise.all(commits);
    const puts = store.calls.filter((c) => c.op === 'put' && c.key.startsWith('chunk/')).length - before;
    // 1 s at one flush per 50 ms, plus the burst (3 tokens left after the stream's creation).
    expect(puts).toBeLessThanOrEqual(20 + 3 + 1);
    expect(puts).toBeGreaterThanOrEqual(15);
    expect(seqs((await log.read(readAll('s', seq))).records)).toEqual(range(0, seq));
  });

  it('resolves a barrier once everything before it is durable', async () => {
    const store = faulty();
    const log = await open(store);
    await log.barrier();
    await log.commit(createStream('s'));
    store.faults.add({ op: 'put', mode: 'hold' });
    let committed = false;
    let barrier = false;
    void log.commit([makeAppend('s', 0, 1)]).then(() => (committed = true));
    const done = log.barrier().then(() => (barrier = true));
    await tick();
    expect([committed, barrier]).toEqual([false, false]);
    store.release();
    await done;
    expect(committed).toBe(true);
    expect(await log.commit([])).toBeUndefined();
  });

  it('reports submitted commits durable by ordinal, in order, once their records are readable', async () => {
    const store = faulty();
    const log = await open(store);
    const heard: string[] = [];
    const reads: Promise<number[]>[] = [];
    log.subscribe({
      durableThrough: (ordinal) => {
        heard.push(`durable ${ordinal}`);
        // Started inside the callback: the records are applied before anyone hears of them.
        reads.push(log.read(readAll('s', 3)).then((r) => seqs(r.records)));
      },
      failed: (error) => heard.push(`failed ${error.kind}`),
    });
    expect(log.submit(createStream('s'))).toBe(1);
    await log.barrier();
    store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'hold' });
    expect(log.submit([makeAppend('s', 0, 1)])).toBe(2);
    await tick();
    expect(log.submit([makeAppend('s', 1, 2)])).toBe(3);
    await tick();
    expect(store.held.map((h) => h.key)).toEqual([chunkKey(3), chunkKey(4)]);
    store.release((call) => call.key === chunkKey(4)); // a later chunk lands first: nothing to report
    await tick();
    expect(heard).toEqual(['durable 1']);
    store.release();
    await log.barrier();
    expect(heard).toEqual(['durable 1', 'durable 2', 'durable 3']);
    expect(await Promise.all(reads)).toEqual([[], [0], [0, 1, 2]]);
    await log.close();
    await log.close();
    expect(heard.at(-1)).toBe('failed closed');
    expect(heard.filter((h) => h.startsWith('failed'))).toHaveLength(1);
    expect(() => log.submit([makeAppend('s', 3, 1)])).toThrow(expect.objectContaining({ kind: 'closed' }));
  });

  it('rejects commits after close, and close flushes what was pending', async () => {
    const store = new MemoryObjectStore();
    const log = await open(store);
    await log.commit(createStream('s'));
    const pending = log.commit([makeAppend('s', 0, 3)]);
    await log.close();
    await pending;
    await expect(log.commit([makeAppend('s', 3, 1)])).rejects.toMatchObject({ kind: 'closed' });
    expect(log.status()).toMatchObject({ ok: false, error: { kind: 'closed', message: 'the stream log is closed' } });
    const reopened = await open(store);
    expect(reopened.recovered().streams[0].tail.seqNum).toBe(3);
  });
});

describe('recovery', () => {
  it('recovers exactly the committed state: basins, streams, tails, tokens, trim points, write times, records', async () => {
    const store = new MemoryObjectStore();
    const log = await open(store);
    await log.commit([...createStream('s1', 'basin-one'), ...createStream('s3', 'basin-two').slice(1)]);
    await log.commit([{ kind: 'basin.put', basin: 'basin-two', meta: basinMeta(7) }]);
    await log.commit([{ kind: 'stream.put', stream: 's2', basin: 'basin-one', name: 'two', meta: streamMeta(1_500) }]);
    await Promise.all([
      log.commit([makeAppend('s1', 0, 10, { fencingToken: 'tok', writtenAtMs: 5_000 })]),
      log.commit([makeAppend('s2', 0, 5, { writtenAtMs: 5_100 })]),
      log.commit([makeAppend('s2', 5, 1, { trimPoint: 3, writtenAtMs: 5_200 })]),
      log.commit([
        { kind: 'stream.delete', stream: 's3' },
        { kind: 'basin.delete', basin: 'basin-two' },
      ]),
      log.commit([{ kind: 'stream.put', stream: 's1', basin: 'basin-one', name: 's1', meta: streamMeta(999) }]),
    ]);
    const expected = {
      basins: new Map([['basin-one', basinMeta()]]),
      streams: [
        {
          id: 's1',
          basin: 'basin-one',
          name: 's1',
          meta: streamMeta(999),
          tail: { seqNum: 10, timestamp: 90n },
          fencingToken: 'tok',
          trimPoint: 0,
          lastWriteMs: 5_000,
        },
        {
          id: 's2',
          basin: 'basin-one',
          name: 'two',
          meta: streamMeta(1_500),
          tail: { seqNum: 6, timestamp: 50n },
          fencingToken: '',
          trimPoint: 3,
          lastWriteMs: 5_200,
        },
      ],
      // No access tokens were issued (test/auth/storage.test.ts recovers those).
      accessTokens: new Map(),
      rootTokenHash: null,
    };
    const reopened = await open(store);
    expect(reopened.recovered()).toEqual(expected);
    expect(seqs((await reopened.read(readAll('s1', 10))).records)).toEqual(range(0, 10));
    expect(seqs((await reopened.read(readAll('s2', 6))).records)).toEqual([3, 4, 5]);
    expect((await reopened.read(readAll('s3', 10))).records).toEqual([]);

    // The same after a checkpoint folded everything, and again with more chunks on top.
    await reopened.checkpoint();
    await reopened.commit([makeAppend('s1', 10, 2, { writtenAtMs: 6_000 })]);
    const third = await open(store);
    expect(third.recovered().streams[0]).toMatchObject({
      tail: { seqNum: 12 },
      lastWriteMs: 6_000,
      fencingToken: 'tok',
    });
    expect(third.recovered().streams[1]).toEqual(expected.streams[1]);
    expect(seqs(await readRange(third, 's1', 0, 12))).toEqual(range(0, 12));
    expect(await readRange(third, 's1', 0, 12)).toEqual(await readRange(reopened, 's1', 0, 12));
  });

  it('starts empty on an empty store and survives repeated reopening', async () => {
    const store = new MemoryObjectStore();
    for (let i = 0; i < 5; i++) {
      const log = await open(store);
      expect(log.recovered().streams.length).toBe(i === 0 ? 0 : 1);
      if (i === 0) await log.commit(createStream('s'));
      await log.commit([makeAppend('s', i, 1)]);
      if (i % 2 === 1) await log.checkpoint();
      await log.close();
    }
    const last = await open(store);
    expect(seqs(await readRange(last, 's', 0, 5))).toEqual(range(0, 5));
    expect(last.epoch).toBe(6);
  });
});

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
