/**
 * Stream configuration layers (api.md section 5): a stream's effective config is resolved field by
 * field from the stream's own request, then the basin's default stream config, then the system
 * defaults. Resolution happens when a stream is created, ensured or reconfigured; the stored
 * config is the resolved one, so later basin-default changes never touch existing streams.
 */
import type {
  BasinConfig,
  Cipher,
  RetentionPolicy,
  StorageClass,
  StreamConfig,
  StreamConfigLayer,
  TimestampingMode,
} from '../domain/types.js';

export const systemDefaultStreamConfig: StreamConfig = Object.freeze({
  storageClass: 'express',
  retentionPolicy: { kind: 'age', ageSecs: 604_800 },
  timestamping: { mode: 'client-prefer', uncapped: false },
  deleteOnEmpty: { minAgeSecs: 0 },
}) as StreamConfig;

export const defaultBasinConfig = (): BasinConfig => ({ createStreamOnAppend: false, createStreamOnRead: false });

/** PATCH semantics: absent = keep, null = reset to the inherited default, value = set. */
export interface StreamConfigPatch {
  storageClass?: StorageClass | null;
  retentionPolicy?: RetentionPolicy | null;
  timestamping?: { mode?: TimestampingMode | null; uncapped?: boolean | null } | null;
  deleteOnEmpty?: { minAgeSecs?: number | null } | null;
}

export interface BasinConfigPatch {
  defaultStreamConfig?: StreamConfigPatch | null;
  streamCipher?: Cipher | null;
  createStreamOnAppend?: boolean;
  createStreamOnRead?: boolean;
}

export function resolveStreamConfig(layer: StreamConfigLayer, basinDefaults?: StreamConfigLayer): StreamConfig {
  const base = basinDefaults ?? {};
  const system = systemDefaultStreamConfig;
  return {
    storageClass: layer.storageClass ?? base.storageClass ?? system.storageClass,
    retentionPolicy: layer.retentionPolicy ?? base.retentionPolicy ?? system.retentionPolicy,
    timestamping: {
      mode: layer.timestamping?.mode ?? base.timestamping?.mode ?? system.timestamping.mode,
      uncapped: layer.timestamping?.uncapped ?? base.timestamping?.uncapped ?? system.timestamping.uncapped,
    },
    deleteOnEmpty: {
      minAgeSecs:
        layer.deleteOnEmpty?.minAgeSecs ?? base.deleteOnEmpty?.minAgeSecs ?? system.deleteOnEmpty.minAgeSecs,
    },
  };
}

/** A resolved config seen as a layer with every field set (the base a PATCH applies to). */
export function layerFromResolved(config: StreamConfig): StreamConfigLayer {
  return {
    storageClass: config.storageClass,
    retentionPolicy: config.retentionPolicy,
    timestamping: { ...config.timestamping },
    deleteOnEmpty: { ...config.deleteOnEmpty },
  };
}

/** Applies a PATCH to a layer; reset fields become unset so resolution falls through. */
export function patchStreamLayer(layer: StreamConfigLayer, patch: StreamConfigPatch): StreamConfigLayer {
  const out: StreamConfigLayer = {
    ...layer,
    timestamping: layer.timestamping && { ...layer.timestamping },
    deleteOnEmpty: layer.deleteOnEmpty && { ...layer.deleteOnEmpty },
  };
  if (patch.storageClass !== undefined) out.storageClass = patch.storageClass ?? undefined;
  if (patch.retentionPolicy !== undefined) out.retentionPolicy = patch.retentionPolicy ?? undefined;
  if (patch.timestamping === null) {
    out.timestamping = undefined;
  } else if (patch.timestamping !== undefined) {
    const ts = { ...(out.timestamping ?? {}) };
    if (patch.timestamping.mode !== undefined) ts.mode = patch.timestamping.mode ?? undefined;
    if (patch.timestamping.uncapped !== undefined) ts.uncapped = patch.timestamping.uncapped ?? undefined;
    out.timestamping = ts.mode === undefined && ts.uncapped === undefined ? undefined : ts;
  }
  if (patch.deleteOnEmpty === null) {
    out.deleteOnEmpty = undefined;
  } else if (patch.deleteOnEmpty !== undefined) {
    const minAgeSecs = patch.deleteOnEmpty.minAgeSecs;
    if (minAgeSecs !== undefined) out.deleteOnEmpty = minAgeSecs === null ? undefined : { minAgeSecs };
  }
  return normalizeLayer(out);
}

