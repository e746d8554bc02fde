/**
 * The checker on generated histories of thousands of operations (test/verify/generate.ts: concurrent
 * clients against a perfect stream, with conditions, fences and indefinite failures): each must be
 * decided linearizable, and a single corrupted outcome (a read's hash, an acknowledged tail) must
 * be caught and pinned to its line. Speed is measured outside the test suite (docs/testing.md); the
 * step budget here only turns a search blow-up into a failure rather than a hang.
 */
import { describe, expect, it } from 'vitest';
import { checkHistory } from '../../src/verify/checker.js';
import { formatEvent, parseHistory, type ParsedLine } from '../../src/verify/history.js';
import { generateHistory } from './generate.js';

const maxSteps = 2_000_000;

function corrupt(lines: ParsedLine[], kind: 'readSuccess' | 'appendSuccess'): { text: string; line: number } {
  const candidates = lines.filter((l) => l.event.type === 'finish' && l.event.ret.kind === kind);
  const target = candidates[Math.floor(candidates.length / 2)]!;
  const event = target.event;
  if (event.type !== 'finish') throw new Error('unreachable');
  const ret = event.ret;
  if (ret.kind === 'readSuccess') ret.streamHash ^= 1n;
  else if (ret.kind === 'appendSuccess') ret.tail += 1n;
  const text = lines.map((l) => (l === target ? formatEvent(event) : l.text)).join('\n');
  return { text, line: target.line };
}

describe('generated histories', () => {
  for (const [seed, operations, clients] of [
    [1, 4000, 8],
    [2, 4000, 16],
    [3, 3000, 32],
  ] as const) {
    it(`decides ${operations} operations of ${clients} clients (seed ${seed})`, () => {
      const text = generateHistory({ seed, operations, clients, indefiniteRate: 0.02 });
      const result = checkHistory(parseHistory(text), { maxSteps });
      expect(result.summary).toMatch(/^linearizable/);
      expect(result.stats.operations).toBe(operations);
      expect(result.stats.indefiniteFailures).toBeGreaterThan(0);
      expect(result.stats.definiteFailures).toBeGreaterThan(0);
    });
  }

  it('catches one corrupted read hash and one corrupted acknowledgement in thousands of operations', () => {
    const text = generateHistory({ seed: 4, operations: 3000, clients: 8, indefiniteRate: 0.02 });
    for (const kind of ['readSuccess', 'appendSuccess'] as const) {
      const bad = corrupt(parseHistory(text), kind);
      const result = checkHistory(parseHistory(bad.text), { maxSteps });
      expect(result.verdict).toBe('not-linearizable');
      // A changed hash is wrong exactly there; a changed tail may already contradict an earlier read.
      if (kind === 'readSuccess') expect(result.summary).toContain(`at line ${bad.line}:`);
    }
  });
});
