/**
 * The workloads W1-W9 as data (docs/benchmarks.md, "Workloads", after the perf research's section
 * 5.3): one entry per shape, with the durations and sizes `scale` shortens. ./workloads.ts runs them.
 */
export interface Base {
  id: string;
  group: string;
  title: string;
}
/** One producer on one stream, optional live followers, optional catch-up read afterwards. */
export interface StreamWorkload extends Base {
  kind: 'stream';
  recordBytes: number;
  batch: number;
  window: number;
  targetMiBps: number;
  seconds: number;
  followers: number;
  catchup: boolean;
  /** Our server only: the writer is one S2S append session (requests = pipelined session inputs). */
  session?: boolean;
  /**
   * Seconds of the same load on a separate stream before the measured run, not measured (as
   * `s2 bench -w`): a fresh Node server compiles its hot paths during its first second or two of
   * load, and a 3-5 s run would otherwise report that warm-up as the steady state's tail.
   */
  warmupS: number;
}
/** Many streams, one paced writer each, sharing the client's connection pool. */
export interface ManyWorkload extends Base {
  kind: 'many';
  streams: number;
  appendsPerSecPerStream: number;
  recordBytes: number;
  seconds: number;
}
/** Preload a stream (bounded by count and time), then time a catch-up read from the start; W9 follows. */
export interface CatchupWorkload extends Base {
  kind: 'catchup';
  recordBytes: number;
  batch: number;
  maxRecords: number;
  maxPreloadS: number;
  /**
   * Timed reads per path (pages, and S2S session where the system has one), alternating: one read
   * of ~100 MiB lasts a third of a second, too short for a steady rate or for CPU counted in 10 ms
   * ticks, so the rate is the median read's and the CPU is summed over all of them.
   */
  reads: number;
  /** Keep the stream for the restart workload that follows. */
  restartAfter: boolean;
}
/** Our server only: `s2-lite bench --json` (S2S append and read sessions). */
export interface CliWorkload extends Base {
  kind: 'cli';
  recordBytes: number;
  targetMiBps: number;
  seconds: number;
  catchupDelayS: number;
}
export type Workload = StreamWorkload | ManyWorkload | CatchupWorkload | CliWorkload;

const KiB = 1024;

