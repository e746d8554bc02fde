/**
 * The persisted form of basin and stream metadata (src/storage/codec-meta.ts): every engine value
 * round-trips exactly (unset layer members stay unset), the bytes written are the declared shape
 * and nothing else, and a record that is malformed in any member, or of an unknown version, is
 * refused as corrupt data, alone or inside a commit or a manifest snapshot.
 */
import { describe, expect, it } from 'vitest';
import type { BasinMeta, StreamMeta } from '../../src/domain/types.js';
import { ByteReader, ByteWriter, CorruptDataError } from '../../src/storage/binary.js';
import { decodeCommit } from '../../src/storage/codec-mutation.js';
import { decodeManifest, encodeManifest } from '../../src/storage/codec-manifest.js';
import { allMetas, basinMetas, streamMetas, t0 } from './fixtures/v0.1.0.js';
import {
  metaFormatVersion,
  persistBasinMeta,
  persistStreamMeta,
  readBasinMeta,
  readStreamMeta,
} from '../../src/storage/codec-meta.js';

/** Beyond what 0.1.0 wrote (fixtures/v0.1.0.ts): an empty layer, an empty key, a deleted stream with a key. */
const extraBasin: BasinMeta = {
  config: { defaultStreamConfig: {}, createStreamOnAppend: true, createStreamOnRead: true },
  createdAtMs: 0,
  deletedAtMs: 5,
  creationKey: '',
};
const stream = streamMetas.doomed;
const extraStream: StreamMeta = { ...streamMetas.explicit, deletedAtMs: t0 + 1, creationKey: 'k' };

const basins: [string, BasinMeta][] = [
  ...allMetas.flatMap((m) => (m.kind === 'basin.put' ? [[`0.1.0 ${m.basin}`, m.meta] as [string, BasinMeta]] : [])),
  ['an empty layer', extraBasin],
];
const streams: [string, StreamMeta][] = [
  ...allMetas.flatMap((m) => (m.kind === 'stream.put' ? [[`0.1.0 ${m.name}`, m.meta] as [string, StreamMeta]] : [])),
  ['deleted, with a creation key', extraStream],
];

/** What storage does: the persisted form through JSON text and back. */
const basinRoundTrip = (meta: BasinMeta) => readBasinMeta(JSON.parse(JSON.stringify(persistBasinMeta(meta))), 'b');
const streamRoundTrip = (meta: StreamMeta) => readStreamMeta(JSON.parse(JSON.stringify(persistStreamMeta(meta))), 's');

