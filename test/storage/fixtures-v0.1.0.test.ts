/**
 * Objects written by release 0.1.0 (test/storage/fixtures/v0.1.0, written by the engine and chunk
 * log of that release, see fixtures/README.md) still decode with the same values: every
 * metadata mutation in the chunks, the snapshot inline in a manifest and in a snapshot object,
 * and the whole state recovered by opening the log on them, from the manifests or by replaying
 * the chunks. The expected values are written out here, not recomputed by today's code.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { BasinMeta, StreamMeta } from '../../src/domain/types.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { decodeChunk } from '../../src/storage/codec-chunk.js';
import { decodeManifest, decodeSnapshotObject } from '../../src/storage/codec-manifest.js';
import type { Mutation } from '../../src/storage/types.js';

const root = join(dirname(fileURLToPath(import.meta.url)), 'fixtures', 'v0.1.0');

function objectKeys(dir = root): string[] {
  return readdirSync(dir).flatMap((name) => {
    const path = join(dir, name);
    return statSync(path).isDirectory() ? objectKeys(path) : [relative(root, path).split('\\').join('/')];
  });
}

const read = (key: string) => new Uint8Array(readFileSync(join(root, key)));

async function storeWith(keys: string[]): Promise<MemoryObjectStore> {
  const store = new MemoryObjectStore();
  for (const key of keys) await store.put(key, read(key));
  return store;
}

const t0 = 1_700_000_000_000;

const basinA: BasinMeta = {
  config: {
    createStreamOnAppend: true,
    createStreamOnRead: false,
    defaultStreamConfig: {
      storageClass: 'standard',
      retentionPolicy: { kind: 'age', ageSecs: 3600 },
      timestamping: { mode: 'client-require', uncapped: true },
      deleteOnEmpty: { minAgeSecs: 60 },
    },
    streamCipher: 'aegis-256',
  },
  createdAtMs: t0,
  deletedAtMs: null,
  creationKey: '86b4e58b805d66f17eb0bf79bcda4fe9642731d3a017708e69d85847b0515968',
};
const basinB: BasinMeta = {
  config: {
    createStreamOnAppend: false,
    createStreamOnRead: true,
    defaultStreamConfig: {
      retentionPolicy: { kind: 'infinite' },
      timestamping: { uncapped: false },
      deleteOnEmpty: { minAgeSecs: 0 },
    },
    streamCipher: 'aes-256-gcm',
  },
  createdAtMs: t0 + 1000,
  deletedAtMs: null,
  creationKey: null,
};
const basinC: BasinMeta = {
  config: { createStreamOnAppend: false, createStreamOnRead: false },
  createdAtMs: t0 + 2000,
  deletedAtMs: null,
  creationKey: null,
};
const basinCReconfigured: BasinMeta = {
  ...basinC,
  config: { ...basinC.config, defaultStreamConfig: { timestamping: { mode: 'arrival' } } },
};
const basinD: BasinMeta = { ...basinC, createdAtMs: t0 + 10_000 };

const inherits: StreamMeta = {
  config: {
    storageClass: 'standard',
    retentionPolicy: { kind: 'age', ageSecs: 3600 },
    timestamping: { mode: 'client-require', uncapped: true },
    deleteOnEmpty: { minAgeSecs: 60 },
  },
  cipher: 'aegis-256',
  createdAtMs: t0 + 4000,
  deletedAtMs: null,
  creationKey: 'a6e66ceb1c524e0fe556751e7798b76152de0034ae722fde9c662240242d0b78',
};
const explicit: StreamMeta = {
  config: {
    storageClass: 'express',
    retentionPolicy: { kind: 'age', ageSecs: 86_400 },
    timestamping: { mode: 'arrival', uncapped: false },
    deleteOnEmpty: { minAgeSecs: 0 },
  },
  cipher: 'aes-256-gcm',
  createdAtMs: t0 + 5000,
  deletedAtMs: null,
  creationKey: null,
};
const doomed: StreamMeta = {
  config: {
    storageClass: 'express',
    retentionPolicy: { kind: 'age', ageSecs: 604_800 },
    timestamping: { mode: 'arrival', uncapped: false },
    deleteOnEmpty: { minAgeSecs: 0 },
  },
  cipher: null,
  createdAtMs: t0 + 6000,
  deletedAtMs: null,
  creationKey: null,
};
const kept: StreamMeta = {
  config: {
    storageClass: 'express',
    retentionPolicy: { kind: 'infinite' },
    timestamping: { mode: 'client-prefer', uncapped: false },
    deleteOnEmpty: { minAgeSecs: 0 },
  },
  cipher: null,
  createdAtMs: t0 + 10_000,
  deletedAtMs: null,
  creationKey: null,
};

/** The metadata mutations of chunks 1-18, in order. */
const metadataMutations: Mutation[] = [
  { kind: 'basin.put', basin: 'basin-a', meta: basinA },
  { kind: 'basin.put', basin: 'basin-b', meta: basinB },
  { kind: 'basin.put', basin: 'basin-c', meta: basinC },
  { kind: 'basin.put', basin: 'basin-c', meta: basinCReconfigured },
  { kind: 'stream.put', stream: 'stream-id-1', basin: 'basin-a', name: 'inherits', meta: inherits },
  { kind: 'stream.put', stream: 'stream-id-2', basin: 'basin-b', name: 'explicit', meta: explicit },
  { kind: 'stream.put', stream: 'stream-id-3', basin: 'basin-c', name: 'doomed', meta: doomed },
  {
    kind: 'stream.put',
    stream: 'stream-id-3',
    basin: 'basin-c',
    name: 'doomed',
    meta: { ...doomed, deletedAtMs: t0 + 8000 },
  },
  { kind: 'stream.delete', stream: 'stream-id-3' },
  { kind: 'basin.put', basin: 'basin-c', meta: { ...basinCReconfigured, deletedAtMs: t0 + 9000 } },
  { kind: 'basin.delete', basin: 'basin-c' },
  { kind: 'basin.put', basin: 'basin-d', meta: basinD },
  { kind: 'stream.put', stream: 'stream-id-4', basin: 'basin-d', name: 'kept', meta: kept },
];