/** The full suite. `scale` shortens durations (the smoke run); counts scale with it too. */
export function workloads(scale = 1, smoke = false): Workload[] {
  const s = (sec: number) => Math.max(1, Math.round(sec * scale));
  const stream = (w: Omit<StreamWorkload, 'kind' | 'warmupS'>): StreamWorkload => ({
    kind: 'stream',
    warmupS: smoke ? 0 : 2,
    ...w,
  });
  const all: Workload[] = [
    stream({
      id: 'W1',
      group: 'W1',
      title: '8 KiB records paced to 10 MiB/s, 64 in flight, live reader, catch-up',
      recordBytes: 8 * KiB,
      batch: 1,
      window: 64,
      targetMiBps: 10,
      seconds: s(5),
      followers: 1,
      catchup: true,
    }),
    {
      kind: 'cli',
      id: 'W1/bench',
      group: 'W1',
      title: '`s2-lite bench -b 8192 -t 10 -d 5s -w 0s` (append + read sessions)',
      recordBytes: 8 * KiB,
      targetMiBps: 10,
      seconds: s(5),
      catchupDelayS: 0,
    },
    stream({
      id: 'W2',
      group: 'W2',
      title: '8 KiB records paced to 1 MiB/s, live reader (latency at light load)',
      recordBytes: 8 * KiB,
      batch: 1,
      window: 64,
      targetMiBps: 1,
      seconds: s(10),
      followers: 1,
      catchup: true,
    }),
    {
      kind: 'cli',
      id: 'W2/bench',
      group: 'W2',
      title: '`s2-lite bench -b 8192 -t 1 -d 10s -w 2s`',
      recordBytes: 8 * KiB,
      targetMiBps: 1,
      seconds: s(10),
      catchupDelayS: smoke ? 0 : 2,
    },
    stream({
      id: 'W3',
      group: 'W3',
      title: 'sequential unary appends: 1 KiB x 1 record, 1 in flight',
      recordBytes: KiB,
      batch: 1,
      window: 1,
      targetMiBps: 0,
      seconds: s(10),
      followers: 1,
      catchup: true,
    }),
    stream({
      id: 'W4',
      group: 'W4',
      title: 'pipelined appends: 1 KiB x 1 record, 64 in flight',
      recordBytes: KiB,
      batch: 1,
      window: 64,
      targetMiBps: 0,
      seconds: s(10),
      followers: 1,
      catchup: true,
    }),
    stream({
      id: 'W4/session',
      group: 'W4',
      title: 'pipelined appends over one S2S append session: 1 KiB x 1 record, 64 in flight (ours only)',
      recordBytes: KiB,
      batch: 1,
      window: 64,
      targetMiBps: 0,
      seconds: s(10),
      followers: 1,
      catchup: true,
      session: true,
    }),
    {
      kind: 'cli',
      id: 'W4/bench',
      group: 'W4',
      title: '`s2-lite bench -b 1024 -t 200 -d 10s` (append session, unbounded rate)',
      recordBytes: KiB,
      targetMiBps: 200,
      seconds: s(10),
      catchupDelayS: 0,
    },
    stream({
      id: 'W5',
      group: 'W5',
      title: 'batched appends: 100 x 1 KiB per request, 4 in flight',
      recordBytes: KiB,
      batch: 100,
      window: 4,
      targetMiBps: 0,
      seconds: s(10),
      followers: 1,
      catchup: true,
    }),
    // 15 x 64 KiB stays under S2's 1 MiB batch limit once the 8-byte per-record overhead is metered.
    stream({
      id: 'W5/large',
      group: 'W5',
      title: 'large batches: 15 x 64 KiB per request, 4 in flight',
      recordBytes: 64 * KiB,
      batch: 15,
      window: 4,
      targetMiBps: 0,
      seconds: s(10),
      followers: 1,
      catchup: false,
    }),
    stream({
      id: 'W6/n1',
      group: 'W6',
      title: 'fan-out: 1 KiB at 1 MiB/s, 1 follower',
      recordBytes: KiB,
      batch: 1,
      window: 64,
      targetMiBps: 1,
      seconds: s(8),
      followers: 1,
      catchup: false,
    }),
    stream({
      id: 'W6/n10',
      group: 'W6',
      title: 'fan-out: 1 KiB at 1 MiB/s, 10 followers',
      recordBytes: KiB,
      batch: 1,
      window: 64,
      targetMiBps: 1,
      seconds: s(8),
      followers: 10,
      catchup: false,
    }),
    stream({
      id: 'W6/n100',
      group: 'W6',
      title: 'fan-out: 1 KiB at 1 MiB/s, 100 followers',
      recordBytes: KiB,
      batch: 1,
      window: 64,
      targetMiBps: 1,
      seconds: s(8),
      followers: 100,
      catchup: false,
    }),
    {
      kind: 'many',
      id: 'W7/s100',
      group: 'W7',
      title: 'many streams: 100 streams x 10 appends/s of 1 KiB',
      streams: 100,
      appendsPerSecPerStream: 10,
      recordBytes: KiB,
      seconds: s(10),
    },
    {
      kind: 'many',
      id: 'W7/s1000',
      group: 'W7',
      title: 'many streams: 1000 streams x 10 appends/s of 1 KiB',
      streams: 1000,
      appendsPerSecPerStream: 10,
      recordBytes: KiB,
      seconds: s(10),
    },
    {
      kind: 'catchup',
      id: 'W8',
      group: 'W8',
      title: 'catch-up read of preloaded 1 KiB records (up to 200k, preload <= 20 s); then W9 restart',
      recordBytes: KiB,
      batch: 100,
      maxRecords: Math.round(200_000 * scale),
      maxPreloadS: s(20),
      reads: smoke ? 1 : 3,
      restartAfter: true,
    },
    {
      kind: 'catchup',
      id: 'W8/64k',
      group: 'W8',
      title: 'catch-up read of preloaded 64 KiB records (up to 4k = 256 MiB, preload <= 20 s)',
      recordBytes: 64 * KiB,
      batch: 15,
      maxRecords: Math.round(4_000 * scale),
      maxPreloadS: s(20),
      reads: smoke ? 1 : 3,
      restartAfter: false,
    },
  ];
  return all;
}

/** The lean subset the smoke test runs: one of each runner kind that matters, in seconds. */
export const smokeIds = ['W3', 'W4', 'W5', 'W4/bench', 'W8'];

export const restartId = 'W9';
