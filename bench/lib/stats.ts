/**
 * Latency statistics and small numeric helpers shared by every adapter.
 *
 * Percentiles follow `s2 bench` (cli/src/bench.rs): rank = max(1, ceil(n * p)) over all samples, no
 * bucketing, so our numbers and the Rust tool's are computed the same way.
 */

export interface LatencySummary {
  n: number;
  min: number;
  p50: number;
  p90: number;
  p99: number;
  max: number;
}

/** CLOCK_MONOTONIC in nanoseconds as a double: shared by threads and processes on this host. */
export function nowNs(): number {
  return Number(process.hrtime.bigint());
}

export function percentile(sorted: ArrayLike<number>, p: number): number {
  const n = sorted.length;
  if (n === 0) return NaN;
  const rank = Math.max(1, Math.ceil(n * p));
  return sorted[Math.min(rank, n) - 1]!;
}

/** Summarizes nanosecond samples in milliseconds (3 decimals). */
export function summarizeNs(samples: ArrayLike<number>): LatencySummary {
  const a = Float64Array.from(samples as ArrayLike<number>).sort();
  const ms = (x: number) => (Number.isFinite(x) ? Math.round(x / 1e3) / 1e3 : NaN);
  return {
    n: a.length,
    min: ms(a[0] ?? NaN),
    p50: ms(percentile(a, 0.5)),
    p90: ms(percentile(a, 0.9)),
    p99: ms(percentile(a, 0.99)),
    max: ms(a[a.length - 1] ?? NaN),
  };
}

/** Median of the finite values; NaN when there are none. Even counts average the middle pair. */
export function median(values: number[]): number {
  const a = values.filter((v) => Number.isFinite(v)).sort((x, y) => x - y);
  if (a.length === 0) return NaN;
  const mid = a.length >> 1;
  return a.length % 2 ? a[mid]! : (a[mid - 1]! + a[mid]!) / 2;
}

/**
 * A growable Float64 sample buffer: a follower can see millions of records, and a plain array of
 * boxed numbers costs several times the memory and GC time of this.
 */
export class Samples {
  private buf = new Float64Array(1024);
  length = 0;
  push(v: number): void {
    if (this.length === this.buf.length) {
      const next = new Float64Array(this.buf.length * 2);
      next.set(this.buf);
      this.buf = next;
    }
    this.buf[this.length++] = v;
  }
  view(): Float64Array {
    return this.buf.subarray(0, this.length);
  }
}

export const MiB = 1024 * 1024;

export function round(x: number, digits = 2): number {
  if (!Number.isFinite(x)) return x;
  const f = 10 ** digits;
  return Math.round(x * f) / f;
}
