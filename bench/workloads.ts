/**
 * The workloads W1-W9 (docs/benchmarks.md, after the perf research's section 5.3), as data, and the
 * code that runs one workload against one system and returns flat metrics plus a verification.
 * Every load is bounded in time: producers stop at their deadline, drains and settles have limits.
 */
import { randomBytes } from 'node:crypto';
import { openAdapter } from './lib/adapters.js';
import { Followers } from './lib/followers.js';
import { runProducer, timestampOf } from './lib/harness.js';
import { rssKiB, sleep } from './lib/procs.js';
import type { PhaseStats, ServerMeter } from './lib/server-stats.js';
import { MiB, nowNs, round, Samples, summarizeNs } from './lib/stats.js';
import type { Adapter, ServerHandle } from './lib/types.js';

export type Metrics = Record<string, number>;

export interface Verification {
  ok: boolean;
  details: string[];
}

export interface Outcome {
  metrics: Metrics;
  verification: Verification;
  /** Caveats the report shows next to the numbers (e.g. how live readers were served). */
  notes?: string[];
  /** Raw numbers for the JSON report. */
  raw?: unknown;
}

interface Base {
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
  const stream = (w: Omit<StreamWorkload, 'kind'>): StreamWorkload => ({ kind: 'stream', ...w });
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
      restartAfter: false,
    },
  ];
  return all;
}

/** The lean subset the smoke test runs: one of each runner kind that matters, in seconds. */
export const smokeIds = ['W3', 'W4', 'W5', 'W4/bench', 'W8'];

export const restartId = 'W9';

const name = (w: Base) => `${w.id.replace(/[^A-Za-z0-9]/g, '-')}-${randomBytes(4).toString('hex')}`;

function verify(checks: [boolean, string][]): Verification {
  const failed = checks.filter(([ok]) => !ok).map(([, d]) => d);
  return { ok: failed.length === 0, details: failed };
}

interface CatchupTally {
  records: number;
  bytes: number;
  badSize: number;
  seconds: number;
}

/** Times one read from the first record to the tail (`how`: unary pages, or one S2S read session). */
async function timedCatchup(
  adapter: Adapter,
  stream: string,
  recordBytes: number,
  how: 'pages' | 'session' = 'pages',
): Promise<CatchupTally> {
  const t = { records: 0, bytes: 0, badSize: 0, seconds: 0 };
  const read = how === 'session' ? adapter.catchupSession!.bind(adapter) : adapter.catchup.bind(adapter);
  const t0 = nowNs();
  await read(stream, recordBytes, (_head, len) => {
    t.records++;
    t.bytes += len;
    if (len !== recordBytes) t.badSize++;
  });
  t.seconds = (nowNs() - t0) / 1e9;
  return t;
}

const catchupMetrics = (c: CatchupTally): Metrics => ({
  catchupMiBps: round(c.bytes / MiB / c.seconds, 1),
  catchupRecPerS: Math.round(c.records / c.seconds),
});

/** A catch-up read bracketed by the server meter: the tally, and what the server spent on it. */
async function meteredCatchup(
  meter: ServerMeter,
  read: () => Promise<CatchupTally>,
): Promise<{ tally: CatchupTally; server: PhaseStats }> {
  const mark = await meter.begin();
  const tally = await read();
  return { tally, server: await meter.end(mark) };
}

/**
 * Server CPU per MiB served, in ms, as a metric named `key`: the cost of a read path independent of
 * how fast the client drains it. CPU time comes in 10 ms ticks, so a read shorter than a quarter
 * second reports none.
 */
const cpuMsPerMiB = (key: string, server: PhaseStats, bytes: number): Metrics =>
  server.wallS >= 0.25 ? { [key]: round((server.cpuS * 1000) / (bytes / MiB), 2) } : {};

/**
 * The server-side columns of a write phase: CPU seconds and CPU per acknowledged record, and for Node
 * servers the event-loop lag (beyond the 10 ms sampling tick) and GC time.
 */
export function serverMetrics(server: PhaseStats, records: number): Metrics {
  const m: Metrics = { serverCpuS: server.cpuS };
  if (records > 0) m.cpuUsPerRec = round((server.cpuS * 1e6) / records, 1);
  if (server.loopP99Ms !== undefined) m.loopP99Ms = server.loopP99Ms;
  if (server.loopMaxMs !== undefined) m.loopMaxMs = server.loopMaxMs;
  if (server.gcMs !== undefined) m.gcMs = server.gcMs;
  return m;
}

