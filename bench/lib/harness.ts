/**
 * The load generator every system shares (modelled on `s2 bench`, cli/src/bench.rs):
 *
 * - fixed-size records whose first 8 bytes are a big-endian CLOCK_MONOTONIC timestamp (ns), so a reader
 *   in another thread computes end-to-end latency without clock skew; the rest is random bytes;
 * - `window` requests in flight (1 = strict request/ack) of `batch` records each;
 * - optional pacing to a target MiB/s with bench.rs's rule: wait while submitted/target > elapsed;
 * - ack latency per request (submit -> ack);
 * - every load is bounded: submitting stops at the deadline and the drain of in-flight requests is
 *   bounded too, so a stalled system ends the run with an error instead of hanging it.
 */
import { randomFillSync } from 'node:crypto';
import type { Writer } from './types.js';
import { MiB, nowNs, round, Samples, summarizeNs, type LatencySummary } from './stats.js';

// One random pool reused for record bodies: generating fresh random bytes per record would make the
// client, not the server, the bottleneck at high rates. Consecutive bodies never overlap (the offset
// moves past the whole body, plus a prime so the period is long): with a fixed 4 KiB stride, 8 KiB
// bodies shared half their bytes with the previous one and zstd level 1 packed a batch to 51%
// (64 KiB bodies: to 12%), so the server compressed what was meant to be incompressible.
const POOL = randomFillSync(Buffer.alloc(4 * MiB));
let poolOffset = 0;

export function makeRecord(size: number): Buffer {
  const b = Buffer.allocUnsafe(size);
  if (poolOffset + size > POOL.length) poolOffset = (poolOffset + size) % 4099;
  POOL.copy(b, 0, poolOffset, poolOffset + size);
  poolOffset += size + 4099;
  if (size >= 8) b.writeBigUInt64BE(process.hrtime.bigint(), 0);
  return b;
}

export function timestampOf(body: Uint8Array): number {
  const v = new DataView(body.buffer, body.byteOffset, 8);
  return Number(v.getBigUint64(0));
}

export interface ProducerOptions {
  recordBytes: number;
  batch: number;
  window: number;
  seconds: number;
  /** 0 = as fast as acks allow. */
  targetMiBps: number;
  /** How long to wait for in-flight requests after the deadline before giving up on them. */
  drainTimeoutS?: number;
  /** Stop submitting after this many records (preloading a known amount); 0 = no limit. */
  maxRecords?: number;
  /** Also collect raw ack latencies here (W7 merges many producers into one distribution). */
  sink?: Samples;
}

export interface WriteResult {
  records: number;
  bytes: number;
  seconds: number;
  recordsPerSec: number;
  requestsPerSec: number;
  mibps: number;
  errors: number;
  /** Requests still unacknowledged when the drain timed out (they count as errors too). */
  undrained: number;
  firstError?: string;
  ack: LatencySummary;
}

export async function runProducer(writer: Writer, o: ProducerOptions): Promise<WriteResult> {
  const lat = new Samples();
  const recordBytes = o.recordBytes;
  let acked = 0;
  let inflight = 0;
  let submittedBytes = 0;
  let errors = 0;
  let firstError: string | undefined;
  const t0 = nowNs();
  const deadline = t0 + o.seconds * 1e9;
  const targetBps = o.targetMiBps * MiB;
  let tEnd = t0;
  let undrained = 0;

  await new Promise<void>((resolve) => {
    let stopping = false;
    let scheduled = false;
    let done = false;
    const finish = () => {
      if (done) return;
      done = true;
      tEnd = nowNs();
      undrained = inflight;
      resolve();
    };
    // One scheduler: at most one pending timer or immediate, so pacing never piles up timers.
    const schedule = (ms: number) => {
      if (scheduled) return;
      scheduled = true;
      const fn = () => {
        scheduled = false;
        pump();
      };
      if (ms > 0) setTimeout(fn, ms);
      else setImmediate(fn);
    };
    const stop = () => {
      if (stopping) return;
      stopping = true;
      if (inflight === 0) return finish();
      setTimeout(finish, (o.drainTimeoutS ?? 30) * 1000).unref();
    };
    const pump = () => {
      if (stopping) return;
      if (nowNs() >= deadline) return stop();
      while (inflight < o.window) {
        if (o.maxRecords && submittedBytes >= o.maxRecords * recordBytes) return stop();
        if (targetBps > 0) {
          const dueNs = (submittedBytes / targetBps) * 1e9;
          const elapsed = nowNs() - t0;
          if (dueNs > elapsed) {
            // Never sleep past the deadline, so a slow target rate cannot stretch the run.
            schedule(Math.min((dueNs - elapsed) / 1e6, (deadline - nowNs()) / 1e6 + 1));
            return;
          }
        }
        const records: Buffer[] = new Array(o.batch);
        for (let i = 0; i < o.batch; i++) records[i] = makeRecord(recordBytes);
        const start = nowNs();
        inflight++;
        submittedBytes += recordBytes * o.batch;
        writer
          .send(records)
          .then(
            () => {
              if (done) return;
              const l = nowNs() - start;
              lat.push(l);
              o.sink?.push(l);
              acked += o.batch;
            },
            (e: unknown) => {
              errors++;
              firstError ??= e instanceof Error ? e.message : String(e);
            },
          )
          .finally(() => {
            inflight--;
            if (stopping) {
              if (inflight === 0) finish();
            } else schedule(0);
          });
        if (nowNs() >= deadline) return stop();
      }
    };
    pump();
  });

  const seconds = (tEnd - t0) / 1e9;
  return {
    records: acked,
    bytes: acked * recordBytes,
    seconds: round(seconds, 3),
    recordsPerSec: Math.round(acked / seconds),
    requestsPerSec: Math.round(acked / o.batch / seconds),
    mibps: round((acked * recordBytes) / MiB / seconds, 3),
    errors: errors + undrained,
    undrained,
    firstError: firstError ?? (undrained ? `${undrained} requests unacknowledged after the drain timeout` : undefined),
    ack: summarizeNs(lat.view()),
  };
}