describe('metadata codec', () => {
  it.each(basins)('round-trips basin metadata: %s', (_name, meta) => {
    expect(basinRoundTrip(meta)).toStrictEqual(meta);
  });

  it.each(streams)('round-trips stream metadata: %s', (_name, meta) => {
    expect(streamRoundTrip(meta)).toStrictEqual(meta);
  });

  it('writes exactly the declared shape, whatever else an engine object carries', () => {
    const engineObject = { ...stream, runtime: 'not persisted', config: { ...stream.config, extra: 1 } };
    expect(JSON.stringify(persistStreamMeta(engineObject))).toBe(
      '{"version":1,"config":{"storageClass":"express","retentionPolicy":{"kind":"age","ageSecs":604800},' +
        '"timestamping":{"mode":"arrival","uncapped":false},"deleteOnEmpty":{"minAgeSecs":0}},' +
        '"cipher":null,"createdAtMs":1700000006000,"deletedAtMs":null,"creationKey":null}',
    );
    const basin = basinMetas.b;
    const withUndefined = { ...basin, config: { ...basin.config, defaultStreamConfig: { storageClass: undefined } } };
    expect(JSON.stringify(persistBasinMeta(withUndefined))).toBe(
      '{"version":1,"config":{"defaultStreamConfig":{},"streamCipher":"aes-256-gcm",' +
        '"createStreamOnAppend":false,"createStreamOnRead":true},' +
        '"createdAtMs":1700000001000,"deletedAtMs":null,"creationKey":null}',
    );
    expect(metaFormatVersion).toBe(1);
  });

  it('reads a record without a version (release 0.1.0) as version 1', () => {
    const { version, ...legacy } = persistStreamMeta(stream);
    expect(version).toBe(1);
    expect(readStreamMeta(legacy, 's')).toStrictEqual(stream);
  });

  const persisted = () => JSON.parse(JSON.stringify(persistBasinMeta(basinMetas.a)));
  const persistedStream = () => JSON.parse(JSON.stringify(persistStreamMeta(stream)));

  it.each([
    ['an unknown version', (m: any) => (m.version = 2), /unsupported metadata version 2/],
    ['a version that is not a number', (m: any) => (m.version = '1'), /unsupported metadata version "1"/],
    ['an unknown member', (m: any) => (m.owner = 'x'), /unknown field "owner"/],
    ['an unknown config member', (m: any) => (m.config.encryption = true), /config: unknown field "encryption"/],
    ['a missing member', (m: any) => delete m.createdAtMs, /createdAtMs: expected a non-negative integer/],
    ['a negative time', (m: any) => (m.deletedAtMs = -1), /deletedAtMs: expected a non-negative integer/],
    ['a fractional time', (m: any) => (m.createdAtMs = 1.5), /createdAtMs: expected a non-negative integer/],
    ['a mistyped flag', (m: any) => (m.config.createStreamOnRead = 'yes'), /createStreamOnRead: expected a boolean/],
    ['an unknown cipher', (m: any) => (m.config.streamCipher = 'rot13'), /streamCipher: expected one of/],
    ['a mistyped creation key', (m: any) => (m.creationKey = 7), /creationKey: expected a string/],
    [
      'an unknown storage class',
      (m: any) => (m.config.defaultStreamConfig.storageClass = 'glacier'),
      /storageClass: expected one of standard, express, got "glacier"/,
    ],
    [
      'an unknown timestamping mode',
      (m: any) => (m.config.defaultStreamConfig.timestamping.mode = 'server'),
      /timestamping mode: expected one of/,
    ],
    [
      'an unknown layer member',
      (m: any) => (m.config.defaultStreamConfig.compression = 'zstd'),
      /defaultStreamConfig: unknown field "compression"/,
    ],
    [
      'an age policy without an age',
      (m: any) => delete m.config.defaultStreamConfig.retentionPolicy.ageSecs,
      /retentionPolicy ageSecs: expected a non-negative integer/,
    ],
    [
      'an infinite policy with an age',
      (m: any) => (m.config.defaultStreamConfig.retentionPolicy = { kind: 'infinite', ageSecs: 5 }),
      /ageSecs on an infinite policy/,
    ],
    [
      'a delete-on-empty without its age',
      (m: any) => (m.config.defaultStreamConfig.deleteOnEmpty = {}),
      /deleteOnEmpty minAgeSecs: expected a non-negative integer/,
    ],
    ['a layer that is not an object', (m: any) => (m.config.defaultStreamConfig = []), /expected an object/],
  ])('refuses basin metadata with %s', (_name, damage, message) => {
    const meta = persisted();
    damage(meta);
    expect(() => readBasinMeta(meta, 'basin meta')).toThrow(CorruptDataError);
    expect(() => readBasinMeta(meta, 'basin meta')).toThrow(message);
  });

  it.each([
    [
      'a missing timestamping member',
      (m: any) => delete m.config.timestamping.uncapped,
      /uncapped: expected a boolean/,
    ],
    ['a missing config member', (m: any) => delete m.config.deleteOnEmpty, /deleteOnEmpty: expected an object/],
    ['an unknown cipher', (m: any) => (m.cipher = 'none'), /cipher: expected one of aegis-256, aes-256-gcm/],
    ['a missing cipher', (m: any) => delete m.cipher, /cipher: expected one of/],
    ['an unknown member', (m: any) => (m.basin = 'b'), /unknown field "basin"/],
  ])('refuses stream metadata with %s', (_name, damage, message) => {
    const meta = persistedStream();
    damage(meta);
    expect(() => readStreamMeta(meta, 'stream meta')).toThrow(CorruptDataError);
    expect(() => readStreamMeta(meta, 'stream meta')).toThrow(message);
  });

  it('refuses bad metadata inside a commit and inside a manifest snapshot', () => {
    const commit = (meta: string) => {
      const writer = new ByteWriter();
      writer.u32(1).u8(3).string('stream-id').string('basin').string('name').string(meta);
      return decodeCommit(new ByteReader(writer.finish(), 'commit'));
    };
    expect(commit(JSON.stringify(persistedStream()))[0]).toMatchObject({ kind: 'stream.put', meta: stream });
    expect(() => commit('{')).toThrow(/commit: stream meta: not valid JSON/);
    expect(() => commit(JSON.stringify({ ...persistedStream(), version: 9 }))).toThrow(CorruptDataError);

    const header = { epoch: 1, manifestId: 2, lastAppliedChunkId: 0, lastAppliedChunkEpoch: 0 };
    const snapshot = { basins: [{ name: 'b', meta: { ...persisted(), version: 9 } }], streams: [] };
    const manifest = encodeManifest(header, { json: Buffer.from(JSON.stringify(snapshot)) }, 0);
    expect(() => decodeManifest(manifest, 2)).toThrow(/basin meta: unsupported metadata version 9/);
  });
});
