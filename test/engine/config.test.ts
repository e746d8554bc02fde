/**
 * Proves config resolution and patching (src/engine/config.ts, api.md 5): field-by-field
 * resolution stream -> basin default -> system default, three-state PATCH of stream layers and
 * basin configs, normalization (so equal configs compare equal and explicit zeros survive),
 * canonical JSON for idempotency keys, and the 422 checks of validate-config.
 */
import { describe, expect, it } from 'vitest';
import { creationKey } from '../../src/engine/basins.js';
import {
  canonicalJson,
  configsEqual,
  isEmptyLayer,
  layerFromResolved,
  normalizeBasinConfig,
  normalizeLayer,
  patchBasinConfig,
  patchStreamLayer,
  resolveStreamConfig,
  retentionMs,
  systemDefaultStreamConfig,
} from '../../src/engine/config.js';
import type { BasinConfig, StreamConfig, StreamConfigLayer } from '../../src/domain/types.js';
import { validateLayer, validatePatch } from '../../src/engine/validate-config.js';

const system: StreamConfig = {
  storageClass: 'express',
  retentionPolicy: { kind: 'age', ageSecs: 604_800 },
  timestamping: { mode: 'client-prefer', uncapped: false },
  deleteOnEmpty: { minAgeSecs: 0 },
};

describe('resolveStreamConfig', () => {
  it('gives the system defaults for an empty request and no basin defaults', () => {
    expect(resolveStreamConfig({})).toEqual(system);
    expect(resolveStreamConfig({}, {})).toEqual(system);
    expect(systemDefaultStreamConfig).toEqual(system);
  });

  it('takes each field from the request, else the basin default, else the system default', () => {
    const basin: StreamConfigLayer = {
      storageClass: 'standard',
      retentionPolicy: { kind: 'infinite' },
      timestamping: { mode: 'arrival' },
      deleteOnEmpty: { minAgeSecs: 60 },
    };
    expect(resolveStreamConfig({ retentionPolicy: { kind: 'age', ageSecs: 10 } }, basin)).toEqual({
      storageClass: 'standard',
      retentionPolicy: { kind: 'age', ageSecs: 10 },
      timestamping: { mode: 'arrival', uncapped: false },
      deleteOnEmpty: { minAgeSecs: 60 },
    });
  });

  it('resolves timestamping mode and uncapped independently', () => {
    const resolved = resolveStreamConfig(
      { timestamping: { uncapped: true } },
      { timestamping: { mode: 'client-require' } },
    );
    expect(resolved.timestamping).toEqual({ mode: 'client-require', uncapped: true });
    const other = resolveStreamConfig({ timestamping: { mode: 'arrival' } }, { timestamping: { uncapped: true } });
    expect(other.timestamping).toEqual({ mode: 'arrival', uncapped: true });
  });

  it('lets an explicit min_age 0 and uncapped false override basin defaults', () => {
    const resolved = resolveStreamConfig(
      { deleteOnEmpty: { minAgeSecs: 0 }, timestamping: { uncapped: false } },
      { deleteOnEmpty: { minAgeSecs: 300 }, timestamping: { uncapped: true } },
    );
    expect(resolved.deleteOnEmpty).toEqual({ minAgeSecs: 0 });
    expect(resolved.timestamping.uncapped).toBe(false);
  });

  it('never shares objects with the frozen system defaults', () => {
    const resolved = resolveStreamConfig({});
    resolved.timestamping.mode = 'arrival';
    resolved.deleteOnEmpty.minAgeSecs = 5;
    expect(resolveStreamConfig({})).toEqual(system);
  });
});

describe('patchStreamLayer', () => {
  const full = layerFromResolved({
    storageClass: 'standard',
    retentionPolicy: { kind: 'infinite' },
    timestamping: { mode: 'arrival', uncapped: true },
    deleteOnEmpty: { minAgeSecs: 30 },
  });

  it('keeps absent fields and sets given ones', () => {
    expect(patchStreamLayer(full, {})).toEqual(full);
    expect(patchStreamLayer(full, { storageClass: 'express' })).toEqual({ ...full, storageClass: 'express' });
    expect(patchStreamLayer(full, { deleteOnEmpty: { minAgeSecs: 90 } }).deleteOnEmpty).toEqual({ minAgeSecs: 90 });
  });

  it('unsets null fields so that resolution falls through', () => {
    const patched = patchStreamLayer(full, {
      storageClass: null,
      retentionPolicy: null,
      timestamping: null,
      deleteOnEmpty: null,
    });
    expect(patched).toEqual({});
    expect(isEmptyLayer(patched)).toBe(true);
  });

  it('patches nested timestamping members one by one and drops an object left empty', () => {
    expect(patchStreamLayer(full, { timestamping: { mode: null } }).timestamping).toEqual({ uncapped: true });
    expect(patchStreamLayer(full, { timestamping: { uncapped: false } }).timestamping).toEqual({
      mode: 'arrival',
      uncapped: false,
    });
    expect(patchStreamLayer(full, { timestamping: { mode: null, uncapped: null } }).timestamping).toBeUndefined();
    expect(patchStreamLayer({}, { timestamping: { mode: 'arrival' } }).timestamping).toEqual({ mode: 'arrival' });
  });

  it('resets delete_on_empty when its min_age is null, and keeps it when the member is absent', () => {
    expect(patchStreamLayer(full, { deleteOnEmpty: { minAgeSecs: null } }).deleteOnEmpty).toBeUndefined();
    expect(patchStreamLayer(full, { deleteOnEmpty: {} }).deleteOnEmpty).toEqual({ minAgeSecs: 30 });
  });

  it('does not modify its input', () => {
    const before = JSON.stringify(full);
    patchStreamLayer(full, { timestamping: { mode: 'client-require' }, deleteOnEmpty: { minAgeSecs: 1 } });
    expect(JSON.stringify(full)).toBe(before);
  });

  it('with resolution, reproduces the reconfigure rule: nulls fall back to the basin, then the system', () => {
    const stored = resolveStreamConfig({ storageClass: 'standard', retentionPolicy: { kind: 'age', ageSecs: 10 } });
    const basinNow: StreamConfigLayer = { retentionPolicy: { kind: 'infinite' } };
    const layer = patchStreamLayer(layerFromResolved(stored), { storageClass: null, retentionPolicy: null });
    expect(resolveStreamConfig(layer, basinNow)).toEqual({ ...system, retentionPolicy: { kind: 'infinite' } });
  });
});

