/**
 * Proves how `serve` reads its storage flags (src/cli/serve-options.ts): memory by default, local disk or
 * S3 when asked, the two together refused, and the storage line it prints for each.
 */
import { describe, expect, it } from 'vitest';
import { describeStorage, storageMode } from '../../src/lite/options.js';
import { serveDefaults, type ServeOptions } from '../../src/cli/serve-options.js';
import { parseSize } from '../../src/util/units.js';

const base: ServeOptions = {
  host: '127.0.0.1',
  path: '',
  tlsSelf: false,
  cors: true,
  appendInflightBytes: serveDefaults.appendInflightBytes,
  logLevel: 'info',
};

describe('serve options', () => {
  it('defaults to in-memory storage and says that data is lost on exit', () => {
    const mode = storageMode(base);
    expect(mode).toEqual({ kind: 'memory' });
    expect(describeStorage(mode)).toMatch(/^in-memory/);
  });

  it('selects local disk or an S3 bucket (with its prefix)', () => {
    expect(storageMode({ ...base, localRoot: 'data' })).toEqual({ kind: 'local', root: 'data' });
    expect(describeStorage({ kind: 'local', root: 'data' })).toContain('local disk at data');
    expect(storageMode({ ...base, bucket: 'b', path: 'p/' })).toEqual({ kind: 's3', bucket: 'b', prefix: 'p/' });
    expect(describeStorage({ kind: 's3', bucket: 'b', prefix: 'p/' })).toBe('S3 bucket b under p/');
  });

  it('refuses --local-root together with --bucket', () => {
    expect(() => storageMode({ ...base, localRoot: 'data', bucket: 'b' })).toThrow(/cannot be used together/);
  });

  it('has a default append budget of 128 MiB written in a form the size parser reads', () => {
    expect(parseSize(serveDefaults.appendInflightBytes)).toBe(128 * 1024 * 1024);
  });
});
