/**
 * Proves name validation (src/engine/names.ts, api.md 11.1-11.2): basin names of 8-48 bytes of
 * [a-z0-9-] starting and ending alphanumeric, list prefixes and cursors that may be empty or
 * short, and stream names of 1-512 UTF-8 bytes other than "." and "..", each with its message.
 */
import { describe, expect, it } from 'vitest';
import {
  basinNameProblem,
  basinPrefixProblem,
  streamNameProblem,
  streamPrefixProblem,
} from '../../src/engine/names.js';

describe('basin names', () => {
  it.each(['abcdefgh', 'my-basin-01', '0123456789', 'a-------b', 'a'.repeat(48)])('accepts %s', (name) => {
    expect(basinNameProblem(name)).toBeNull();
  });

  it.each([
    ['a'.repeat(49), 'basin name must not exceed 48 bytes in length'],
    ['abcdefg', 'basin name should be at least 8 bytes in length'],
    ['', 'basin name should be at least 8 bytes in length'],
    ['-abcdefgh', 'basin name must begin with a lowercase letter or number'],
    ['Abcdefgh', 'basin name must begin with a lowercase letter or number'],
    ['abcdefgh-', 'basin name must end with a lowercase letter or number'],
    ['abcd_efgh', 'basin name must comprise lowercase letters, numbers, and hyphens'],
    ['abcdEfgh', 'basin name must comprise lowercase letters, numbers, and hyphens'],
    ['abcd efgh', 'basin name must comprise lowercase letters, numbers, and hyphens'],
    ['abcdéfgh', 'basin name must comprise lowercase letters, numbers, and hyphens'],
  ])('rejects %j: %s', (name, message) => {
    expect(basinNameProblem(name)).toBe(message);
  });

  it('counts bytes, not characters, against the maximum', () => {
    // 24 two-byte characters are 48 bytes but would also fail the character rule; 47 ASCII + é is 49 bytes.
    expect(basinNameProblem(`${'a'.repeat(47)}é`)).toBe('basin name must not exceed 48 bytes in length');
  });
});

describe('basin list prefixes and cursors', () => {
  it.each(['', 'a', 'my-', '0', 'a'.repeat(48)])('accepts %j', (value) => {
    expect(basinPrefixProblem(value, 'prefix')).toBeNull();
    expect(basinPrefixProblem(value, 'start-after')).toBeNull();
  });

  it.each([
    ['-a', 'prefix', 'basin prefix must begin with a lowercase letter or number'],
    ['A', 'start-after', 'basin start-after must begin with a lowercase letter or number'],
    ['ab_c', 'prefix', 'basin prefix must comprise lowercase letters, numbers, and hyphens'],
    ['a'.repeat(49), 'start-after', 'basin start-after must not exceed 48 bytes in length'],
  ] as const)('rejects %j as %s', (value, what, message) => {
    expect(basinPrefixProblem(value, what)).toBe(message);
  });
});

describe('stream names', () => {
  it.each(['a', 'a/b', ' ', '...', '.a', 'a.', 'ü', '日本語', '\u0000', 'x'.repeat(512), 'é'.repeat(256)])(
    'accepts %j',
    (name) => {
      expect(streamNameProblem(name)).toBeNull();
    },
  );

  it.each([
    ['', 'stream name must not be empty'],
    ['.', 'stream name must not be "." or ".."'],
    ['..', 'stream name must not be "." or ".."'],
    ['x'.repeat(513), 'stream name must not exceed 512 bytes in length'],
    ['é'.repeat(257), 'stream name must not exceed 512 bytes in length'],
  ])('rejects %j', (name, message) => {
    expect(streamNameProblem(name)).toBe(message);
  });

  it('allows any prefix or cursor up to 512 bytes, including "." and ".."', () => {
    for (const value of ['', '.', '..', 'a/', 'x'.repeat(512)]) expect(streamPrefixProblem(value, 'prefix')).toBeNull();
    expect(streamPrefixProblem('x'.repeat(513), 'start-after')).toBe(
      'stream start-after must not exceed 512 bytes in length',
    );
  });
});
