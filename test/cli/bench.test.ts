/**
 * `bench` end to end: a short run against a real server, as a real process, must verify every
 * record (live and catch-up), report consistent counts in both output forms, and delete its
 * temporary stream. Only counts and structure are asserted, never timings.
 */
import { describe, expect, it, vi } from 'vitest';
import { cli, cliServer } from './support.js';

vi.setConfig({ testTimeout: 300_000, hookTimeout: 120_000 });

const basin = 'cli-bench-basin';

const setup = cliServer(basin);

interface Throughput {
  mibps: number;
  recordsPerSec: number;
  records: number;
  bytes: number;
  seconds: number;
}

interface Latency {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** Streams left in the basin that are not on their way out. */
async function liveBenchStreams(): Promise<string[]> {
  const listed = await cli(setup.url, ['ls', `s2://${basin}/bench/`]);
  expect(listed.code, listed.stderr).toBe(0);
  return listed.stdout
    .split('\n')
    .filter(Boolean)
    .filter((line) => !line.includes('deleting'));
}

describe('bench', () => {
  it('runs with --json, verifies every record and deletes its stream', async () => {
    const result = await cli(setup.url, ['bench', basin, '--json', '-b', '1KiB', '-t', '2', '-d', '3s', '-w', '0s']);
    expect(result.code, result.stderr).toBe(0);
    const report = JSON.parse(result.stdout) as {
      stream: string;
      config: { recordSize: number };
      write: Throughput;
      read: Throughput;
      catchup: Throughput;
      ackLatencyMs: Latency;
      e2eLatencyMs: Latency;
      verification: { ok: boolean; details: string[] };
    };
    expect(report.verification).toEqual({ ok: true, details: [] });
    expect(report.stream).toMatch(/^bench\/[0-9a-f-]{36}$/);
    expect(report.config.recordSize).toBe(1024);

    const written = report.write.records;
    expect(written).toBeGreaterThan(0);
    expect(report.read.records).toBe(written);
    expect(report.catchup.records).toBe(written);
    for (const t of [report.write, report.read, report.catchup]) {
      expect(t.bytes).toBe(written * 1024);
      expect(t.seconds).toBeGreaterThan(0);
      expect(t.mibps).toBeCloseTo(t.bytes / 1048576 / t.seconds, 6);
      expect(t.recordsPerSec).toBeCloseTo(t.records / t.seconds, 6);
    }
    expect(report.ackLatencyMs.n).toBe(written);
    expect(report.e2eLatencyMs.n).toBe(written);
    for (const l of [report.ackLatencyMs, report.e2eLatencyMs]) {
      expect(l.min).toBeLessThanOrEqual(l.p50);
      expect(l.p50).toBeLessThanOrEqual(l.p90);
      expect(l.p90).toBeLessThanOrEqual(l.p99);
      expect(l.p99).toBeLessThanOrEqual(l.max);
      expect(l.min).toBeGreaterThanOrEqual(0);
    }
    expect(await liveBenchStreams()).toEqual([]);
  });

  it('prints the text report of s2 bench, over SSE reads and unary protobuf appends too', async () => {
    const result = await cli(setup.url, [
      'bench',
      `s2://${basin}`,
      '-b',
      '512',
      '-t',
      '1',
      '-d',
      '2s',
      '-w',
      '1s',
      '--append',
      'proto',
      '--read',
      'sse',
    ]);
    expect(result.code, result.stderr).toBe(0);
    const out = result.stdout;
    const write = /^Write: [\d.]+ MiB\/s, [\d.]+ records\/s \((\d+) bytes, (\d+) records in [\d.]+ s\)$/m.exec(out);
    const read = /^Read: [\d.]+ MiB\/s, [\d.]+ records\/s \((\d+) bytes, (\d+) records in [\d.]+ s\)$/m.exec(out);
    const catchup = /^Catchup: [\d.]+ MiB\/s, [\d.]+ records\/s \((\d+) bytes, (\d+) records in [\d.]+ s\)$/m.exec(out);
    expect(write && read && catchup, out).toBeTruthy();
    const records = Number(write![2]);
    expect(records).toBeGreaterThan(0);
    expect(Number(write![1])).toBe(records * 512);
    expect(Number(read![2])).toBe(records);
    expect(Number(catchup![2])).toBe(records);
    expect(out).toContain(`Ack Latency Statistics (n=${records})`);
    expect(out).toContain(`End-to-End Latency Statistics (n=${records})`);
    for (const key of ['min', 'p50', 'p90', 'p99', 'max'])
      expect(out).toMatch(new RegExp(`^  ${key}: +[\\d.]+ ms$`, 'm'));
    expect(out).toMatch(/^Verification: ok/m);
    // Not a terminal: no progress display and no escape codes.
    expect(out + result.stderr).not.toContain('\x1b[');
    expect(await liveBenchStreams()).toEqual([]);
  });

  it('rejects a record size outside 128 B..1 MiB and an unknown basin with one line', async () => {
    const small = await cli(setup.url, ['bench', basin, '-b', '100']);
    expect(small.code).toBe(1);
    expect(small.stderr).toBe(
      "error: option '-b, --record-size <size>' argument '100' is invalid. must be between 128 B and 1 MiB\n",
    );

    const missing = await cli(setup.url, ['bench', 'no-such-bench-basin', '-d', '1s']);
    expect(missing.code).toBe(1);
    expect(missing.stderr).toMatch(/^error: basin `no-such-bench-basin` not found.*\n$/);
  });
});
