/**
 * Object-store faults: a slow store, lost responses after successful puts (resolved by put-id),
 * transient errors and 409 conflicts that clear (alone and mixed at random), persistent failures (commits rejected, log marked failed, nothing acknowledged on
 * top of a chunk of unknown fate), fatal errors (missing bucket, full disk) with clear messages,
 * a crash between segment puts and the manifest put, and corrupt objects.
 */
import { afterEach, describe, expect, it } from 'vitest';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import { ChunkLog, type ChunkLogOptions } from '../../src/storage/chunk-log.js';
import type { StorageError } from '../../src/storage/errors.js';
import { chunkKey } from '../../src/storage/names.js';
import { ManualClock } from '../../src/util/clock.js';
import { seededRand } from '../../src/util/rand.js';
import type { SequencedRecord } from '../../src/domain/types.js';
import { createStream, faulty, makeAppend, readAll, readRange, seqs } from './helpers.js';

const opened: ChunkLog[] = [];
let seed = 200;

async function open(store: ObjectStore, options: ChunkLogOptions = {}): Promise<ChunkLog> {
  const log = await ChunkLog.open(store, { clock: new ManualClock(), rand: seededRand(seed++), ...options });
  opened.push(log);
  return log;
}

afterEach(async () => {
  for (const log of opened.splice(0)) await Promise.race([log.close(), new Promise((r) => setTimeout(r, 1_000))]);
});

/** Advances the manual clock (retry backoffs) until `promise` settles. */
async function settle<T>(clock: ManualClock, promise: Promise<T>): Promise<T> {
  let done = false;
  promise.then(
    () => (done = true),
    () => (done = true),
  );
  for (let i = 0; i < 2_000 && !done; i++) await clock.advance(50);
  return promise;
}

async function tick(): Promise<void> {
  for (let i = 0; i < 20; i++) await new Promise<void>((resolve) => setImmediate(resolve));
}

describe('chunk put faults', () => {
  it('a lost response after a successful put is recognised by put-id', async () => {
    const memory = new MemoryObjectStore();
    const store = faulty(memory);
    const log = await open(store);
    await log.commit(createStream('s'));
    const lost = store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'lost-response', times: 1 });
    await log.commit([makeAppend('s', 0, 3)]);
    expect(lost.fired).toBe(1);
    expect(store.calls.filter((c) => c.op === 'head' && c.key.startsWith('chunk/')).length).toBe(1);
    await log.commit([makeAppend('s', 3, 1)]);
    const reopened = await open(memory);
    expect(seqs((await reopened.read(readAll('s', 4))).records)).toEqual([0, 1, 2, 3]);
  });

  it('a lost response whose retry meets our own object (PreconditionFailed) succeeds', async () => {
    const clock = new ManualClock();
    const store = faulty();
    const log = await open(store, { clock });
    await log.commit(createStream('s'));
    store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'lost-response', times: 1 });
    store.faults.add({ op: 'head', prefix: 'chunk/', mode: 'fail', times: 1 }); // cannot check at once: retry the put
    await settle(clock, log.commit([makeAppend('s', 0, 1)]));
    expect(log.status().ok).toBe(true);
  });

  it('transient errors that clear within the retry budget only delay the commit', async () => {
    const clock = new ManualClock();
    const store = faulty();
    const log = await open(store, { clock });
    await log.commit(createStream('s'));
    store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'fail', times: 4 });
    await settle(clock, log.commit([makeAppend('s', 0, 2)]));
    expect(seqs((await log.read(readAll('s', 2))).records)).toEqual([0, 1]);
    expect(log.status().ok).toBe(true);
  });

  it('a persistent failure rejects the commit and everything after it, and marks the log failed', async () => {
    const clock = new ManualClock();
    const memory = new MemoryObjectStore();
    const store = faulty(memory);
    const log = await open(store, { clock, storeRetryTimeoutMs: 2_000 });
    const failures: StorageError[] = [];
    log.subscribe({ durableThrough: () => {}, failed: (error) => failures.push(error) });
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 1)]);
    // Only chunk 4 fails; chunk 5 (the next commit) is written fine but must not be acknowledged.
    store.faults.add({ op: ['put', 'head'], prefix: chunkKey(4), mode: 'fail' });
    const doomed = log.commit([makeAppend('s', 1, 1)]);
    await tick();
    const after = log.commit([makeAppend('s', 2, 1)]);
    const results = await settle(clock, Promise.allSettled([doomed, after]));
    expect(results.map((r) => r.status)).toEqual(['rejected', 'rejected']);
    expect((results[0] as PromiseRejectedResult).reason).toMatchObject({ kind: 'failed', message: /chunk 4/ });
    expect(await memory.head(chunkKey(5))).not.toBeNull();
    expect(log.status()).toMatchObject({ ok: false, error: { kind: 'failed', message: /storage failure: chunk 4/ } });
    expect(failures.length).toBe(1);
    await expect(log.commit([makeAppend('s', 1, 1)])).rejects.toMatchObject({ kind: 'failed' });
    expect(seqs((await log.read(readAll('s', 3))).records)).toEqual([0]);

    const reopened = await open(memory);
    expect(reopened.recovered().streams[0].tail.seqNum).toBe(1);
    await reopened.commit([makeAppend('s', 1, 1)]);
    expect(seqs((await (await open(memory)).read(readAll('s', 3))).records)).toEqual([0, 1]);
  });

  it('a fatal store error (missing bucket, full disk) rejects at once with the store message', async () => {
    const store = faulty();
    const log = await open(store);
    await log.commit(createStream('s'));
    store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'fatal', times: 1 });
    await expect(log.commit([makeAppend('s', 0, 1)])).rejects.toMatchObject({
      kind: 'failed',
      message: /injected: fatal error/,
    });
    expect(log.status().ok).toBe(false);
  });
});

