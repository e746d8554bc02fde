/**
 * Basin and stream metadata as persisted: in `basin.put`/`stream.put` mutations (as a JSON
 * string) and in metadata snapshots (as a JSON object). Layout: docs/formats.md, "Basin and
 * stream metadata".
 *
 * The engine's types (domain/types.ts) are not the on-disk format. The persisted shape is
 * declared here on its own and mapped field by field, so a member or enumeration value added to
 * an engine type fails to compile here instead of silently changing what is on disk. Reading
 * checks every field; a missing, mistyped or unknown field, or a version this build does not
 * know, is corrupt data.
 */
import type {
  BasinConfig,
  BasinMeta,
  RetentionPolicy,
  StreamConfig,
  StreamConfigLayer,
  StreamMeta,
} from '../domain/types.js';
import { CorruptDataError } from './binary.js';
import { bool, closedObj, int, nullable, oneOf, str } from './codec-json.js';

/** The version written. Records without a `version` member were written by 0.1.0 in the v1 shape. */
export const metaFormatVersion = 1;
const metaFormatVersions = [1];

// Persisted enumerations: values are stored as written here and must never change meaning.
const storageClasses = ['standard', 'express'] as const;
const timestampingModes = ['client-prefer', 'client-require', 'arrival'] as const;
const ciphers = ['aegis-256', 'aes-256-gcm'] as const;
const retentionKinds = ['age', 'infinite'] as const;

type PersistedStorageClass = (typeof storageClasses)[number];
type PersistedTimestampingMode = (typeof timestampingModes)[number];
type PersistedCipher = (typeof ciphers)[number];
type PersistedRetention = { kind: 'age'; ageSecs: number } | { kind: 'infinite' };

/** A stream config layer (a basin's default stream config): absent members are unset. */
interface PersistedConfigLayer {
  storageClass?: PersistedStorageClass;
  retentionPolicy?: PersistedRetention;
  timestamping?: { mode?: PersistedTimestampingMode; uncapped?: boolean };
  deleteOnEmpty?: { minAgeSecs: number };
}

interface PersistedStreamConfig {
  storageClass: PersistedStorageClass;
  retentionPolicy: PersistedRetention;
  timestamping: { mode: PersistedTimestampingMode; uncapped: boolean };
  deleteOnEmpty: { minAgeSecs: number };
}

export interface PersistedBasinMeta {
  version: typeof metaFormatVersion;
  config: {
    defaultStreamConfig?: PersistedConfigLayer;
    streamCipher?: PersistedCipher;
    createStreamOnAppend: boolean;
    createStreamOnRead: boolean;
  };
  createdAtMs: number;
  deletedAtMs: number | null;
  creationKey: string | null;
}

export interface PersistedStreamMeta {
  version: typeof metaFormatVersion;
  config: PersistedStreamConfig;
  cipher: PersistedCipher | null;
  createdAtMs: number;
  deletedAtMs: number | null;
  creationKey: string | null;
}

export function persistBasinMeta(meta: BasinMeta): PersistedBasinMeta {
  const { defaultStreamConfig, streamCipher } = meta.config;
  return {
    version: metaFormatVersion,
    config: {
      ...(defaultStreamConfig !== undefined && { defaultStreamConfig: persistLayer(defaultStreamConfig) }),
      ...(streamCipher !== undefined && { streamCipher }),
      createStreamOnAppend: meta.config.createStreamOnAppend,
      createStreamOnRead: meta.config.createStreamOnRead,
    },
    createdAtMs: meta.createdAtMs,
    deletedAtMs: meta.deletedAtMs,
    creationKey: meta.creationKey,
  };
}

export function persistStreamMeta(meta: StreamMeta): PersistedStreamMeta {
  const { config } = meta;
  return {
    version: metaFormatVersion,
    config: {
      storageClass: config.storageClass,
      retentionPolicy: persistRetention(config.retentionPolicy),
      timestamping: { mode: config.timestamping.mode, uncapped: config.timestamping.uncapped },
      deleteOnEmpty: { minAgeSecs: config.deleteOnEmpty.minAgeSecs },
    },
    cipher: meta.cipher,
    createdAtMs: meta.createdAtMs,
    deletedAtMs: meta.deletedAtMs,
    creationKey: meta.creationKey,
  };
}

function persistLayer(layer: StreamConfigLayer): PersistedConfigLayer {
  const { storageClass, retentionPolicy, timestamping, deleteOnEmpty } = layer;
  return {
    ...(storageClass !== undefined && { storageClass }),
    ...(retentionPolicy !== undefined && { retentionPolicy: persistRetention(retentionPolicy) }),
    ...(timestamping !== undefined && {
      timestamping: {
        ...(timestamping.mode !== undefined && { mode: timestamping.mode }),
        ...(timestamping.uncapped !== undefined && { uncapped: timestamping.uncapped }),
      },
    }),
    ...(deleteOnEmpty !== undefined && { deleteOnEmpty: { minAgeSecs: deleteOnEmpty.minAgeSecs } }),
  };
}

function persistRetention(policy: RetentionPolicy): PersistedRetention {
  return policy.kind === 'age' ? { kind: 'age', ageSecs: policy.ageSecs } : { kind: 'infinite' };
}

/**
 * The members of each engine type, listed exhaustively (a member added to the type fails to
 * compile until it is listed here and given a persisted form), and the members a record may have.
 */
