/**
 * What `bench` prints: the text lines of `s2 bench` (Write, Read, the two latency tables, Catchup,
 * then the verification), the `--json` object for scripts, and the live progress block redrawn
 * at 20 Hz on a terminal.
 */
import type { BenchProgress, BenchResult } from './run.js';
import type { LatencySummary, Throughput } from './stats.js';

function throughputLine(label: string, t: Throughput): string {
  return (
    `${label}: ${t.mibps.toFixed(2)} MiB/s, ${t.recordsPerSec.toFixed(2)} records/s ` +
    `(${t.bytes} bytes, ${t.records} records in ${t.seconds.toFixed(2)} s)`
  );
}

function latencyBlock(title: string, s: LatencySummary): string[] {
  const lines = [`${title} (n=${s.n})`];
  for (const key of ['min', 'p50', 'p90', 'p99', 'max'] as const) {
    const value = s[key];
    lines.push(`  ${`${key}:`.padEnd(5)} ${value === null ? '-' : `${value.toFixed(2)} ms`.padStart(12)}`);
  }
  return lines;
}

export function textReport(result: BenchResult): string {
  const lines = [
    `Stream: s2://${result.basin}/${result.stream}`,
    throughputLine('Write', result.write),
    throughputLine('Read', result.read),
    '',
    ...latencyBlock('Ack Latency Statistics', result.ackLatencyMs),
    '',
    ...latencyBlock('End-to-End Latency Statistics', result.e2eLatencyMs),
    '',
    result.catchup ? throughputLine('Catchup', result.catchup) : 'Catchup: skipped',
    result.verification.ok
      ? 'Verification: ok (counts and hash chains match for the live and catch-up reads)'
      : `Verification: FAILED: ${result.verification.details.join('; ')}`,
  ];
  return `${lines.join('\n')}\n`;
}

export function jsonReport(result: BenchResult): string {
  const o = result.options;
  return `${JSON.stringify({
    basin: result.basin,
    stream: result.stream,
    config: {
      recordSize: o.recordSize,
      targetMibps: o.targetMibps,
      durationSecs: o.durationMs / 1000,
      catchupDelaySecs: o.catchupDelayMs / 1000,
      lingerMs: o.lingerMs,
      appendTransport: o.appendTransport,
      readTransport: o.readTransport,
      storageClass: o.storageClass ?? null,
    },
    write: result.write,
    read: result.read,
    catchup: result.catchup,
    ackLatencyMs: result.ackLatencyMs,
    e2eLatencyMs: result.e2eLatencyMs,
    verification: result.verification,
  })}\n`;
}

/** The progress block's lines for the current state of a run. */
export function progressLines(p: BenchProgress, recordSize: number, durationMs: number): string[] {
  const secs = Math.max(p.elapsedMs / 1000, 1e-9);
  const rate = (records: number) =>
    `${((records * recordSize) / 1048576 / secs).toFixed(2).padStart(8)} MiB/s ${(records / secs).toFixed(0).padStart(8)} records/s`;
  const lines = [
    `bench: ${p.phase}  ${(p.elapsedMs / 1000).toFixed(1)} s / ${(durationMs / 1000).toFixed(0)} s`,
    `  Write (acked) ${rate(p.acked)}  ${p.acked} records`,
    `  Read  (live)  ${rate(p.read)}  ${p.read} records`,
  ];
  if (p.phase === 'waiting for catch-up')
    lines.push(`  Catchup starts in ${(p.catchupStartsInMs / 1000).toFixed(1)} s`);
  if (p.phase === 'catching up') lines.push(`  Catchup ${p.caughtUp} records`);
  return lines;
}

/** Redraws a block of lines in place on a TTY stream. Returns `stop()`, which erases it. */
export function liveBlock(stream: NodeJS.WriteStream, render: () => string[], hz = 20): { stop(): void } {
  let drawn = 0;
  const draw = () => {
    const lines = render().map((line) => line.slice(0, Math.max(10, (stream.columns || 80) - 1)));
    let out = drawn > 0 ? `\x1b[${drawn}A\r` : '';
    for (const line of lines) out += `\x1b[2K${line}\n`;
    // Blank out lines left from a taller block; the cursor ends below the block either way.
    for (let i = lines.length; i < drawn; i++) out += '\x1b[2K\n';
    stream.write(out);
    drawn = Math.max(lines.length, drawn);
  };
  draw();
  const timer = setInterval(draw, 1000 / hz);
  return {
    stop() {
      clearInterval(timer);
      if (drawn > 0) stream.write(`\x1b[${drawn}A\r\x1b[J`);
      drawn = 0; // stopping twice erases nothing more
    },
  };
}