export async function runStream(
  adapter: Adapter,
  w: StreamWorkload,
  endpoint: ServerHandle['endpoint'],
  meter: ServerMeter,
): Promise<Outcome> {
  const stream = name(w);
  await adapter.createStream(stream);
  try {
    const followers = w.followers
      ? await Followers.start({ endpoint, stream, recordBytes: w.recordBytes, followers: w.followers })
      : undefined;
    const writer = await adapter.writer(stream, w.window, { session: w.session });
    // The write phase: from the first append until the followers have seen the last one.
    const mark = await meter.begin();
    const write = await runProducer(writer, w);
    await writer.close();
    // Followers get a bounded time to catch up with the acked count after the writer stops.
    const live = followers ? await followers.finish(write.records, 15_000) : undefined;
    const server = await meter.end(mark);
    const read = w.catchup
      ? await meteredCatchup(meter, () => timedCatchup(adapter, stream, w.recordBytes))
      : undefined;
    const catchup = read?.tally;
    const metrics: Metrics = {
      recPerS: write.recordsPerSec,
      mibps: write.mibps,
      ackP50: write.ack.p50,
      ackP90: write.ack.p90,
      ackP99: write.ack.p99,
      ...(live ? { e2eP50: live.e2e.p50, e2eP90: live.e2e.p90, e2eP99: live.e2e.p99 } : {}),
      ...(catchup ? catchupMetrics(catchup) : {}),
      ...serverMetrics(server, write.records),
      ...(read ? cpuMsPerMiB('catchupCpuMsPerMiB', read.server, read.tally.bytes) : {}),
    };
    const checks: [boolean, string][] = [
      [write.errors === 0, `${write.errors} append errors (first: ${write.firstError})`],
      [write.records > 0, 'no record was acknowledged'],
    ];
    if (live) {
      const off = live.counts.filter((c) => c !== write.records);
      checks.push([
        off.length === 0,
        `${off.length}/${live.counts.length} live readers saw a count other than the ${write.records} acked (e.g. ${off[0]})`,
      ]);
    }
    if (catchup) {
      checks.push([
        catchup.records === write.records,
        `catch-up read ${catchup.records} records, ${write.records} acked`,
      ]);
      checks.push([catchup.badSize === 0, `${catchup.badSize} catch-up records had the wrong size`]);
    }
    if (w.targetMiBps > 0) metrics.targetFraction = round(write.mibps / w.targetMiBps, 3);
    return {
      metrics,
      verification: verify(checks),
      raw: { write, live, catchup, server, catchupServer: read?.server },
    };
  } finally {
    await adapter.deleteStream(stream).catch(() => {});
  }
}

export async function runMany(
  adapter: Adapter,
  w: ManyWorkload,
  server: ServerHandle,
  meter: ServerMeter,
): Promise<Outcome> {
  const prefix = name(w);
  const streams = Array.from({ length: w.streams }, (_, i) => `${prefix}-${i}`);
  // Create in small parallel groups: fast, without a thousand simultaneous control requests.
  for (let i = 0; i < streams.length; i += 50)
    await Promise.all(streams.slice(i, i + 50).map((s) => adapter.createStream(s)));
  try {
    const sink = new Samples();
    const periodMs = 1000 / w.appendsPerSecPerStream;
    const mark = await meter.begin();
    const t0 = nowNs();
    const results = await Promise.all(
      streams.map(async (s) => {
        // Spread the writers' phases over one period so their appends do not arrive in lockstep.
        const delay = Math.random() * periodMs;
        await sleep(delay);
        const writer = await adapter.writer(s, 0);
        const r = await runProducer(writer, {
          recordBytes: w.recordBytes,
          batch: 1,
          window: 1,
          seconds: Math.max(0.5, w.seconds - delay / 1000),
          targetMiBps: (w.appendsPerSecPerStream * w.recordBytes) / MiB,
          drainTimeoutS: 20,
          sink,
        });
        await writer.close();
        return r;
      }),
    );
    const seconds = (nowNs() - t0) / 1e9;
    const phase = await meter.end(mark);
    const rss = rssKiB(server.pid);
    const acked = results.reduce((a, r) => a + r.records, 0);
    const errors = results.reduce((a, r) => a + r.errors, 0);
    const ack = summarizeNs(sink.view());
    const offered = w.streams * w.appendsPerSecPerStream;
    return {
      metrics: {
        recPerS: Math.round(acked / seconds),
        offeredFraction: round(acked / seconds / offered, 3),
        ackP50: ack.p50,
        ackP99: ack.p99,
        serverRssMiB: round(rss / 1024, 1),
        ...serverMetrics(phase, acked),
      },
      verification: verify([
        [errors === 0, `${errors} append errors (first: ${results.find((r) => r.firstError)?.firstError})`],
        [acked > 0, 'no record was acknowledged'],
      ]),
      raw: { acked, errors, seconds, ack, rssKiB: rss, server: phase },
    };
  } finally {
    for (let i = 0; i < streams.length; i += 50) {
      await Promise.all(streams.slice(i, i + 50).map((s) => adapter.deleteStream(s).catch(() => {})));
    }
  }
}

