/**
 * Keeps the benchmark harness working: runs `npm run bench:smoke` (seconds-long loads, memory mode,
 * one peer) and checks that it produced a well-formed report whose runs all verified. It asserts
 * nothing about any number's size: benchmark numbers are reported, never tested.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import type { Report } from '../../bench/report.js';
import { repoRoot } from '../support/server.js';

const out = mkdtempSync(path.join(os.tmpdir(), 'bench-smoke-'));
afterAll(() => rmSync(out, { recursive: true, force: true }));

describe('npm run bench:smoke', () => {
  it('writes a well-formed report in which every completed run verified', { timeout: 240_000 }, () => {
    const run = spawnSync('npm', ['run', '--silent', 'bench:smoke', '--', '--out', out], {
      cwd: repoRoot,
      encoding: 'utf8',
      timeout: 230_000,
    });
    expect(run.status, run.stderr.slice(-2000)).toBe(0);

    const report = JSON.parse(readFileSync(path.join(out, 'report.json'), 'utf8')) as Report;
    expect(report.meta.smoke).toBe(true);
    expect(report.meta.machine.cpus).toBeGreaterThan(0);
    expect(report.systems.length).toBeGreaterThan(0);
    for (const s of report.systems) {
      expect(typeof s.available).toBe('boolean');
      if (!s.available) expect(s.reason, `${s.id} unavailable without a reason`).toBeTruthy();
    }

    // Every cell is accounted for: completed, or explicitly not applicable/unavailable with a reason.
    expect(report.cells.length).toBeGreaterThan(0);
    for (const c of report.cells) {
      expect(['ok', 'n/a'], `${c.workload} on ${c.system}: ${c.status} ${c.reason ?? ''}`).toContain(c.status);
      if (c.status === 'n/a') expect(c.reason).toBeTruthy();
    }
    const done = report.cells.filter((c) => c.status === 'ok');
    expect(done.length, 'no workload completed on any system').toBeGreaterThan(0);
    for (const c of done) {
      expect(c.verification?.ok, `${c.workload} on ${c.system}: ${c.verification?.details.join('; ')}`).toBe(true);
      expect(c.loadavg).toMatch(/^\d/);
      for (const [k, v] of Object.entries(c.metrics)) expect(typeof v, k).toBe('number');
    }

    // Medians and targets are derived from those cells, and the markdown carries them.
    expect(report.summaries.some((s) => s.runs > 0)).toBe(true);
    for (const t of report.targets) expect(['met', 'missed', 'not measured']).toContain(t.status);
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toContain('### Results (medians)');
    expect(md).toContain('### Targets');
  });
});
