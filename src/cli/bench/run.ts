/**
 * The `bench` workload, step by step as `s2 bench` does it (perf-research.md section 2):
 * 1. create the temporary stream `bench/<uuid>` (retention 1 h, delete-on-empty 60 s,
 *    client-require timestamps, uncapped);
 * 2. write rate-limited records through a Producer over an append session (linger 5 ms, 5 MiB
 *    unacknowledged, batches of <= 1000 records / 1 MiB) for `duration`, measuring ack latency;
 * 3. meanwhile a live read session from seq_num 0 follows the tail, measuring end-to-end latency,
 *    until it has every record the writer had acknowledged;
 * 4. after `catchupDelay`, a catch-up read session from seq_num 0 with wait=0 reads to the tail;
 * 5. both readers verify counts and the hash chain; the stream is deleted at the end.
 * Timestamps are microseconds since the bench started, so end-to-end latency is `now - timestamp`
 * on one clock.
 */
import { randomUUID } from 'node:crypto';
import { setTimeout as sleep } from 'node:timers/promises';
import { BatchTransform, Producer, type S2Basin, type S2Stream, type SessionTransports } from '@s2-dev/streamstore';
import { ChainVerifier, RecordFactory, recordOverhead } from './records.js';
import { Samples, summarizeLatencies, throughput, type LatencySummary, type Throughput } from './stats.js';
import { untilAborted } from '../output.js';

export interface BenchOptions {
  recordSize: number;
  targetMibps: number;
  durationMs: number;
  catchupDelayMs: number;
  lingerMs: number;
  storageClass?: 'standard' | 'express';
  appendTransport: SessionTransports;
  readTransport: SessionTransports;
  /** How long the live reader may lag behind the writer's last ack before the run fails. */
  readerGraceMs: number;
  /** How long the writer may wait for its outstanding acks after the deadline before the run fails. */
  drainTimeoutMs: number;
}

export interface BenchResult {
  basin: string;
  stream: string;
  options: BenchOptions;
  write: Throughput;
  read: Throughput;
  catchup: Throughput | null;
  ackLatencyMs: LatencySummary;
  e2eLatencyMs: LatencySummary;
  verification: { ok: boolean; details: string[] };
}

/** Live numbers for the progress display. */
export interface BenchProgress {
  phase: 'writing' | 'draining' | 'waiting for catch-up' | 'catching up' | 'done';
  elapsedMs: number;
  written: number;
  acked: number;
  read: number;
  caughtUp: number;
  catchupStartsInMs: number;
}

const MiB = 1024 * 1024;

/** Closes a stream handle, giving up after `ms`: a stuck session must not keep the run from ending. */
async function closeWithin(stream: S2Stream, ms: number): Promise<void> {
  let timer: NodeJS.Timeout | undefined;
  await Promise.race([
    stream.close().catch(() => {}),
    new Promise<void>((resolve) => (timer = setTimeout(resolve, ms))),
  ]);
  clearTimeout(timer);
}

export class BenchRun {
  readonly progress: BenchProgress = {
    phase: 'writing',
    elapsedMs: 0,
    written: 0,
    acked: 0,
    read: 0,
    caughtUp: 0,
    catchupStartsInMs: 0,
  };
  readonly streamName = `bench/${randomUUID()}`;
  private deleted: Promise<void> | undefined;
  private readonly origin = performance.now();

  constructor(
    private readonly basin: S2Basin,
    private readonly options: BenchOptions,
  ) {}

  private nowUs(): number {
    return Math.round((performance.now() - this.origin) * 1000);
  }

  private stream(transport: SessionTransports): S2Stream {
    return this.basin.stream(this.streamName, { forceTransport: transport });
  }

  async run(): Promise<BenchResult> {
    const { options } = this;
    await this.basin.streams.create({
      stream: this.streamName,
      config: {
        retentionPolicy: { ageSecs: 3600 },
        deleteOnEmpty: { minAgeSecs: 60 },
        timestamping: { mode: 'client-require', uncapped: true },
        ...(options.storageClass ? { storageClass: options.storageClass } : {}),
      },
    });
    try {
      return await this.measure();
    } finally {
      this.progress.phase = 'done';
      await this.deleteStream();
    }
  }

  /** Deletes the temporary stream (once), e.g. at the end or when the user interrupts the run. */
  deleteStream(): Promise<void> {
    this.deleted ??= this.basin.streams.delete({ stream: this.streamName }).catch(() => {});
    return this.deleted;
  }

