/**
 * Drives our server through `s2-lite bench --json` (the clone of `s2 bench`: an append session with
 * 5 ms linger and 5 MiB unacked, a live read session, then a catch-up read, all hash-chain verified).
 * This is the only way the suite exercises the S2S append/read sessions; the harness workloads use
 * unary REST so their request shapes match the HTTP peers'.
 */
import { spawn } from 'node:child_process';
import type { LatencySummary } from '../lib/stats.js';
import { cliCommand, repoRoot } from './server.js';

export interface CliBenchThroughput {
  mibps: number;
  recordsPerSec: number;
  records: number;
  bytes: number;
  seconds: number;
}

export interface CliBenchReport {
  write: CliBenchThroughput;
  read?: CliBenchThroughput;
  catchup?: CliBenchThroughput;
  ackLatencyMs: LatencySummary;
  e2eLatencyMs?: LatencySummary;
  verification: { ok: boolean; [k: string]: unknown };
}

export interface CliBenchArgs {
  recordBytes: number;
  targetMiBps: number;
  seconds: number;
  catchupDelayS: number;
}

/** Runs the CLI bench against `baseUrl`; rejects (with the CLI's own words) if it is missing or fails. */
export function runCliBench(baseUrl: string, basin: string, a: CliBenchArgs): Promise<CliBenchReport> {
  const args = [
    ...cliCommand(),
    'bench',
    basin,
    '--record-size',
    String(a.recordBytes),
    '--target-mibps',
    String(a.targetMiBps),
    '--duration',
    `${a.seconds}s`,
    '--catchup-delay',
    `${a.catchupDelayS}s`,
    '--json',
  ];
  const env = { ...process.env, S2_ACCOUNT_ENDPOINT: baseUrl, S2_BASIN_ENDPOINT: baseUrl, S2_ACCESS_TOKEN: 'ignored' };
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, args, { cwd: repoRoot, env, stdio: ['ignore', 'pipe', 'pipe'] });
    let out = '';
    let err = '';
    child.stdout.on('data', (c: Buffer) => (out += c.toString()));
    child.stderr.on('data', (c: Buffer) => (err = (err + c.toString()).slice(-4000)));
    // Bounded like every other load: the run, the catch-up delay, a catch-up read and slack.
    const limitMs = (a.seconds + a.catchupDelayS + 90) * 1000;
    const timer = setTimeout(() => child.pid && process.kill(child.pid, 'SIGKILL'), limitMs);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      const json = lastJsonObject(out);
      if (json && typeof json === 'object' && 'write' in json) return resolve(json as CliBenchReport);
      const why = signal ? `killed by ${signal} after ${limitMs} ms` : `exit code ${code}`;
      reject(
        new Error(`s2-lite bench: ${why}: ${(err || out).trim().split('\n').slice(-3).join(' | ').slice(0, 300)}`),
      );
    });
  });
}

/** The CLI prints human lines as well; the JSON document is the last top-level object in stdout. */
function lastJsonObject(text: string): unknown {
  const trimmed = text.trim();
  try {
    return JSON.parse(trimmed);
  } catch {
    // fall through: find the last line that starts a JSON object and parse from there
  }
  const lines = trimmed.split('\n');
  for (let i = lines.length - 1; i >= 0; i--) {
    if (!lines[i]!.startsWith('{')) continue;
    try {
      return JSON.parse(lines.slice(i).join('\n'));
    } catch {
      // keep looking further up
    }
  }
  return undefined;
}
