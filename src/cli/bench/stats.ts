/**
 * Bench statistics with the definitions of `s2 bench`: exact percentiles over all samples, with
 * rank = max(1, ceil(n * p)) into the sorted samples, and throughput in MiB/s (1 MiB = 1,048,576 B).
 */

export interface LatencySummary {
  n: number;
  min: number | null;
  p50: number | null;
  p90: number | null;
  p99: number | null;
  max: number | null;
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  const rank = Math.max(1, Math.ceil(sorted.length * p));
  return sorted[Math.min(rank, sorted.length) - 1]!;
}

/** Summary of latency samples given in microseconds, reported in milliseconds. */
export function summarizeLatencies(samplesUs: ArrayLike<number>): LatencySummary {
  const n = samplesUs.length;
  if (n === 0) return { n, min: null, p50: null, p90: null, p99: null, max: null };
  const sorted = Float64Array.from(samplesUs).sort();
  const ms = (us: number) => us / 1000;
  return {
    n,
    min: ms(sorted[0]!),
    p50: ms(percentile(sorted, 0.5)),
    p90: ms(percentile(sorted, 0.9)),
    p99: ms(percentile(sorted, 0.99)),
    max: ms(sorted[n - 1]!),
  };
}

export interface Throughput {
  mibps: number;
  recordsPerSec: number;
  records: number;
  bytes: number;
  seconds: number;
}

export function throughput(records: number, recordSize: number, seconds: number): Throughput {
  const bytes = records * recordSize;
  return {
    mibps: seconds > 0 ? bytes / 1048576 / seconds : 0,
    recordsPerSec: seconds > 0 ? records / seconds : 0,
    records,
    bytes,
    seconds,
  };
}

/** A growable array of samples without per-sample allocation. */
export class Samples {
  private data = new Float64Array(1024);
  length = 0;

  push(value: number): void {
    if (this.length === this.data.length) {
      const bigger = new Float64Array(this.data.length * 2);
      bigger.set(this.data);
      this.data = bigger;
    }
    this.data[this.length++] = value;
  }

  values(): Float64Array {
    return this.data.subarray(0, this.length);
  }
}
