/**
 * Records of every size class (1 B, 7 B, 8 KiB, 64 KiB, 1 MiB; bodies at every source address mod 8,
 * compressible and not, with and without headers) come back byte for byte from segments: after
 * checkpoints into several segments, a merge of a small last segment, a trim, reads started in the
 * middle of blocks and segments (read-ahead into the next segment), and a cold reopen; on the memory
 * store, real files (the write-ahead log and getParts) and S3 (radosgw, ranged gets). The padded
 * segment blocks of large bodies (codec-segment.ts alignmentPad) are what broke catch-up once.
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { SequencedRecord } from '../../src/domain/types.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { openObjectStore } from '../../src/objectstore/index.js';
import type { ObjectStore } from '../../src/objectstore/types.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import type { Append } from '../../src/storage/types.js';
import type { ChunkLogOptions } from '../../src/storage/options.js';
import { createTestBucket, type TestBucket } from '../setup/s3-env.js';
import { bytes, createStream, readRange } from './helpers.js';

const sizes = [1, 7, 8 * 1024, 8 * 1024 + 3, 64 * 1024, 64 * 1024 + 5, 4096, 4097, 1 << 20, 100, 3 * 1024 + 1];

/** A body of `size` bytes at `offset` (mod 8) of its buffer; compressible when `seqNum` is even. */
function body(seqNum: number, size: number): Uint8Array {
  const offset = seqNum % 8;
  const backing = new Uint8Array(size + offset + 8);
  const view = backing.subarray(offset, offset + size);
  if (seqNum % 2 === 0) view.fill(seqNum & 0xff);
  else view.set(randomBytes(size));
  if (size > 0) view[0] = 0xa0 + (seqNum % 16); // so that no two records compare equal by accident
  return view;
}

function record(seqNum: number): SequencedRecord {
  const size = sizes[seqNum % sizes.length]!;
  return {
    seqNum,
    timestamp: BigInt(seqNum) * 7n,
    headers: seqNum % 3 === 0 ? [[bytes('k'), bytes(`v${'x'.repeat(seqNum % 11)}`)]] : [],
    body: body(seqNum, size),
  };
}

function append(stream: string, records: SequencedRecord[], trimPoint?: number): Append {
  const last = records.at(-1)!;
  const out: Append = {
    kind: 'append',
    stream,
    records,
    tail: { seqNum: last.seqNum + 1, timestamp: last.timestamp },
    writtenAtMs: 2_000,
    expiresAtMs: null,
  };
  if (trimPoint !== undefined) out.trimPoint = trimPoint;
  return out;
}

/** A comparable digest of a record (the full bytes of a 1 MiB body would make failures unreadable). */
function digest(r: SequencedRecord): string {
  const hash = createHash('sha256').update(r.body);
  for (const [name, value] of r.headers) hash.update(name).update('=').update(value).update(';');
  return `${r.seqNum}/${r.timestamp}/${r.headers.length}/${r.body.length}/${hash.digest('hex').slice(0, 16)}`;
}

interface Backend {
  name: string;
  setup(): Promise<void>;
  /** A store (and log options) for `place`; a second call stands for a restarted process. */
  open(place: string): Promise<{ store: ObjectStore; options: ChunkLogOptions }>;
  teardown(): Promise<void>;
}

const memoryBackend = (): Backend => {
  const stores = new Map<string, MemoryObjectStore>();
  return {
    name: 'memory',
    setup: async () => {},
    open: async (place) => ({
      store: stores.get(place) ?? stores.set(place, new MemoryObjectStore()).get(place)!,
      options: {},
    }),
    teardown: async () => {},
  };
};

const localBackend = (): Backend => {
  let dir = '';
  return {
    name: 'local fs + write-ahead log',
    setup: async () => void (dir = await mkdtemp(join(tmpdir(), 's2-segment-bodies-'))),
    open: async (place) => ({
      store: await openObjectStore({ kind: 'local', root: join(dir, place, 'objects') }),
      options: { journal: { kind: 'wal', dir: join(dir, place, 'wal') } },
    }),
    teardown: () => rm(dir, { recursive: true, force: true }),
  };
};

const s3Backend = (): Backend => {
  let bucket: TestBucket | undefined;
  const run = randomBytes(4).toString('hex');
  return {
    name: 's3',
    setup: async () => void (bucket = await createTestBucket()),
    open: async (place) => {
      const { endpoint, region, accessKeyId, secretAccessKey } = bucket!.config;
      const store = await openObjectStore({
        kind: 's3',
        bucket: bucket!.bucket,
        prefix: `${run}/${place}`,
        s3: { endpoint, region, credentials: { accessKeyId, secretAccessKey }, requestTimeoutMs: 20_000 },
      });
      return { store, options: {} };
    },
    teardown: async () => bucket?.cleanup(),
  };
};

/** Small blocks and segments, so that a few MiB make many blocks, several segments and merges. */
const tuning: ChunkLogOptions = {
  blockBytes: 16 * 1024,
  segmentBytesMax: 512 * 1024,
  segmentMergeBytesMax: 96 * 1024,
  // Checkpoints only when the test asks (the log would otherwise start them on its own).
  checkpointBytes: 1 << 30,
  checkpointChunks: 1 << 20,
  checkpointIntervalMs: 3_600_000,
  memoryTailBytesMax: 1 << 30,
  blockCacheBytes: 4 * 1024 * 1024,
};