export interface Preloaded {
  stream: string;
  records: number;
  recordBytes: number;
}

/**
 * W8: preload, then time the catch-up read. Our server is read twice, through unary protobuf pages
 * (the shape every peer has) and through one S2S read session; which goes first alternates with the
 * repetition, so neither always gets the warmer caches.
 */
export async function runCatchup(
  adapter: Adapter,
  w: CatchupWorkload,
  meter: ServerMeter,
  rep = 1,
): Promise<Outcome & { preloaded?: Preloaded }> {
  const stream = name(w);
  await adapter.createStream(stream);
  let keep = false;
  try {
    const writer = await adapter.writer(stream, 4);
    const write = await runProducer(writer, {
      recordBytes: w.recordBytes,
      batch: w.batch,
      window: 4,
      seconds: w.maxPreloadS,
      targetMiBps: 0,
      maxRecords: w.maxRecords,
    });
    await writer.close();
    await sleep(500); // let the server settle (flushes, compaction) before the timed read
    const unary = () => meteredCatchup(meter, () => timedCatchup(adapter, stream, w.recordBytes));
    const session = adapter.catchupSession
      ? () => meteredCatchup(meter, () => timedCatchup(adapter, stream, w.recordBytes, 'session'))
      : undefined;
    let u: Awaited<ReturnType<typeof unary>>;
    let ss: Awaited<ReturnType<typeof unary>> | undefined;
    if (session && rep % 2 === 0) {
      ss = await session();
      u = await unary();
    } else {
      u = await unary();
      ss = await session?.();
    }
    const c = u.tally;
    const checks: [boolean, string][] = [
      [write.errors === 0, `${write.errors} preload errors (first: ${write.firstError})`],
      [c.records === write.records, `catch-up read ${c.records} records, ${write.records} acked`],
      [c.badSize === 0, `${c.badSize} records had the wrong size`],
    ];
    const metrics: Metrics = {
      ...catchupMetrics(c),
      ...cpuMsPerMiB('catchupCpuMsPerMiB', u.server, c.bytes),
      preloadRecords: write.records,
      preloadMiBps: write.mibps,
    };
    if (ss) {
      const t = ss.tally;
      checks.push(
        [t.records === write.records, `S2S catch-up read ${t.records} records, ${write.records} acked`],
        [t.badSize === 0, `${t.badSize} S2S catch-up records had the wrong size`],
      );
      metrics.catchupS2sMiBps = round(t.bytes / MiB / t.seconds, 1);
      Object.assign(metrics, cpuMsPerMiB('catchupS2sCpuMsPerMiB', ss.server, t.bytes));
    }
    const verification = verify(checks);
    keep = w.restartAfter && verification.ok;
    return {
      metrics,
      verification,
      raw: { write, catchup: c, catchupServer: u.server, session: ss },
      preloaded: keep ? { stream, records: write.records, recordBytes: w.recordBytes } : undefined,
    };
  } finally {
    if (!keep) await adapter.deleteStream(stream).catch(() => {});
  }
}

/**
 * W9: SIGKILL the server holding W8's data, start it again on the same data, and time: until it
 * listens, until it answers, until a first record is readable, and a full read; then count losses.
 */
export async function runRestart(server: ServerHandle, data: Preloaded): Promise<Outcome> {
  const t0 = nowNs();
  await server.crashAndRestart();
  const tListen = nowNs();
  const adapter = await openAdapter(server.endpoint);
  try {
    await Promise.race([
      adapter.ready(),
      sleep(60_000).then(() => Promise.reject(new Error('not ready 60 s after restart'))),
    ]);
    const tReady = nowNs();
    let firstNs = 0;
    let records = 0;
    let badTimestamps = 0;
    await adapter.catchup(data.stream, data.recordBytes, (head, len) => {
      if (records === 0) firstNs = nowNs();
      records++;
      if (len !== data.recordBytes || !(timestampOf(head) > 0)) badTimestamps++;
    });
    const tRead = nowNs();
    await adapter.deleteStream(data.stream).catch(() => {});
    const s = (ns: number) => round((ns - t0) / 1e9, 3);
    return {
      metrics: {
        restartListenS: s(tListen),
        restartReadyS: s(tReady),
        firstReadS: records ? s(firstNs) : NaN,
        fullReadS: s(tRead),
        lostRecords: data.records - records,
      },
      verification: verify([
        [records === data.records, `${data.records} records acked before the kill, ${records} read after the restart`],
        [badTimestamps === 0, `${badTimestamps} records damaged`],
      ]),
    };
  } finally {
    await adapter.close().catch(() => {});
  }
}