  private async measure(): Promise<BenchResult> {
    const { options } = this;
    const details: string[] = [];
    const writer = this.write();
    const reader = this.readLive(writer);
    // Let the reader finish (it stops on its own once the writer fails) before reporting a failure.
    const [writeOutcome, live] = await Promise.all([
      writer.then(
        (w) => ({ w }),
        (error: unknown) => ({ error }),
      ),
      reader,
    ]);
    if ('error' in writeOutcome) throw writeOutcome.error;
    const written = writeOutcome.w;

    if (live.count !== written.acked)
      details.push(`live read: ${live.count} records, but ${written.acked} were acknowledged`);
    if (live.problem) details.push(live.problem);
    else if (live.count === written.acked && live.lastHash !== written.lastHash)
      details.push('live read: final hash differs');

    let catchup: Throughput | null = null;
    if (written.acked > 0) {
      this.progress.phase = 'waiting for catch-up';
      const until = performance.now() + options.catchupDelayMs;
      while (performance.now() < until) {
        this.progress.catchupStartsInMs = until - performance.now();
        await sleep(Math.min(100, Math.max(0, until - performance.now())));
      }
      this.progress.catchupStartsInMs = 0;
      this.progress.phase = 'catching up';
      const caught = await this.readCatchup();
      catchup = throughput(caught.verifier.count, options.recordSize, caught.seconds);
      const v = caught.verifier;
      if (caught.error) details.push(`catch-up read failed: ${caught.error}`);
      if (v.count !== written.acked)
        details.push(`catch-up read: ${v.count} records, but ${written.acked} were acknowledged`);
      if (v.problem) details.push(v.problem);
      else if (v.count === written.acked && v.lastHash !== written.lastHash)
        details.push('catch-up read: final hash differs');
    } else {
      details.push('no record was acknowledged');
    }
    return {
      basin: this.basin.name,
      stream: this.streamName,
      options,
      write: throughput(written.acked, options.recordSize, written.seconds),
      read: throughput(live.count, options.recordSize, live.seconds),
      catchup,
      ackLatencyMs: summarizeLatencies(written.ackLatencyUs.values()),
      e2eLatencyMs: summarizeLatencies(live.e2eLatencyUs.values()),
      verification: { ok: details.length === 0, details },
    };
  }

  /** Submits records at the target rate until the deadline, then drains the acks. */
  private async write(): Promise<{ acked: number; lastHash: bigint; seconds: number; ackLatencyUs: Samples }> {
    const { options } = this;
    const stream = this.stream(options.appendTransport);
    const session = await stream.appendSession({ maxInflightBytes: 5 * MiB });
    const producer = new Producer(
      new BatchTransform({ lingerDurationMillis: options.lingerMs, maxBatchRecords: 1000, maxBatchBytes: MiB }),
      session,
    );
    const factory = new RecordFactory(options.recordSize);
    const ackLatencyUs = new Samples();
    const bytesPerMs = (options.targetMibps * MiB) / 1000;
    const start = performance.now();
    const deadline = start + options.durationMs;
    let submittedBytes = 0;
    let failure: unknown;
    try {
      while (performance.now() < deadline && failure === undefined) {
        // Hold the submitted bytes at the target rate: wait until this record is due.
        const dueAt = start + submittedBytes / bytesPerMs;
        const now = performance.now();
        if (dueAt > now) await sleep(Math.min(dueAt - now, deadline - now));
        if (performance.now() >= deadline) break;
        const submittedAtUs = this.nowUs();
        const ticket = await producer.submit(factory.next(submittedAtUs));
        submittedBytes += options.recordSize;
        this.progress.written += 1;
        this.progress.elapsedMs = performance.now() - start;
        ticket.ack().then(
          () => {
            ackLatencyUs.push(this.nowUs() - submittedAtUs);
            this.progress.acked += 1;
          },
          (error: unknown) => (failure ??= error),
        );
      }
      this.progress.phase = 'draining';
      // A stalled acknowledgement must fail the run, not hang it.
      let timer: NodeJS.Timeout | undefined;
      const stalled = new Promise<never>((_, reject) => {
        timer = setTimeout(() => {
          const pending = this.progress.written - this.progress.acked;
          reject(
            new Error(
              `writer: ${pending} records still unacknowledged ${options.drainTimeoutMs / 1000} s after the deadline`,
            ),
          );
        }, options.drainTimeoutMs);
      });
      try {
        await Promise.race([producer.close(), stalled]);
      } finally {
        clearTimeout(timer);
      }
      // Every ack has resolved; let the callbacks above record their latencies before counting.
      await new Promise((resolve) => setImmediate(resolve));
    } finally {
      await closeWithin(stream, 5_000);
    }
    if (failure !== undefined) throw failure;
    return {
      acked: this.progress.acked,
      lastHash: factory.chain.last,
      seconds: (performance.now() - start) / 1000,
      ackLatencyUs,
    };
  }