describe('a misbehaving store loses and duplicates no acknowledged record', () => {
  /**
   * Submits `count` appends to `stream` from seq_num `first` (1 to 3 records each) without waiting,
   * advancing the clock until all settle. Returns the order in which they resolved and their records.
   */
  async function pipeline(clock: ManualClock, log: ChunkLog, stream: string, first: number, count: number) {
    const acked: number[] = [];
    const records: SequencedRecord[] = [];
    const commits: Promise<unknown>[] = [];
    let next = first;
    for (let i = 0; i < count; i++) {
      const append = makeAppend(stream, next, 1 + (i % 3));
      next += append.records.length;
      records.push(...append.records);
      commits.push(log.commit([append]).then(() => acked.push(i)));
      if (i % 4 === 3) await tick(); // let chunks seal between submissions, so several are in flight
    }
    await settle(clock, Promise.all(commits));
    return { acked, records, next };
  }

  /** A fresh log on the bare store recovers exactly `records`: each once, in order, same content. */
  async function expectRecovered(memory: MemoryObjectStore, stream: string, records: SequencedRecord[]) {
    const log = await open(memory);
    const recovered = log.recovered().streams.find((s) => s.id === stream);
    expect(recovered?.tail.seqNum).toBe(records.length);
    expect(await readRange(log, stream, 0, records.length)).toEqual(records);
  }

  it('a slow store (latency on puts) delays acknowledgements but never reorders them', async () => {
    const clock = new ManualClock();
    const memory = new MemoryObjectStore();
    const store = faulty(memory, clock, 7);
    // A few commits per chunk at most (chunkBytesMax is the minimum), eight chunks in flight.
    const log = await open(store, { clock, chunkBytesMax: 1024, chunksInFlightMax: 8 });
    await log.commit(createStream('s'));
    // About half the chunk puts take 30x longer: later chunks often land before earlier ones.
    const slow = store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'latency', latencyMs: 300, probability: 0.5 });
    store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'latency', latencyMs: 10 });
    const { acked, records } = await pipeline(clock, log, 's', 0, 40);
    expect(slow.fired).toBeGreaterThan(2); // some chunks were slow, and some not
    expect(slow.matched - slow.fired).toBeGreaterThan(2);
    expect(acked).toEqual(range(0, 40));
    expect(log.status().ok).toBe(true);
    expect(await readRange(log, 's', 0, records.length)).toEqual(records);
    await expectRecovered(memory, 's', records);
  });

  it('409 conflicts on a chunk put are retried; the chunk is written once', async () => {
    const clock = new ManualClock();
    const memory = new MemoryObjectStore();
    const store = faulty(memory, clock);
    const log = await open(store, { clock });
    await log.commit(createStream('s'));
    const conflict = store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'conflict', times: 2 });
    await settle(clock, log.commit([makeAppend('s', 0, 3)]));
    expect(conflict.fired).toBe(2);
    expect(store.calls.filter((c) => c.op === 'put' && c.key === chunkKey(3))).toHaveLength(3);
    await log.commit([makeAppend('s', 3, 1)]);
    await expectRecovered(memory, 's', [...makeAppend('s', 0, 3).records, ...makeAppend('s', 3, 1).records]);
  });

  it('random 503s, 409s, lost responses and latency on every operation, through checkpoints and GC', async () => {
    const clock = new ManualClock();
    const memory = new MemoryObjectStore();
    const store = faulty(memory, clock, 11);
    const log = await open(store, {
      clock,
      chunkBytesMax: 1024,
      chunksInFlightMax: 4,
      checkpointChunks: 2, // commits group into fewer chunks now; keep checkpoints frequent
      gcIntervalMs: 500,
      manifestPollIntervalMs: 200,
    });
    await log.commit([...createStream('a'), ...createStream('b').slice(1)]);
    const rules = [
      store.faults.add({ mode: 'latency', latencyMs: 40, probability: 0.3 }),
      store.faults.add({ op: 'put', mode: 'lost-response', probability: 0.15 }),
      store.faults.add({ op: 'put', mode: 'conflict', probability: 0.1 }),
      store.faults.add({ mode: 'fail', probability: 0.15 }),
    ];
    const a = await pipeline(clock, log, 'a', 0, 60);
    const b = await pipeline(clock, log, 'b', 0, 30);
    const more = await pipeline(clock, log, 'a', a.next, 30);
    for (const rule of rules) expect(rule.fired).toBeGreaterThan(3);
    expect(a.acked).toEqual(range(0, 60));
    expect(log.status().ok).toBe(true);
    expect(log.stats().manifestId).toBeGreaterThan(2); // checkpoints happened despite the faults
    store.faults.clear();
    const recordsA = [...a.records, ...more.records];
    expect(await readRange(log, 'a', 0, recordsA.length)).toEqual(recordsA);
    await expectRecovered(memory, 'a', recordsA);
    await expectRecovered(memory, 'b', b.records);
  });
});