const basins = new Map([
  ['basin-a', basinA],
  ['basin-b', basinB],
  ['basin-d', basinD],
]);

const streams = [
  { id: 'stream-id-1', basin: 'basin-a', name: 'inherits', meta: inherits, tail: { seqNum: 0, timestamp: 0n } },
  { id: 'stream-id-2', basin: 'basin-b', name: 'explicit', meta: explicit, tail: { seqNum: 0, timestamp: 0n } },
  {
    id: 'stream-id-4',
    basin: 'basin-d',
    name: 'kept',
    meta: kept,
    tail: { seqNum: 3, timestamp: BigInt(t0 + 11_000) },
    fencingToken: 'token-d',
    trimPoint: 1,
    lastWriteMs: t0 + 11_000,
  },
];

describe('objects written by release 0.1.0', () => {
  const keys = objectKeys();

  it('decode: every metadata mutation of the chunks', () => {
    const chunkKeys = keys.filter((key) => key.startsWith('chunk/')).sort();
    expect(chunkKeys).toHaveLength(18);
    const mutations = chunkKeys.flatMap((key, i) => decodeChunk(read(key), i + 1).commits.flat());
    expect(mutations.filter((m) => m.kind !== 'append')).toStrictEqual(metadataMutations);
  });

  it('decode: the snapshot inline in a manifest and in a snapshot object', () => {
    const inline = decodeManifest(read('manifest/00000000000000000002'), 2);
    const byRef = decodeManifest(read('manifest/00000000000000000003'), 3);
    if (!('inline' in inline.snapshot) || !('ref' in byRef.snapshot)) throw new Error('unexpected manifest shapes');
    const referenced = decodeSnapshotObject(read(byRef.snapshot.ref.key), byRef.snapshot.ref);
    for (const snapshot of [inline.snapshot.inline, referenced]) {
      expect(snapshot.basins).toStrictEqual(basins);
      expect(snapshot.streams.map((s) => ({ id: s.id, basin: s.basin, name: s.name, meta: s.meta }))).toStrictEqual(
        streams.map((s) => ({ id: s.id, basin: s.basin, name: s.name, meta: s.meta })),
      );
      expect(snapshot.streams[2]).toMatchObject({ ...streams[2], segments: [{ firstSeqNum: 1, lastSeqNum: 2 }] });
    }
  });

  it.each([
    ['the latest manifest', () => true],
    // The first (empty) manifest and the chunks of its epoch, as a crash before any checkpoint leaves them.
    [
      'the chunks alone',
      (key: string) =>
        key === 'manifest/00000000000000000001' || (key.startsWith('chunk/') && key !== 'chunk/00000000000000000018'),
    ],
  ])('recover: the whole state from %s', async (_from, include) => {
    const log = await ChunkLog.open(await storeWith(keys.filter(include)));
    try {
      const recovered = log.recovered();
      expect(recovered.basins).toStrictEqual(basins);
      expect(recovered.streams.map((s) => ({ id: s.id, basin: s.basin, name: s.name, meta: s.meta }))).toStrictEqual(
        streams.map((s) => ({ id: s.id, basin: s.basin, name: s.name, meta: s.meta })),
      );
      expect(recovered.streams[2]).toMatchObject(streams[2]);
      const records = await log.read({
        stream: 'stream-id-4',
        startSeqNum: 0,
        endSeqNum: 3,
        maxRecords: 10,
        maxBytes: 1 << 20,
        nowMs: t0 + 20_000,
      });
      expect(records.map((r) => r.seqNum)).toEqual([1, 2]);
    } finally {
      await log.close();
    }
  });
});