  /** Follows the stream from seq_num 0 until it has every record the writer had acknowledged. */
  private async readLive(writer: Promise<{ acked: number }>): Promise<{
    count: number;
    lastHash: bigint;
    problem?: string;
    seconds: number;
    e2eLatencyUs: Samples;
  }> {
    const { options } = this;
    const stream = this.stream(options.readTransport);
    const verifier = new ChainVerifier('live read', options.recordSize - recordOverhead);
    const e2eLatencyUs = new Samples();
    const abort = new AbortController();
    let target: number | undefined;
    let stalled = false;
    let writerFailed = false;
    void writer.then(
      (w) => (target = w.acked),
      () => (writerFailed = true),
    );
    // Like the official bench, check every 250 ms whether the writer is done and everything arrived;
    // give up after `readerGraceMs` without reaching the writer's count.
    const watchdog = (async () => {
      let doneAt: number | undefined;
      while (!abort.signal.aborted) {
        await sleep(250);
        if (writerFailed) return abort.abort();
        if (target === undefined) continue;
        doneAt ??= performance.now();
        if (verifier.count >= target) return abort.abort();
        if (performance.now() - doneAt > options.readerGraceMs) {
          stalled = true;
          return abort.abort();
        }
      }
    })();
    const start = performance.now();
    let lastAt = start;
    let error: unknown;
    try {
      const session = await stream.readSession(
        { start: { from: { seqNum: 0 } } },
        { as: 'bytes', signal: abort.signal },
      );
      for await (const record of untilAborted(session, abort.signal)) {
        const now = this.nowUs();
        e2eLatencyUs.push(now - record.timestamp.getTime());
        verifier.feed(record);
        lastAt = performance.now();
        this.progress.read = verifier.count;
        if (target !== undefined && verifier.count >= target) break;
      }
    } catch (e) {
      if (!abort.signal.aborted) error = e;
    } finally {
      if (!abort.signal.aborted) abort.abort();
      await watchdog;
      await closeWithin(stream, 5_000);
    }
    const problems = [
      verifier.problem,
      error !== undefined ? `live read failed: ${(error as Error).message ?? String(error)}` : undefined,
      stalled ? `live read stalled at ${verifier.count} of ${target} records` : undefined,
    ].filter((p): p is string => p !== undefined);
    return {
      count: verifier.count,
      lastHash: verifier.lastHash,
      problem: problems.length > 0 ? problems.join('; ') : undefined,
      seconds: (lastAt - start) / 1000,
      e2eLatencyUs,
    };
  }

  /** Reads everything from seq_num 0 to the tail without waiting (wait=0), within 5 minutes. */
  private async readCatchup(): Promise<{ verifier: ChainVerifier; seconds: number; error?: string }> {
    const stream = this.stream(this.options.readTransport);
    const verifier = new ChainVerifier('catch-up read', this.options.recordSize - recordOverhead);
    const abort = new AbortController();
    const timer = setTimeout(() => abort.abort(), 5 * 60_000);
    const start = performance.now();
    let error: string | undefined;
    try {
      const session = await stream.readSession(
        { start: { from: { seqNum: 0 } }, stop: { waitSecs: 0 } },
        { as: 'bytes', signal: abort.signal },
      );
      for await (const record of untilAborted(session, abort.signal)) {
        verifier.feed(record);
        this.progress.caughtUp = verifier.count;
      }
      if (abort.signal.aborted) error = 'timed out after 5 minutes';
    } catch (e) {
      error = abort.signal.aborted ? 'timed out after 5 minutes' : ((e as Error).message ?? String(e));
    } finally {
      clearTimeout(timer);
      await closeWithin(stream, 5_000);
    }
    return { verifier, seconds: (performance.now() - start) / 1000, error };
  }
}
