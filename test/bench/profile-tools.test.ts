/**
 * Proves the profiling tools tell the truth about a real process: a Node child run under
 * `--cpu-prof` with `bench/lag-trace.mjs` preloaded blocks its event loop in one known function,
 * and `bench/profile-analyze.ts` finds that stall, on the same clock as the profile, with the
 * function's samples inside it; the loop probe of the Node peers reports the same stall by signal.
 * The blocking is 300 ms of busy work against detection thresholds of a few ms, so the machine's
 * load cannot change the outcome.
 */
import { spawn, spawnSync } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { PROBE_FILE_ENV } from '../../bench/lib/loop-probe.js';
import { ServerMeter } from '../../bench/lib/server-stats.js';
import { breakdown, ProfileIndex, type CpuProfile, type LagTrace } from '../../bench/profile-analyze.js';
import { repoRoot } from '../support/server.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 'profile-tools-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

const blocker = `
function blockTheLoop() {
  const until = Date.now() + 300;
  let x = 0;
  while (Date.now() < until) x += Math.sqrt(x + 1);
  return x;
}
setTimeout(() => { blockTheLoop(); setTimeout(() => {}, 50); }, 100);
`;

describe('profile tools', () => {
  it('find a 300 ms event-loop stall and the function that caused it', { timeout: 60_000 }, () => {
    const script = path.join(dir, 'blocker.mjs');
    writeFileSync(script, blocker);
    const lagFile = path.join(dir, 'lag.json');
    const run = spawnSync(
      process.execPath,
      ['--cpu-prof', '--cpu-prof-dir', dir, '--import', path.join(repoRoot, 'bench/lag-trace.mjs'), script],
      { env: { ...process.env, S2_LAG_TRACE: lagFile }, encoding: 'utf8', timeout: 50_000 },
    );
    expect(run.status, run.stderr).toBe(0);
    const lag = JSON.parse(readFileSync(lagFile, 'utf8')) as LagTrace;
    const stall = lag.stalls.find(([, d]) => d >= 250_000);
    expect(stall, JSON.stringify(lag.stalls)).toBeDefined();
    const profileFile = readdirSync(dir).find((f) => f.endsWith('.cpuprofile'))!;
    const ix = new ProfileIndex(JSON.parse(readFileSync(path.join(dir, profileFile), 'utf8')) as CpuProfile);
    // Same clock: the stall lies inside the profile's time span.
    expect(stall![0]).toBeGreaterThanOrEqual(ix.p.startTime);
    expect(stall![0] + stall![1]).toBeLessThanOrEqual(ix.p.endTime + 1000);
    const inside = breakdown(ix, ix.window(stall![0], stall![0] + stall![1]), 5);
    expect(inside.self.map(([k]) => k).join(' ')).toContain('blockTheLoop');
  });

  it('read a Node server’s loop lag and CPU through the loop probe', { timeout: 60_000 }, async () => {
    const probe = path.join(dir, 'probe.json');
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        '-e',
        `import('${path.join(repoRoot, 'bench/lib/loop-probe.ts')}').then((m) => { m.installLoopProbe(); ` +
          `process.stdout.write('ready\\n'); process.stdin.on('data', () => { const u = Date.now() + 300; while (Date.now() < u); setTimeout(() => process.stdout.write('blocked\\n'), 50); }); });`,
      ],
      { cwd: repoRoot, env: { ...process.env, [PROBE_FILE_ENV]: probe }, stdio: ['pipe', 'pipe', 'inherit'] },
    );
    try {
      const lines: string[] = [];
      const waitFor = (line: string) =>
        new Promise<void>((resolve) => {
          const check = () => (lines.includes(line) ? resolve() : setTimeout(check, 20));
          check();
        });
      child.stdout!.on('data', (b: Buffer) => lines.push(...b.toString().trim().split('\n')));
      await waitFor('ready');
      const meter = new ServerMeter(() => child.pid!, { kind: 'signal', file: probe });
      const mark = await meter.begin();
      // 'blocked' comes a few loop turns after the stall, once the delay histogram has recorded it:
      // its sample is taken by a timer, which may otherwise run after the read signal.
      child.stdin!.write('go\n');
      await waitFor('blocked');
      const stats = await meter.end(mark);
      expect(stats.loopMaxMs!).toBeGreaterThanOrEqual(250);
      expect(stats.cpuS).toBeGreaterThan(0);
    } finally {
      child.kill('SIGKILL');
    }
  });
});