describe('open faults', () => {
  it('fails with a clear error when the store refuses (e.g. missing bucket)', async () => {
    const store = faulty();
    store.faults.add({ op: 'list', mode: 'fatal', times: 1 });
    await expect(open(store)).rejects.toMatchObject({
      kind: 'failed',
      message: /cannot open the stream log on faulty\(memory\): list manifests .*injected: fatal error/,
    });
  });

  it('gives up after the retry budget when the store stays unreachable', async () => {
    const clock = new ManualClock();
    const store = faulty();
    store.faults.add({ op: 'list', mode: 'fail' });
    await expect(settle(clock, open(store, { clock, storeRetryTimeoutMs: 1_000 }))).rejects.toMatchObject({
      kind: 'failed',
      message: /cannot open the stream log/,
    });
  });

  it('detects a corrupt chunk and refuses to open rather than skip it', async () => {
    const memory = new MemoryObjectStore();
    const log = await open(memory);
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 5)]);
    await log.close();
    const bytes = Uint8Array.from(await memory.get(chunkKey(3)));
    bytes[bytes.length - 3] ^= 1;
    await memory.put(chunkKey(3), bytes);
    const error = (await open(memory).catch((e: unknown) => e)) as StorageError;
    expect(error.kind).toBe('corrupt');
    expect(error.message).toBe('cannot open the stream log on memory: corrupt data: chunk 3: body checksum mismatch');
  });

  it('reports a corrupt segment block on read as a storage error', async () => {
    const memory = new MemoryObjectStore();
    const log = await open(memory, { compressMinBytes: 1 << 30 });
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 5)]);
    await log.checkpoint();
    const [segment] = await memory.list('segment/');
    const bytes = Uint8Array.from(await memory.get(segment.key));
    bytes[10] ^= 1;
    await memory.put(segment.key, bytes);
    const error = (await log.read(readAll('s', 5)).catch((e: unknown) => e)) as StorageError;
    expect(error.kind).toBe('corrupt');
    expect(error.message).toMatch(/checksum/);
  });
});

