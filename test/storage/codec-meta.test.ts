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
import {
  metaFormatVersion,
  persistBasinMeta,
  persistStreamMeta,
  readBasinMeta,
  readStreamMeta,
} from '../../src/storage/codec-meta.js';

const basins: Record<string, BasinMeta> = {
  'every member set': {
    config: {
      defaultStreamConfig: {
        storageClass: 'standard',
        retentionPolicy: { kind: 'age', ageSecs: 3600 },
        timestamping: { mode: 'client-require', uncapped: true },
        deleteOnEmpty: { minAgeSecs: 60 },
      },
      streamCipher: 'aegis-256',
      createStreamOnAppend: true,
      createStreamOnRead: true,
    },
    createdAtMs: 1_700_000_000_000,
    deletedAtMs: 1_700_000_001_000,
    creationKey: 'f'.repeat(64),
  },
  'nothing optional set': {
    config: { createStreamOnAppend: false, createStreamOnRead: false },
    createdAtMs: 0,
    deletedAtMs: null,
    creationKey: null,
  },
  'a partial layer': {
    config: {
      defaultStreamConfig: {
        retentionPolicy: { kind: 'infinite' },
        timestamping: { uncapped: false },
        deleteOnEmpty: { minAgeSecs: 0 },
      },
      streamCipher: 'aes-256-gcm',
      createStreamOnAppend: false,
      createStreamOnRead: true,
    },
    createdAtMs: 5,
    deletedAtMs: null,
    creationKey: null,
  },
  'an empty layer and a mode-only timestamping': {
    config: {
      defaultStreamConfig: { timestamping: { mode: 'arrival' } },
      createStreamOnAppend: true,
      createStreamOnRead: false,
    },
    createdAtMs: 5,
    deletedAtMs: null,
    creationKey: '',
  },
};

const stream: StreamMeta = {
  config: {
    storageClass: 'express',
    retentionPolicy: { kind: 'age', ageSecs: 604_800 },
    timestamping: { mode: 'client-prefer', uncapped: false },
    deleteOnEmpty: { minAgeSecs: 0 },
  },
  cipher: null,
  createdAtMs: 1_700_000_000_000,
  deletedAtMs: null,
  creationKey: null,
};

const streams: Record<string, StreamMeta> = {
  'no cipher, age retention': stream,
  'a cipher, infinite retention, deleted, with a creation key': {
    config: {
      storageClass: 'standard',
      retentionPolicy: { kind: 'infinite' },
      timestamping: { mode: 'arrival', uncapped: true },
      deleteOnEmpty: { minAgeSecs: 3600 },
    },
    cipher: 'aes-256-gcm',
    createdAtMs: 1,
    deletedAtMs: 2,
    creationKey: 'a'.repeat(64),
  },
};

/** What storage does: the persisted form through JSON text and back. */
const basinRoundTrip = (meta: BasinMeta) => readBasinMeta(JSON.parse(JSON.stringify(persistBasinMeta(meta))), 'b');
const streamRoundTrip = (meta: StreamMeta) => readStreamMeta(JSON.parse(JSON.stringify(persistStreamMeta(meta))), 's');

describe('metadata codec', () => {
  it.each(Object.entries(basins))('round-trips basin metadata: %s', (_name, meta) => {
    expect(basinRoundTrip(meta)).toStrictEqual(meta);
  });

  it.each(Object.entries(streams))('round-trips stream metadata: %s', (_name, meta) => {
    expect(streamRoundTrip(meta)).toStrictEqual(meta);
  });

  it('writes exactly the declared shape, whatever else an engine object carries', () => {
    const engineObject = { ...stream, runtime: 'not persisted', config: { ...stream.config, extra: 1 } };
    expect(JSON.stringify(persistStreamMeta(engineObject))).toBe(
      '{"version":1,"config":{"storageClass":"express","retentionPolicy":{"kind":"age","ageSecs":604800},' +
        '"timestamping":{"mode":"client-prefer","uncapped":false},"deleteOnEmpty":{"minAgeSecs":0}},' +
        '"cipher":null,"createdAtMs":1700000000000,"deletedAtMs":null,"creationKey":null}',
    );
    const basin = basins['a partial layer'];
    const withUndefined = { ...basin, config: { ...basin.config, defaultStreamConfig: { storageClass: undefined } } };
    expect(JSON.stringify(persistBasinMeta(withUndefined))).toBe(
      '{"version":1,"config":{"defaultStreamConfig":{},"streamCipher":"aes-256-gcm",' +
        '"createStreamOnAppend":false,"createStreamOnRead":true},' +
        '"createdAtMs":5,"deletedAtMs":null,"creationKey":null}',
    );
    expect(metaFormatVersion).toBe(1);
  });

  it('reads a record without a version (release 0.1.0) as version 1', () => {
    const { version, ...legacy } = persistStreamMeta(stream);
    expect(version).toBe(1);
    expect(readStreamMeta(legacy, 's')).toStrictEqual(stream);
  });

  const persisted = () => JSON.parse(JSON.stringify(persistBasinMeta(basins['every member set'])));
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
