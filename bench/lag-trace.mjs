/* global process, Buffer, setTimeout */
/**
 * Preload for profiling a server (`node --import ./bench/lag-trace.mjs ...`; plain JavaScript so the
 * profiled process loads no TypeScript loader): a timeline of event-loop stalls and GC pauses, with
 * timestamps on the clock of `--cpu-prof` samples (CLOCK_MONOTONIC in microseconds), so
 * `bench/profile-analyze.ts` can say what ran during each stall.
 *
 * A 1 ms timer measures how late it fires; every lateness of at least S2_LAG_TRACE_MIN_MS (default
 * 2 ms) is a stall from the previous tick to this one. GC pauses come from the `gc` performance
 * entries. The file named by S2_LAG_TRACE is written when the process exits.
 */
import { openSync, readSync, writeFileSync } from 'node:fs';
import { PerformanceObserver, constants, performance } from 'node:perf_hooks';

const file = process.env.S2_LAG_TRACE;
if (file) {
  const minUs = Number(process.env.S2_LAG_TRACE_MIN_MS ?? 2) * 1000;
  const nowUs = () => Number(process.hrtime.bigint() / 1000n);
  // performance.now() is ms since timeOrigin on the same monotonic clock; this maps it to nowUs().
  const perfToUs = nowUs() - performance.now() * 1000;
  /**
   * [startUs, durationUs, cpuUs, runqueueUs] of each stall: the loop did not get back to the timer for
   * that long. The main thread's schedstat (time on a CPU, time runnable but waiting for one) splits
   * a stall into work the loop did and time the machine did not run it (other processes' load).
   */
  const stalls = [];
  let schedFd = -1;
  try {
    schedFd = openSync('/proc/thread-self/schedstat', 'r');
  } catch {
    // Not Linux, or no schedstat: stalls carry no split.
  }
  const schedBuf = Buffer.alloc(128);
  const sched = () => {
    if (schedFd < 0) return [NaN, NaN];
    const n = readSync(schedFd, schedBuf, 0, schedBuf.length, 0);
    const [run, wait] = schedBuf.toString('latin1', 0, n).split(' ');
    return [Number(run) / 1000, Number(wait) / 1000];
  };
  /** [startUs, durationUs, kind] of each GC pause. */
  const gcs = [];
  // Node's own constants: major is 4 and incremental 8 (an earlier table here had them as 2 and 4,
  // so major GCs read as 'incremental' and incremental-marking pauses as 'weakcb').
  const GC_KINDS = {
    [constants.NODE_PERFORMANCE_GC_MINOR]: 'minor',
    [constants.NODE_PERFORMANCE_GC_MAJOR]: 'major',
    [constants.NODE_PERFORMANCE_GC_INCREMENTAL]: 'incremental',
    [constants.NODE_PERFORMANCE_GC_WEAKCB]: 'weakcb',
  };
  let ticks = 0;
  let last = nowUs();
  let [lastRun, lastWait] = sched();
  const tick = () => {
    const t = nowUs();
    const [run, wait] = sched();
    const late = t - last - 1000;
    if (late >= minUs) stalls.push([last, t - last, Math.round(run - lastRun), Math.round(wait - lastWait)]);
    ticks++;
    last = t;
    lastRun = run;
    lastWait = wait;
    setTimeout(tick, 1).unref();
  };
  setTimeout(tick, 1).unref();
  new PerformanceObserver((list) => {
    for (const e of list.getEntries()) {
      gcs.push([
        Math.round(perfToUs + e.startTime * 1000),
        Math.round(e.duration * 1000),
        GC_KINDS[e.detail?.kind] ?? String(e.detail?.kind),
      ]);
    }
  }).observe({ entryTypes: ['gc'] });
  const startedUs = nowUs();
  process.on('exit', () => {
    writeFileSync(file, JSON.stringify({ startedUs, endedUs: nowUs(), ticks, minUs, stalls, gcs }));
  });
}