describe('checkpoint faults', () => {
  it('a crash between segment puts and the manifest put loses nothing; orphan segments are never read and get deleted', async () => {
    const memory = new MemoryObjectStore();
    const store = faulty(memory);
    const log = await open(store);
    await log.commit([...createStream('a'), ...createStream('b').slice(1)]);
    await log.commit([makeAppend('a', 0, 20), makeAppend('b', 0, 7)]);
    await log.commit([makeAppend('a', 20, 5, { trimPoint: 3 })]);
    store.faults.add({ op: 'put', prefix: 'manifest/', mode: 'hold' });
    void log.checkpoint().catch(() => {});
    await tick();
    expect(store.held.map((h) => h.key)).toEqual(['manifest/00000000000000000002']);
    const orphans = (await memory.list('segment/')).map((o) => o.key);
    expect(orphans.length).toBe(2);
    store.crash();

    const reopened = await open(memory);
    expect(reopened.recovered().streams.map((s) => [s.id, s.tail.seqNum, s.trimPoint])).toEqual([
      ['a', 25, 3],
      ['b', 7, 0],
    ]);
    expect(seqs((await reopened.read(readAll('a', 25))).records)).toEqual(range(3, 25));
    expect(seqs((await reopened.read(readAll('b', 7))).records)).toEqual(range(0, 7));
    await reopened.collectGarbage(); // runs after the orphan sweep queued at open
    expect((await memory.list('segment/')).length).toBe(0);
    await reopened.checkpoint();
    expect(seqs((await reopened.read(readAll('a', 25))).records)).toEqual(range(3, 25));
    const third = await open(memory);
    expect(seqs((await third.read(readAll('b', 7))).records)).toEqual(range(0, 7));
  });

  it('a crash after the manifest but before chunk GC recovers from the manifest without replaying folded chunks twice', async () => {
    const memory = new MemoryObjectStore();
    const store = faulty(memory);
    const log = await open(store);
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 10)]);
    store.faults.add({ op: 'list', prefix: 'chunk/', mode: 'hold' });
    void log.checkpoint().catch(() => {});
    await tick();
    store.crash();
    expect((await memory.list('chunk/')).length).toBeGreaterThan(0);
    const reopened = await open(memory);
    expect(seqs((await reopened.read(readAll('s', 10))).records)).toEqual(range(0, 10));
    expect(reopened.recovered().streams[0].tail.seqNum).toBe(10);
  });

  it('a failing segment put fails the checkpoint, not the log; a later checkpoint succeeds', async () => {
    const clock = new ManualClock();
    const memory = new MemoryObjectStore();
    const store = faulty(memory);
    const log = await open(store, { clock, storeRetryTimeoutMs: 500 });
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 10)]);
    store.faults.add({ op: 'put', prefix: 'segment/', mode: 'fail' });
    await expect(settle(clock, log.checkpoint())).rejects.toThrow(/segment/);
    expect(log.status().ok).toBe(true);
    await log.commit([makeAppend('s', 10, 1)]);
    store.faults.clear();
    expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
    expect((await memory.list('segment/')).length).toBe(1);
    expect(seqs((await log.read(readAll('s', 11))).records)).toEqual(range(0, 11));
  });

  it('a manifest put of unknown outcome keeps its segments, and the next checkpoint adopts the manifest', async () => {
    const clock = new ManualClock();
    const memory = new MemoryObjectStore();
    const store = faulty(memory);
    const log = await open(store, { clock, storeRetryTimeoutMs: 500 });
    await log.commit(createStream('s'));
    await log.commit([makeAppend('s', 0, 10)]);
    // The first put lands but its response is lost; then nothing gets through (rules fire in order).
    store.faults.add({ op: 'put', prefix: 'manifest/', mode: 'lost-response', times: 1 });
    store.faults.add({ op: ['put', 'head'], prefix: 'manifest/', mode: 'fail' });
    await expect(settle(clock, log.checkpoint())).rejects.toThrow(/manifest/);
    // The manifest did land, and it references the segment: both must survive.
    expect((await memory.list('manifest/')).length).toBe(2);
    expect((await memory.list('segment/')).length).toBe(1);
    store.faults.clear();
    await log.commit([makeAppend('s', 10, 1)]);
    expect(await log.checkpoint()).toMatchObject({ kind: 'done', manifestId: 3 });
    expect(log.status().ok).toBe(true);
    const reopened = await open(memory);
    expect(seqs((await reopened.read(readAll('s', 11))).records)).toEqual(range(0, 11));
  });
});

function range(start: number, end: number): number[] {
  return Array.from({ length: end - start }, (_, i) => start + i);
}