describe('patchBasinConfig', () => {
  const base: BasinConfig = {
    createStreamOnAppend: true,
    createStreamOnRead: false,
    streamCipher: 'aegis-256',
    defaultStreamConfig: { storageClass: 'standard', timestamping: { mode: 'arrival', uncapped: true } },
  };

  it('keeps absent fields, sets flags and patches the default stream layer recursively', () => {
    const patched = patchBasinConfig(base, {
      createStreamOnRead: true,
      defaultStreamConfig: { timestamping: { mode: null } },
    });
    expect(patched).toEqual({
      ...base,
      createStreamOnRead: true,
      defaultStreamConfig: { storageClass: 'standard', timestamping: { uncapped: true } },
    });
  });

  it('clears the cipher and the whole default layer on null, and a layer emptied by the patch', () => {
    expect(patchBasinConfig(base, { streamCipher: null }).streamCipher).toBeUndefined();
    expect(patchBasinConfig(base, { defaultStreamConfig: null }).defaultStreamConfig).toBeUndefined();
    const emptied = patchBasinConfig(base, { defaultStreamConfig: { storageClass: null, timestamping: null } });
    expect(emptied.defaultStreamConfig).toBeUndefined();
  });

  it('creates a default layer on a basin that had none', () => {
    const plain: BasinConfig = { createStreamOnAppend: false, createStreamOnRead: false };
    expect(
      patchBasinConfig(plain, { defaultStreamConfig: { deleteOnEmpty: { minAgeSecs: 0 } } }).defaultStreamConfig,
    ).toEqual({
      deleteOnEmpty: { minAgeSecs: 0 },
    });
  });
});

describe('normalization and equality', () => {
  it('drops unset members so equal layers compare equal', () => {
    const messy: StreamConfigLayer = {
      storageClass: undefined,
      timestamping: { mode: undefined, uncapped: undefined },
    };
    expect(normalizeLayer(messy)).toEqual({});
    expect(configsEqual(normalizeLayer(messy), {})).toBe(true);
  });

  it('keeps an explicit delete_on_empty of 0 (distinct from unset)', () => {
    const explicit = normalizeLayer({ deleteOnEmpty: { minAgeSecs: 0 } });
    expect(explicit).toEqual({ deleteOnEmpty: { minAgeSecs: 0 } });
    expect(configsEqual(explicit, normalizeLayer({}))).toBe(false);
  });

  it('drops an empty default layer and an absent cipher from a basin config', () => {
    const config = normalizeBasinConfig({
      createStreamOnAppend: false,
      createStreamOnRead: true,
      defaultStreamConfig: {},
    });
    expect(config).toEqual({ createStreamOnAppend: false, createStreamOnRead: true });
    expect(Object.keys(config)).not.toContain('defaultStreamConfig');
  });

  it('compares configs independently of key order', () => {
    expect(configsEqual({ a: 1, b: { c: 2, d: [1, 2] } }, { b: { d: [1, 2], c: 2 }, a: 1 })).toBe(true);
    expect(configsEqual({ a: [1, 2] }, { a: [2, 1] })).toBe(false);
    expect(canonicalJson({ b: 1, a: undefined, c: 10n })).toBe('{"b":1,"c":10}');
  });

  it('derives a creation key from token and config that changes with either', () => {
    const config = normalizeBasinConfig({ createStreamOnAppend: true, createStreamOnRead: false });
    const key = creationKey('token', config);
    expect(key).toMatch(/^[0-9a-f]{64}$/);
    expect(creationKey('token', { ...config })).toBe(key);
    expect(creationKey('token2', config)).not.toBe(key);
    expect(creationKey('token', { ...config, createStreamOnAppend: false })).not.toBe(key);
    // Token and config are length-delimited: moving bytes between them changes the key.
    expect(creationKey('a', 'bc')).not.toBe(creationKey('ab', 'c'));
  });

  it('gives the retention in ms, or null for infinite', () => {
    expect(retentionMs({ kind: 'age', ageSecs: 2 })).toBe(2000);
    expect(retentionMs({ kind: 'infinite' })).toBeNull();
  });
});

describe('validate-config', () => {
  it('rejects a retention age of 0 with invalid, in layers and patches', () => {
    expect(() => validateLayer({ retentionPolicy: { kind: 'age', ageSecs: 0 } })).toThrow(
      expect.objectContaining({ code: 'invalid', message: 'age must be greater than 0 seconds' }),
    );
    expect(() => validatePatch({ retentionPolicy: { kind: 'age', ageSecs: 0 } })).toThrow(
      expect.objectContaining({ code: 'invalid' }),
    );
  });

  it('accepts positive ages, infinite retention, resets and absent fields', () => {
    expect(() => validateLayer({ retentionPolicy: { kind: 'age', ageSecs: 1 } })).not.toThrow();
    expect(() => validateLayer({ retentionPolicy: { kind: 'infinite' } })).not.toThrow();
    expect(() => validateLayer({})).not.toThrow();
    expect(() => validatePatch({ retentionPolicy: null })).not.toThrow();
  });
});
