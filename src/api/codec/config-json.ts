/**
 * JSON shapes of the control plane (api.md 4-5): parsing request bodies into engine config
 * values (any shape or type error is 400 bad_json, api.md 1.7) and rendering responses.
 */
import { errors } from '../../domain/errors.js';
import type { BasinConfigPatch, StreamConfigPatch } from '../../engine/config.js';
import type { BasinInfo } from '../../engine/basins.js';
import type { StreamInfo } from '../../engine/streams.js';
import type {
  BasinConfig,
  Cipher,
  RetentionPolicy,
  StorageClass,
  StreamConfig,
  StreamConfigLayer,
  TimestampingMode,
} from '../../domain/types.js';

type Json = Record<string, unknown>;

const storageClasses: readonly StorageClass[] = ['standard', 'express'];
const timestampingModes: readonly TimestampingMode[] = ['client-prefer', 'client-require', 'arrival'];
const ciphers: readonly Cipher[] = ['aegis-256', 'aes-256-gcm'];

function fail(path: string, expected: string): never {
  throw errors.badJson(`Failed to deserialize the JSON body into the target type: ${path}: expected ${expected}`);
}

export function asObject(value: unknown, path: string): Json {
  if (value === null || typeof value !== 'object' || Array.isArray(value)) fail(path, 'an object');
  return value as Json;
}

function asEnum<T extends string>(value: unknown, allowed: readonly T[], path: string): T {
  if (typeof value !== 'string' || !allowed.includes(value as T)) fail(path, `one of ${allowed.join(', ')}`);
  return value as T;
}

function asBool(value: unknown, path: string): boolean {
  if (typeof value !== 'boolean') fail(path, 'a boolean');
  return value;
}

/** A u64 from lossless JSON (number or bigint). Values past 2^53 saturate: they are ages in seconds. */
export function asU64(value: unknown, path: string): number {
  if (typeof value === 'bigint') {
    if (value < 0n || value > 0xffff_ffff_ffff_ffffn) fail(path, 'an unsigned 64-bit integer');
    return value > BigInt(Number.MAX_SAFE_INTEGER) ? Number.MAX_SAFE_INTEGER : Number(value);
  }
  if (typeof value !== 'number' || !Number.isInteger(value) || value < 0) fail(path, 'an unsigned 64-bit integer');
  return value;
}

/** Absent and null both mean "not given" for optional fields of create/ensure bodies. */
const given = (value: unknown): boolean => value !== undefined && value !== null;

function parseRetention(value: unknown, path: string): RetentionPolicy {
  const obj = asObject(value, path);
  const keys = Object.keys(obj);
  if (keys.length !== 1) fail(path, 'exactly one of `age` or `infinite`');
  if (keys[0] === 'age') return { kind: 'age', ageSecs: asU64(obj.age, `${path}.age`) };
  if (keys[0] === 'infinite') {
    asObject(obj.infinite, `${path}.infinite`);
    return { kind: 'infinite' };
  }
  fail(path, '`age` or `infinite`');
}

export function parseStreamConfigLayer(value: unknown, path = 'config'): StreamConfigLayer {
  if (!given(value)) return {};
  const obj = asObject(value, path);
  const layer: StreamConfigLayer = {};
  if (given(obj.storage_class)) layer.storageClass = asEnum(obj.storage_class, storageClasses, `${path}.storage_class`);
  if (given(obj.retention_policy)) layer.retentionPolicy = parseRetention(obj.retention_policy, `${path}.retention_policy`);
  if (given(obj.timestamping)) {
    const ts = asObject(obj.timestamping, `${path}.timestamping`);
    const out: StreamConfigLayer['timestamping'] = {};
    if (given(ts.mode)) out.mode = asEnum(ts.mode, timestampingModes, `${path}.timestamping.mode`);
    if (given(ts.uncapped)) out.uncapped = asBool(ts.uncapped, `${path}.timestamping.uncapped`);
    if (out.mode !== undefined || out.uncapped !== undefined) layer.timestamping = out;
  }
  if (given(obj.delete_on_empty)) {
    const doe = asObject(obj.delete_on_empty, `${path}.delete_on_empty`);
    layer.deleteOnEmpty = { minAgeSecs: given(doe.min_age_secs) ? asU64(doe.min_age_secs, `${path}.delete_on_empty.min_age_secs`) : 0 };
  }
  return layer;
}

/** PATCH field: absent -> undefined (keep), null -> null (reset), value -> parsed. */
function patchField<T>(obj: Json, key: string, parse: (value: unknown) => T): T | null | undefined {
  if (!(key in obj) || obj[key] === undefined) return undefined;
  if (obj[key] === null) return null;
  return parse(obj[key]);
}