function members<T>(all: Record<keyof T, true>): string[] {
  return Object.keys(all);
}
const basinMetaFields = [
  'version',
  ...members<BasinMeta>({ config: true, createdAtMs: true, deletedAtMs: true, creationKey: true }),
];
const basinConfigFields = members<BasinConfig>({
  defaultStreamConfig: true,
  streamCipher: true,
  createStreamOnAppend: true,
  createStreamOnRead: true,
});
const streamMetaFields = [
  'version',
  ...members<StreamMeta>({ config: true, cipher: true, createdAtMs: true, deletedAtMs: true, creationKey: true }),
];
const configFields = members<StreamConfig & StreamConfigLayer>({
  storageClass: true,
  retentionPolicy: true,
  timestamping: true,
  deleteOnEmpty: true,
});

export function readBasinMeta(value: unknown, what: string): BasinMeta {
  const json = closedObj(value, basinMetaFields, what);
  readVersion(json.version, what);
  const config = closedObj(json.config, basinConfigFields, `${what} config`);
  const layer = config.defaultStreamConfig;
  const cipher = config.streamCipher;
  return {
    config: {
      ...(layer !== undefined && { defaultStreamConfig: readLayer(layer, `${what} defaultStreamConfig`) }),
      ...(cipher !== undefined && { streamCipher: oneOf(cipher, ciphers, `${what} streamCipher`) }),
      createStreamOnAppend: bool(config.createStreamOnAppend, `${what} createStreamOnAppend`),
      createStreamOnRead: bool(config.createStreamOnRead, `${what} createStreamOnRead`),
    },
    ...readLifecycle(json, what),
  };
}

export function readStreamMeta(value: unknown, what: string): StreamMeta {
  const json = closedObj(value, streamMetaFields, what);
  readVersion(json.version, what);
  return {
    config: readStreamConfig(json.config, `${what} config`),
    cipher: nullable(json.cipher, `${what} cipher`, (v, w) => oneOf(v, ciphers, w)),
    ...readLifecycle(json, what),
  };
}

function readVersion(value: unknown, what: string): void {
  if (value === undefined) return; // 0.1.0 wrote the v1 shape without a version
  if (typeof value !== 'number' || !metaFormatVersions.includes(value)) {
    throw new CorruptDataError(`${what}: unsupported metadata version ${JSON.stringify(value)}`);
  }
}

function readLifecycle(json: Record<string, unknown>, what: string) {
  return {
    createdAtMs: int(json.createdAtMs, `${what} createdAtMs`),
    deletedAtMs: nullable(json.deletedAtMs, `${what} deletedAtMs`, int),
    creationKey: nullable(json.creationKey, `${what} creationKey`, str),
  };
}

function readStreamConfig(value: unknown, what: string): StreamConfig {
  const json = closedObj(value, configFields, what);
  const timestamping = closedObj(json.timestamping, ['mode', 'uncapped'], `${what} timestamping`);
  return {
    storageClass: oneOf(json.storageClass, storageClasses, `${what} storageClass`),
    retentionPolicy: readRetention(json.retentionPolicy, `${what} retentionPolicy`),
    timestamping: {
      mode: oneOf(timestamping.mode, timestampingModes, `${what} timestamping mode`),
      uncapped: bool(timestamping.uncapped, `${what} timestamping uncapped`),
    },
    deleteOnEmpty: readDeleteOnEmpty(json.deleteOnEmpty, `${what} deleteOnEmpty`),
  };
}

function readLayer(value: unknown, what: string): StreamConfigLayer {
  const json = closedObj(value, configFields, what);
  const { storageClass, retentionPolicy, timestamping, deleteOnEmpty } = json;
  return {
    ...(storageClass !== undefined && { storageClass: oneOf(storageClass, storageClasses, `${what} storageClass`) }),
    ...(retentionPolicy !== undefined && {
      retentionPolicy: readRetention(retentionPolicy, `${what} retentionPolicy`),
    }),
    ...(timestamping !== undefined && { timestamping: readLayerTimestamping(timestamping, `${what} timestamping`) }),
    ...(deleteOnEmpty !== undefined && { deleteOnEmpty: readDeleteOnEmpty(deleteOnEmpty, `${what} deleteOnEmpty`) }),
  };
}

function readLayerTimestamping(value: unknown, what: string): NonNullable<StreamConfigLayer['timestamping']> {
  const { mode, uncapped } = closedObj(value, ['mode', 'uncapped'], what);
  return {
    ...(mode !== undefined && { mode: oneOf(mode, timestampingModes, `${what} mode`) }),
    ...(uncapped !== undefined && { uncapped: bool(uncapped, `${what} uncapped`) }),
  };
}

function readRetention(value: unknown, what: string): RetentionPolicy {
  const json = closedObj(value, ['kind', 'ageSecs'], what);
  const kind = oneOf(json.kind, retentionKinds, `${what} kind`);
  if (kind === 'infinite') {
    if (json.ageSecs !== undefined) throw new CorruptDataError(`${what}: ageSecs on an infinite policy`);
    return { kind };
  }
  return { kind, ageSecs: int(json.ageSecs, `${what} ageSecs`) };
}

function readDeleteOnEmpty(value: unknown, what: string): { minAgeSecs: number } {
  const json = closedObj(value, ['minAgeSecs'], what);
  return { minAgeSecs: int(json.minAgeSecs, `${what} minAgeSecs`) };
}
