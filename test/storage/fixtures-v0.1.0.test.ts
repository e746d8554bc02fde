/**
 * Objects written by release 0.1.0 (test/storage/fixtures/v0.1.0, written by the engine and chunk
 * log of that release, see fixtures/README.md) still decode with the same values: every
 * metadata mutation in the chunks, the snapshot inline in a manifest and in a snapshot object,
 * and the whole state recovered by opening the log on them, from the manifests or by replaying
 * the chunks. The expected values (fixtures/v0.1.0.ts) are written out, not computed by today's
 * code.
 */
import { readdirSync, readFileSync, statSync } from 'node:fs';
import { dirname, join, relative } from 'node:path';
import { fileURLToPath } from 'node:url';
import { describe, expect, it } from 'vitest';
import type { StreamMeta } from '../../src/domain/types.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { decodeChunk } from '../../src/storage/codec-chunk.js';
import { decodeManifest, decodeSnapshotObject } from '../../src/storage/codec-manifest.js';
import { metadataMutations, recoveredBasins, recoveredStreams, t0 } from './fixtures/v0.1.0.js';

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

/** Which stream it is and its metadata (positions are compared for the one stream that has records). */
const identity = (s: { id: string; basin: string; name: string; meta: StreamMeta }) => ({
  id: s.id,
  basin: s.basin,
  name: s.name,
  meta: s.meta,
});

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
      expect(snapshot.basins).toStrictEqual(recoveredBasins);
      expect(snapshot.streams.map(identity)).toStrictEqual(recoveredStreams.map(identity));
      expect(snapshot.streams[2]).toMatchObject({
        ...recoveredStreams[2],
        segments: [{ firstSeqNum: 1, lastSeqNum: 2 }],
      });
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
      expect(recovered.basins).toStrictEqual(recoveredBasins);
      expect(recovered.streams.map(identity)).toStrictEqual(recoveredStreams.map(identity));
      expect(recovered.streams[2]).toMatchObject(recoveredStreams[2]);
      const { records } = await log.read({
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
