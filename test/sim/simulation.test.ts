/**
 * The seeded simulation (sim/): the engine and storage on a manual clock under store faults,
 * crashes and takeovers. It proves three things: a seed replays exactly (the same trace twice),
 * every seed of the CI budget yields a linearizable history, and each injected bug of sim/bugs.ts
 * is caught within that budget. SIM_SEEDS sets the budget (default 300).
 */
import { describe, expect, it } from 'vitest';
import { bugNames } from '../../sim/bugs.js';
import { replayCommand, runSimulation } from '../../sim/run.js';

const seeds = Number(process.env.SIM_SEEDS ?? 300);

describe('seeded simulation', () => {
  it('replays a seed exactly: the same trace twice, another trace for another seed', async () => {
    const first = await runSimulation({ seed: 7 });
    const again = await runSimulation({ seed: 7 });
    const other = await runSimulation({ seed: 8 });
    expect(again.traceHash).toBe(first.traceHash);
    expect(again.trace.length).toBe(first.trace.length);
    expect(other.traceHash).not.toBe(first.traceHash);
  }, 120_000);

  it(`finds every one of ${seeds} seeds linearizable under faults`, async () => {
    const failures: string[] = [];
    const totals = { operations: 0, indefinite: 0, faults: 0, crashes: 0, takeovers: 0 };
    for (let seed = 1; seed <= seeds; seed++) {
      const result = await runSimulation({ seed });
      totals.operations += result.check.stats.operations;
      totals.indefinite += result.check.stats.indefiniteFailures;
      totals.faults += result.faults;
      totals.crashes += result.crashes;
      totals.takeovers += result.takeovers;
      if (!result.ok)
        failures.push(`${result.check.summary}\n${result.check.report ?? ''}\nreplay: ${replayCommand(seed)}`);
    }
    expect(failures).toEqual([]);
    // Not vacuous: the faults happened and left indefinite outcomes for the checker to resolve.
    expect(totals.crashes).toBeGreaterThan(seeds / 10);
    expect(totals.takeovers).toBeGreaterThan(seeds / 10);
    expect(totals.faults).toBeGreaterThan(seeds);
    expect(totals.indefinite).toBeGreaterThan(seeds / 10);
    expect(totals.operations).toBeGreaterThan(seeds * 100);
  }, 600_000);

  for (const bug of bugNames) {
    it(`catches the injected bug ${bug} within the seed budget`, async () => {
      let caught: number | undefined;
      for (let seed = 1; seed <= seeds && caught === undefined; seed++) {
        const result = await runSimulation({ seed, bug });
        if (result.check.verdict === 'not-linearizable') caught = seed;
      }
      expect(caught, `no seed up to ${seeds} caught ${bug}`).toBeDefined();
    }, 600_000);
  }
});
