/**
 * Keeps the benchmark harness working: runs `npm run bench:smoke` (seconds-long loads, memory mode,
 * one peer and the node:http ceiling) and checks that it produced a well-formed report whose runs
 * all verified, with the server-side columns and both catch-up paths. It asserts nothing about any
 * number's size: benchmark numbers are reported, never tested.
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

    // Server-side columns: CPU for every system, loop lag and GC for ours (read from /metrics).
    const cell = (w: string, sys: string) => done.find((c) => c.workload === w && c.system === sys);
    const ours = cell('W4', 'ours-memory');
    expect(ours, 'W4 on ours-memory did not complete').toBeDefined();
    for (const k of ['serverCpuS', 'cpuUsPerRec', 'loopP99Ms', 'loopMaxMs', 'gcMs']) {
      expect(Number.isFinite(ours!.metrics[k]), `W4 ours-memory ${k}`).toBe(true);
    }
    // The node:http ceiling ran the unary shapes through the same client, and only those.
    expect(cell('W4', 'node-http-trivial')?.metrics.recPerS).toBeGreaterThan(0);
    expect(report.cells.find((c) => c.workload === 'W5' && c.system === 'node-http-trivial')?.status).toBe('n/a');
    expect(report.targets.find((t) => t.id === 'T13m')?.status).not.toBe('not measured');
    // W8 read our stream twice: unary pages and one S2S read session, both verified above.
    expect(cell('W8', 'ours-memory')?.metrics.catchupS2sMiBps).toBeGreaterThan(0);

    // Medians and targets are derived from those cells, and the markdown carries them.
    expect(report.summaries.some((s) => s.runs > 0)).toBe(true);
    for (const t of report.targets) expect(['met', 'missed', 'not measured']).toContain(t.status);
    const md = readFileSync(path.join(out, 'report.md'), 'utf8');
    expect(md).toContain('### Results (medians)');
    expect(md).toContain('### Targets');
    expect(md).toContain('loop lag p99 ms');
  });
});
