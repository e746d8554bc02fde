/**
 * Runs one workload (defined in ./workload-defs.ts) against one system and returns flat metrics plus
 * a verification, with what the server spent during it (bench/lib/server-stats.ts).
 * Every load is bounded in time: producers stop at their deadline, drains and settles have limits.
 */
import { randomBytes } from 'node:crypto';
import { openAdapter } from './lib/adapters.js';
import { Followers } from './lib/followers.js';
import { runProducer, timestampOf } from './lib/harness.js';
import { rssKiB, sleep } from './lib/procs.js';
import type { PhaseStats, ServerMeter } from './lib/server-stats.js';
import { MiB, nowNs, round, Samples, summarizeNs } from './lib/stats.js';
import type { Base, CatchupWorkload, ManyWorkload, StreamWorkload } from './workload-defs.js';
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

export {
  restartId,
  smokeIds,
  workloads,
  type CatchupWorkload,
  type CliWorkload,
  type ManyWorkload,
  type StreamWorkload,
  type Workload,
} from './workload-defs.js';

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
interface MeteredCatchup {
  tally: CatchupTally;
  server: PhaseStats;
}

async function meteredCatchup(meter: ServerMeter, read: () => Promise<CatchupTally>): Promise<MeteredCatchup> {
  const mark = await meter.begin();
  const tally = await read();
  return { tally, server: await meter.end(mark) };
}

/** The read with the median rate (the lower middle one of an even count). */
function medianRead(reads: readonly MeteredCatchup[]): CatchupTally {
  const byRate = reads.map((r) => r.tally).sort((a, b) => a.bytes / a.seconds - b.bytes / b.seconds);
  return byRate[Math.floor((byRate.length - 1) / 2)];
}

const sumBytes = (reads: readonly MeteredCatchup[]) => reads.reduce((n, r) => n + r.tally.bytes, 0);

/** Server CPU and wall time of several reads together (the other stats are not used for reads). */
const summedServer = (reads: readonly MeteredCatchup[]): PhaseStats => ({
  cpuS: reads.reduce((n, r) => n + r.server.cpuS, 0),
  clientCpuS: reads.reduce((n, r) => n + r.server.clientCpuS, 0),
  wallS: reads.reduce((n, r) => n + r.server.wallS, 0),
});

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

/**
 * The workload's load for `w.warmupS` seconds on a stream of its own (with at most one follower),
 * so every system, ours and the peers alike, is measured warm. Nothing of it is reported.
 */
async function warmUp(adapter: Adapter, w: StreamWorkload, endpoint: ServerHandle['endpoint']): Promise<void> {
  const stream = `${name(w)}-warmup`;
  await adapter.createStream(stream);
  try {
    const followers = w.followers
      ? await Followers.start({ endpoint, stream, recordBytes: w.recordBytes, followers: 1 })
      : undefined;
    const writer = await adapter.writer(stream, w.window, { session: w.session });
    const write = await runProducer(writer, { ...w, seconds: w.warmupS });
    await writer.close();
    await followers?.finish(write.records, 5_000);
  } finally {
    await adapter.deleteStream(stream).catch(() => {});
  }
}

export async function runStream(
  adapter: Adapter,
  w: StreamWorkload,
  endpoint: ServerHandle['endpoint'],
  meter: ServerMeter,
): Promise<Outcome> {
  if (w.warmupS > 0) await warmUp(adapter, w, endpoint);
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
 * W8: preload, then time the catch-up reads: `w.reads` rounds, each reading the whole stream through
 * unary protobuf pages (the shape every peer has) and, on our server, through one S2S read session;
 * which goes first alternates with the round and the repetition, so neither always gets the warmer
 * caches. Rates are the median read's; server CPU per MiB is over all reads of a path.
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
    const pages: MeteredCatchup[] = [];
    const sessions: MeteredCatchup[] = [];
    for (let i = 0; i < w.reads; i++) {
      if (session && (rep + i) % 2 === 0) {
        sessions.push(await session());
        pages.push(await unary());
      } else {
        pages.push(await unary());
        if (session) sessions.push(await session());
      }
    }
    const checks: [boolean, string][] = [[write.errors === 0, `${write.errors} preload errors (first: ${write.firstError})`]];
    for (const [label, reads] of [
      ['catch-up', pages],
      ['S2S catch-up', sessions],
    ] as const) {
      for (const { tally: t } of reads) {
        checks.push(
          [t.records === write.records, `${label} read ${t.records} records, ${write.records} acked`],
          [t.badSize === 0, `${t.badSize} ${label} records had the wrong size`],
        );
      }
    }
    const c = medianRead(pages);
    const metrics: Metrics = {
      ...catchupMetrics(c),
      ...cpuMsPerMiB('catchupCpuMsPerMiB', summedServer(pages), sumBytes(pages)),
      preloadRecords: write.records,
      preloadMiBps: write.mibps,
    };
    if (sessions.length > 0) {
      const t = medianRead(sessions);
      metrics.catchupS2sMiBps = round(t.bytes / MiB / t.seconds, 1);
      Object.assign(metrics, cpuMsPerMiB('catchupS2sCpuMsPerMiB', summedServer(sessions), sumBytes(sessions)));
    }
    const verification = verify(checks);
    keep = w.restartAfter && verification.ok;
    return {
      metrics,
      verification,
      raw: { write, pages, sessions },
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
