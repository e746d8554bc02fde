/**
 * Proves the init-file resource spec parser (src/lite/spec.ts, lite-internals 4.2): the documented
 * shape with human durations maps onto engine configs, and it is strict (unknown fields,
 * duplicate names, zero retention, bad names and types are errors naming the offending path).
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { loadResourceSpec, parseResourceSpec } from '../../src/lite/spec.js';

describe('parseResourceSpec', () => {
  it('maps basins, streams and their configs, durations in seconds', () => {
    const spec = parseResourceSpec({
      basins: [
        {
          name: 'my-basin-01',
          config: {
            create_stream_on_append: true,
            create_stream_on_read: false,
            stream_cipher: 'aes-256-gcm',
            default_stream_config: { retention_policy: '7d', storage_class: 'standard' },
          },
          streams: [
            {
              name: 'orders',
              config: {
                retention_policy: 'infinite',
                timestamping: { mode: 'arrival', uncapped: true },
                delete_on_empty: { min_age: '1h' },
              },
            },
            { name: 'a/b' },
          ],
        },
        { name: 'other-basin' },
      ],
    });
    expect(spec).toEqual({
      basins: [
        {
          name: 'my-basin-01',
          config: {
            createStreamOnAppend: true,
            createStreamOnRead: false,
            streamCipher: 'aes-256-gcm',
            defaultStreamConfig: { retentionPolicy: { kind: 'age', ageSecs: 604_800 }, storageClass: 'standard' },
          },
          streams: [
            {
              name: 'orders',
              config: {
                retentionPolicy: { kind: 'infinite' },
                timestamping: { mode: 'arrival', uncapped: true },
                deleteOnEmpty: { minAgeSecs: 3600 },
              },
            },
            { name: 'a/b', config: {} },
          ],
        },
        { name: 'other-basin', config: { createStreamOnAppend: false, createStreamOnRead: false }, streams: [] },
      ],
    });
  });

  it('treats delete_on_empty without min_age as an explicit 0, and an empty spec as no basins', () => {
    const spec = parseResourceSpec({
      basins: [{ name: 'doe-basin-1', streams: [{ name: 's', config: { delete_on_empty: {} } }] }],
    });
    expect(spec.basins[0]!.streams[0]!.config).toEqual({ deleteOnEmpty: { minAgeSecs: 0 } });
    expect(parseResourceSpec({ basins: [] })).toEqual({ basins: [] });
  });

  it.each([
    ['an unknown top-level field', { basins: [], extra: 1 }, /spec: unknown field `extra`/],
    [
      'an unknown basin field',
      { basins: [{ name: 'basin-one-1', cfg: {} }] },
      /spec\.basins\[0\]: unknown field `cfg`/,
    ],
    [
      'an unknown basin config field',
      { basins: [{ name: 'basin-one-1', config: { create_streams: true } }] },
      /spec\.basins\[0\]\.config: unknown field `create_streams`/,
    ],
    [
      'an unknown stream config field',
      { basins: [{ name: 'basin-one-1', streams: [{ name: 's', config: { retention: '1d' } }] }] },
      /spec\.basins\[0\]\.streams\[0\]\.config: unknown field `retention`/,
    ],
    [
      'min_age_secs instead of min_age',
      { basins: [{ name: 'basin-one-1', streams: [{ name: 's', config: { delete_on_empty: { min_age_secs: 5 } } }] }] },
      /unknown field `min_age_secs`/,
    ],
    [
      'a duplicate basin',
      { basins: [{ name: 'basin-one-1' }, { name: 'basin-one-1' }] },
      /spec\.basins\[1\]\.name: duplicate basin `basin-one-1`/,
    ],
    [
      'a duplicate stream',
      { basins: [{ name: 'basin-one-1', streams: [{ name: 's' }, { name: 's' }] }] },
      /spec\.basins\[0\]\.streams\[1\]\.name: duplicate stream `s`/,
    ],
    [
      'a zero retention',
      { basins: [{ name: 'basin-one-1', config: { default_stream_config: { retention_policy: '0d' } } }] },
      /retention_policy: must be greater than 0 seconds/,
    ],
    [
      'a sub-second retention',
      { basins: [{ name: 'basin-one-1', streams: [{ name: 's', config: { retention_policy: '500ms' } }] }] },
      /retention_policy: must be greater than 0 seconds/,
    ],
    [
      'a numeric retention',
      { basins: [{ name: 'basin-one-1', streams: [{ name: 's', config: { retention_policy: 3600 } }] }] },
      /expected a duration/,
    ],
    ['an invalid basin name', { basins: [{ name: 'NO' }] }, /spec\.basins\[0\]\.name: basin name/],
    [
      'an invalid stream name',
      { basins: [{ name: 'basin-one-1', streams: [{ name: '..' }] }] },
      /stream name must not be/,
    ],
    ['a non-array basins', { basins: {} }, /spec\.basins: expected an array/],
    ['a missing basins', {}, /spec\.basins: expected an array/],
    [
      'a bad storage class',
      { basins: [{ name: 'basin-one-1', streams: [{ name: 's', config: { storage_class: 'cold' } }] }] },
      /storage_class: expected one of/,
    ],
    [
      'a bad cipher',
      { basins: [{ name: 'basin-one-1', config: { stream_cipher: 'rot13' } }] },
      /stream_cipher: expected one of/,
    ],
    [
      'a non-boolean flag',
      { basins: [{ name: 'basin-one-1', config: { create_stream_on_read: 'yes' } }] },
      /expected true or false/,
    ],
  ])('rejects %s', (_what, value, message) => {
    expect(() => parseResourceSpec(value)).toThrow(message);
  });
});

describe('loadResourceSpec', () => {
  it('reads a file, and reports unreadable files and invalid JSON clearly', () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's2-lite-spec-test-'));
    try {
      const good = path.join(dir, 'good.json');
      writeFileSync(good, JSON.stringify({ basins: [{ name: 'file-basin-1' }] }));
      expect(loadResourceSpec(good).basins.map((b) => b.name)).toEqual(['file-basin-1']);
      const bad = path.join(dir, 'bad.json');
      writeFileSync(bad, '{"basins": [');
      expect(() => loadResourceSpec(bad)).toThrow(/^spec file .*bad\.json is not valid JSON/);
      expect(() => loadResourceSpec(path.join(dir, 'absent.json'))).toThrow(/^cannot read spec file .*absent\.json/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