export function patchBasinConfig(config: BasinConfig, patch: BasinConfigPatch): BasinConfig {
  const out: BasinConfig = { ...config };
  if (patch.defaultStreamConfig === null) {
    out.defaultStreamConfig = undefined;
  } else if (patch.defaultStreamConfig !== undefined) {
    const layer = patchStreamLayer(config.defaultStreamConfig ?? {}, patch.defaultStreamConfig);
    out.defaultStreamConfig = isEmptyLayer(layer) ? undefined : layer;
  }
  if (patch.streamCipher !== undefined) out.streamCipher = patch.streamCipher ?? undefined;
  if (patch.createStreamOnAppend !== undefined) out.createStreamOnAppend = patch.createStreamOnAppend;
  if (patch.createStreamOnRead !== undefined) out.createStreamOnRead = patch.createStreamOnRead;
  return out;
}

export function isEmptyLayer(layer: StreamConfigLayer): boolean {
  return (
    layer.storageClass === undefined &&
    layer.retentionPolicy === undefined &&
    layer.timestamping === undefined &&
    layer.deleteOnEmpty === undefined
  );
}

/** Drops unset members so equal layers compare equal. */
export function normalizeLayer(layer: StreamConfigLayer): StreamConfigLayer {
  const out: StreamConfigLayer = {};
  if (layer.storageClass !== undefined) out.storageClass = layer.storageClass;
  if (layer.retentionPolicy !== undefined) out.retentionPolicy = layer.retentionPolicy;
  if (layer.timestamping && (layer.timestamping.mode !== undefined || layer.timestamping.uncapped !== undefined)) {
    out.timestamping = {};
    if (layer.timestamping.mode !== undefined) out.timestamping.mode = layer.timestamping.mode;
    if (layer.timestamping.uncapped !== undefined) out.timestamping.uncapped = layer.timestamping.uncapped;
  }
  if (layer.deleteOnEmpty !== undefined) out.deleteOnEmpty = { minAgeSecs: layer.deleteOnEmpty.minAgeSecs };
  return out;
}

export function normalizeBasinConfig(config: BasinConfig): BasinConfig {
  const layer = config.defaultStreamConfig && normalizeLayer(config.defaultStreamConfig);
  const out: BasinConfig = {
    createStreamOnAppend: config.createStreamOnAppend,
    createStreamOnRead: config.createStreamOnRead,
  };
  if (layer && !isEmptyLayer(layer)) out.defaultStreamConfig = layer;
  if (config.streamCipher !== undefined) out.streamCipher = config.streamCipher;
  return out;
}

/** Structural equality of plain config values (no functions, no cycles). */
export function configsEqual(a: unknown, b: unknown): boolean {
  return canonicalJson(a) === canonicalJson(b);
}

/** Deterministic JSON (sorted keys, undefined dropped) for comparisons and idempotency keys. */
export function canonicalJson(value: unknown): string {
  if (value === null || typeof value !== 'object') {
    return typeof value === 'bigint' ? value.toString() : JSON.stringify(value) ?? 'null';
  }
  if (Array.isArray(value)) return `[${value.map(canonicalJson).join(',')}]`;
  const entries = Object.entries(value as Record<string, unknown>)
    .filter(([, v]) => v !== undefined)
    .sort(([a], [b]) => (a < b ? -1 : a > b ? 1 : 0));
  return `{${entries.map(([k, v]) => `${JSON.stringify(k)}:${canonicalJson(v)}`).join(',')}}`;
}

/** Retention age in ms, or null for infinite retention. */
export function retentionMs(policy: RetentionPolicy): number | null {
  return policy.kind === 'infinite' ? null : policy.ageSecs * 1000;
}