describe.each([memoryBackend(), localBackend(), s3Backend()])('segment bodies on $name', (backend) => {
  const opened: { log: ChunkLog; store: ObjectStore }[] = [];

  async function open(place: string): Promise<ChunkLog> {
    const { store, options } = await backend.open(place);
    const log = await ChunkLog.open(store, { ...tuning, ...options });
    opened.push({ log, store });
    return log;
  }

  async function close(log: ChunkLog): Promise<void> {
    await log.close();
    const entry = opened.find((o) => o.log === log)!;
    if (!(entry.store instanceof MemoryObjectStore)) await entry.store.close?.();
  }

  beforeAll(() => backend.setup());
  afterAll(async () => {
    for (const { log, store } of opened) {
      await log.close();
      await store.close?.();
    }
    await backend.teardown();
  });

  /**
   * Every segment object on the store (on S3 too: what a bucket holds, not what the cache kept)
   * carries `version` in its header and trailer (docs/formats.md, "Segment").
   */
  async function expectSegmentVersions(store: ObjectStore, version: number): Promise<void> {
    const keys = (await store.list('segment/')).map((info) => info.key);
    expect(keys.length).toBeGreaterThan(1);
    for (const key of keys) {
      const object = await store.get(key);
      const view = new DataView(object.buffer, object.byteOffset, object.byteLength);
      const text = (at: number) => Buffer.from(object.subarray(at, at + 4)).toString('latin1');
      expect([text(0), view.getUint16(4, true)], key).toEqual(['S2LS', version]);
      expect([view.getUint16(object.length - 8, true), text(object.length - 4)], key).toEqual([version, 'S2LT']);
    }
  }

  /** Every record of [start, end) read back, also from starts inside blocks and segments. */
  async function expectRecords(log: ChunkLog, expected: SequencedRecord[], starts: number[]): Promise<void> {
    const first = expected[0]!.seqNum;
    const end = expected.at(-1)!.seqNum + 1;
    for (const start of starts) {
      const got = await readRange(log, 's', start, end);
      expect(got.map(digest), `read from ${start}`).toEqual(
        expected.filter((r) => r.seqNum >= Math.max(start, first)).map(digest),
      );
    }
  }

  it(
    'come back byte for byte through checkpoints, a merge, a trim and a cold reopen',
    { timeout: 120_000 },
    async () => {
      const written: SequencedRecord[] = [];
      let log = await open('round-trip');
      await log.commit(createStream('s'));
      const commit = async (count: number, trimPoint?: number) => {
        const records = Array.from({ length: count }, (_, i) => record(written.length + i));
        await log.commit([append('s', records, trimPoint)]);
        written.push(...records);
      };

      // About 4 MiB: several segments of many blocks, 1 MiB bodies alone in theirs.
      for (let i = 0; i < 4; i++) await commit(sizes.length);
      expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
      await expectSegmentVersions(opened.at(-1)!.store, 2);
      // A few small records: the next checkpoint merges them into a new small last segment, then
      // the one after merges that segment (read back through the cache, re-encoded) with more.
      await commit(2);
      expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
      await commit(3);
      expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
      await commit(sizes.length);
      await commit(1, 5); // trims below seq_num 5
      const starts = [0, 5, 6, 13, 19, 27, 44, 49, written.length - 1];
      await expectRecords(log, written.slice(5), starts); // some from segments, some from memory
      expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
      await expectRecords(log, written.slice(5), starts);

      await close(log);
      log = await open('round-trip'); // a cold cache: every block read from the store again
      await expectRecords(log, written.slice(5), starts.reverse());
      await commit(sizes.length);
      expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
      await close(log);
      log = await open('round-trip');
      await expectRecords(log, written.slice(5), [0, 30, written.length - 3]);
    },
  );

  it(
    'a checkpoint in slices while appends and reads go on loses and changes nothing',
    { timeout: 120_000 },
    async () => {
      const written: SequencedRecord[] = [];
      const log = await open('concurrent');
      await log.commit(createStream('s'));
      const next = () => {
        const records = Array.from({ length: 3 }, (_, i) => record(written.length + i));
        written.push(...records);
        return log.commit([append('s', records)]);
      };
      for (let i = 0; i < 12; i++) await next();
      // The log's own start-up tasks (garbage collection of the previous writer's objects) run in
      // the same queue as checkpoints; on a slow S3 they could delay the checkpoint below until the
      // appends meant to overlap it were done, and it would fold them all. Let them finish first.
      await log.collectGarbage();
      const reads: Promise<void>[] = [];
      const checkpoint = log.checkpoint();
      // Appends acknowledged and records read while the checkpoint encodes and puts its segments.
      for (let i = 0; i < 6; i++) {
        const expected = [...written];
        reads.push(expectRecords(log, expected, [0, 17]));
        await next();
      }
      expect(await checkpoint).toMatchObject({ kind: 'done' });
      await Promise.all(reads);
      await expectRecords(log, written, [0, 1, 22, written.length - 2]);
      expect(await log.checkpoint()).toMatchObject({ kind: 'done' });
      await expectRecords(log, written, [0, 40]);
    },
  );
});
