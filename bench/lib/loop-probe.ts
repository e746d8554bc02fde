/**
 * Event-loop lag and GC time inside a Node server the benchmark starts (the durable-streams peer,
 * the trivial node:http server), readable from the benchmark process without an HTTP endpoint:
 * on SIGUSR2 the probe writes what it saw since the previous signal to a file and starts over.
 *
 * It samples the same way as our server's `/metrics` (prom-client's `monitorEventLoopDelay` with a
 * 10 ms resolution, reset at every read), so the lag numbers of ours and of Node peers compare.
 */
import { writeFileSync } from 'node:fs';
import { monitorEventLoopDelay, PerformanceObserver } from 'node:perf_hooks';

/** What one read of the probe returns; durations in nanoseconds, as `monitorEventLoopDelay` reports them. */
export interface ProbeSnapshot {
  seq: number;
  count: number;
  p99Ns: number;
  maxNs: number;
  meanNs: number;
  gcNs: number;
}

/** The environment variable that names the file; without it `installLoopProbe` does nothing. */
export const PROBE_FILE_ENV = 'S2_BENCH_LOOP_FILE';

/** The probe's sampling interval; the same as `eventLoopMonitoringPrecision` in src/metrics.ts. */
export const LOOP_RESOLUTION_MS = 10;

export function installLoopProbe(file = process.env[PROBE_FILE_ENV]): void {
  if (!file) return;
  const h = monitorEventLoopDelay({ resolution: LOOP_RESOLUTION_MS });
  h.enable();
  let gcNs = 0;
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) gcNs += e.duration * 1e6;
  }).observe({ entryTypes: ['gc'] });
  let seq = 0;
  process.on('SIGUSR2', () => {
    const snap: ProbeSnapshot = {
      seq: ++seq,
      count: h.count,
      p99Ns: h.count ? h.percentile(99) : 0,
      maxNs: h.count ? h.max : 0,
      meanNs: h.count ? h.mean : 0,
      gcNs,
    };
    writeFileSync(file, JSON.stringify(snap));
    h.reset();
    gcNs = 0;
  });
}