export function parseStreamConfigPatch(value: unknown, path = 'body'): StreamConfigPatch {
  const obj = asObject(value, path);
  const patch: StreamConfigPatch = {};
  patch.storageClass = patchField(obj, 'storage_class', (v) => asEnum(v, storageClasses, `${path}.storage_class`));
  patch.retentionPolicy = patchField(obj, 'retention_policy', (v) => parseRetention(v, `${path}.retention_policy`));
  patch.timestamping = patchField(obj, 'timestamping', (v) => {
    const ts = asObject(v, `${path}.timestamping`);
    return {
      mode: patchField(ts, 'mode', (m) => asEnum(m, timestampingModes, `${path}.timestamping.mode`)),
      uncapped: patchField(ts, 'uncapped', (u) => asBool(u, `${path}.timestamping.uncapped`)),
    };
  });
  patch.deleteOnEmpty = patchField(obj, 'delete_on_empty', (v) => {
    const doe = asObject(v, `${path}.delete_on_empty`);
    return { minAgeSecs: patchField(doe, 'min_age_secs', (m) => asU64(m, `${path}.delete_on_empty.min_age_secs`)) };
  });
  return patch;
}

export function parseBasinConfig(value: unknown, path = 'config'): BasinConfig {
  const config: BasinConfig = { createStreamOnAppend: false, createStreamOnRead: false };
  if (!given(value)) return config;
  const obj = asObject(value, path);
  const layer = parseStreamConfigLayer(obj.default_stream_config, `${path}.default_stream_config`);
  if (Object.keys(layer).length > 0) config.defaultStreamConfig = layer;
  if (given(obj.stream_cipher)) config.streamCipher = asEnum(obj.stream_cipher, ciphers, `${path}.stream_cipher`);
  // Lite rejects null for the two flags although the spec marks them nullable (api.md 16.5).
  if (obj.create_stream_on_append !== undefined) {
    config.createStreamOnAppend = asBool(obj.create_stream_on_append, `${path}.create_stream_on_append`);
  }
  if (obj.create_stream_on_read !== undefined) {
    config.createStreamOnRead = asBool(obj.create_stream_on_read, `${path}.create_stream_on_read`);
  }
  return config;
}

export function parseBasinConfigPatch(value: unknown): BasinConfigPatch {
  const obj = asObject(value, 'body');
  const patch: BasinConfigPatch = {};
  patch.defaultStreamConfig = patchField(obj, 'default_stream_config', (v) =>
    parseStreamConfigPatch(v, 'body.default_stream_config'),
  );
  patch.streamCipher = patchField(obj, 'stream_cipher', (v) => asEnum(v, ciphers, 'body.stream_cipher'));
  if (obj.create_stream_on_append !== undefined) {
    patch.createStreamOnAppend = asBool(obj.create_stream_on_append, 'body.create_stream_on_append');
  }
  if (obj.create_stream_on_read !== undefined) {
    patch.createStreamOnRead = asBool(obj.create_stream_on_read, 'body.create_stream_on_read');
  }
  return patch;
}

// ---- Responses -------------------------------------------------------------------------------

function retentionJson(policy: RetentionPolicy): Json {
  return policy.kind === 'infinite' ? { infinite: {} } : { age: policy.ageSecs };
}

/** Resolved form: every field present and non-null (api.md 4.3). */
export function streamConfigJson(config: StreamConfig): Json {
  return {
    storage_class: config.storageClass,
    retention_policy: retentionJson(config.retentionPolicy),
    timestamping: { mode: config.timestamping.mode, uncapped: config.timestamping.uncapped },
    delete_on_empty: { min_age_secs: config.deleteOnEmpty.minAgeSecs },
  };
}

/** Optional form used inside basin configs: unset fields are null. */
export function streamConfigLayerJson(layer: StreamConfigLayer): Json {
  return {
    storage_class: layer.storageClass ?? null,
    retention_policy: layer.retentionPolicy ? retentionJson(layer.retentionPolicy) : null,
    timestamping: layer.timestamping
      ? { mode: layer.timestamping.mode ?? null, uncapped: layer.timestamping.uncapped ?? null }
      : null,
    delete_on_empty: layer.deleteOnEmpty ? { min_age_secs: layer.deleteOnEmpty.minAgeSecs } : null,
  };
}

export function basinConfigJson(config: BasinConfig): Json {
  return {
    default_stream_config: config.defaultStreamConfig ? streamConfigLayerJson(config.defaultStreamConfig) : null,
    stream_cipher: config.streamCipher ?? null,
    create_stream_on_append: config.createStreamOnAppend,
    create_stream_on_read: config.createStreamOnRead,
  };
}

export function rfc3339(ms: number): string {
  return new Date(ms).toISOString();
}

export function basinInfoJson(info: BasinInfo): Json {
  return {
    name: info.name,
    location: null,
    created_at: rfc3339(info.createdAtMs),
    deleted_at: info.deletedAtMs === null ? null : rfc3339(info.deletedAtMs),
    state: info.deletedAtMs === null ? 'active' : 'deleting',
  };
}

export function streamInfoJson(info: StreamInfo): Json {
  return {
    name: info.name,
    created_at: rfc3339(info.createdAtMs),
    deleted_at: info.deletedAtMs === null ? null : rfc3339(info.deletedAtMs),
    cipher: info.cipher,
  };
}
