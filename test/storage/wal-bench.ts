/**
 * Commit cost of the write-ahead log (src/storage/wal/) against the current local-disk chunk path,
 * run side by side, alternating, on the same disk:
 *
 *   node --import tsx test/storage/wal-bench.ts [--seconds 5] [--reps 3] [--busy-ms 0]
 *        [--variants raw,wal-thread,wal-loop,wal-libuv,chunk-log]
 *   node --import tsx test/storage/wal-bench.ts --recovery-mib 1024
 *
 * Variants (each commit is one 1 KiB record; 1 and 64 commits in flight):
 * - `wal-thread`: the log as built, syscalls on its writer thread (io-thread.ts);
 * - `wal-loop`: the same log with pwritev + fdatasync called synchronously on the event loop;
 * - `wal-libuv`: the same log with fs.writev / fs.fdatasync callbacks (libuv's thread pool), one
 *   round in flight, everything submitted meanwhile grouped into the next;
 * - `chunk-log`: today's path, the chunk log over the local-filesystem store (a chunk object per
 *   group commit: open O_EXCL, write, fdatasync, close, link, unlink, directory fsync);
 * - `raw`: a thread doing pwrite + fdatasync of the same frame size back to back on a zero-filled
 *   file, no log and no hand-off (1 in flight only). Not a floor on every machine: on the VM these
 *   numbers come from, syncs issued back to back were slower than the log's, which pauses ~20 us
 *   between them (a 50 us pause in this loop sped it up too).
 *
 * Reported per run: commits/s, commit latency p50/p99 (submit to resolve), fdatasyncs per commit
 * (wal variants) and the event loop's p99 and max delay (monitorEventLoopDelay): what a blocked loop
 * costs every other request. `--busy-ms N` keeps the event loop busy with N ms CPU slices between
 * turns, as request handling would. The machine is shared and noisy: compare ratios within a run.
 * Set TMPDIR to measure another disk. Not a test.
 *
 * `--recovery-mib N` instead writes N MiB of 256 KiB frames and times reading them back through
 * WalRecovery (files in the page cache, as right after a crash without a reboot: this measures
 * the CPU side of recovery, CRCs and scanning, plus reads from memory).
 */
import { fdatasync, writev } from 'node:fs';
import { fdatasyncSync, writevSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { monitorEventLoopDelay } from 'node:perf_hooks';
import { Worker } from 'node:worker_threads';
import { openStreamLog } from '../../src/storage/open.js';
import {
  Wal,
  WalRecovery,
  type WalIoCallbacks,
  type WalIoFactory,
  type WalWrite,
} from '../../src/storage/wal/index.js';
import { createStream } from './helpers.js';

const recordBytes = 1024;
const body = new Uint8Array(recordBytes).fill(120);
/** About what the chunk writer would log for one commit of one 1 KiB record. */
const frameBody = new Uint8Array(recordBytes + 80).fill(121);

interface Result {
  variant: string;
  inFlight: number;
  commitsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  syncsPerCommit: number;
  loopP99Ms: number;
  loopMaxMs: number;
}

/** Synchronous pwritev + fdatasync on the event loop, when the log publishes a batch. */
const loopIo: WalIoFactory = (_ring, callbacks) => {
  let done = 0;
  return {
    freeSlots: () => 1 << 20,
    submit(writes) {
      const started = performance.now();
      const fds = writeAllSync(writes);
      for (const fd of fds) fdatasyncSync(fd);
      done += writes.length;
      const seconds = (performance.now() - started) / 1000;
      const total = done;
      // Via setImmediate, not a microtask: a chain of synchronous commits would never let the loop turn.
      setImmediate(() => callbacks.durable(total, fds.size, seconds));
    },
    setBusy() {},
    close: async () => {},
  };
};

function writeAllSync(writes: WalWrite[]): Set<number> {
  const fds = new Set<number>();
  for (const w of writes) {
    let at = 0;
    while (at < w.data.length) at += writevSync(w.fd, [w.data.subarray(at)], w.position + at);
    fds.add(w.fd);
  }
  return fds;
}

/** libuv's pool through fs callbacks: one round (writes, then fdatasyncs) at a time. */
const libuvIo: WalIoFactory = (_ring, callbacks: WalIoCallbacks) => {
  let queued: WalWrite[] = [];
  let submitted = 0;
  let running = false;
  const round = () => {
    if (running || queued.length === 0) return;
    running = true;
    const writes = queued;
    queued = [];
    const through = submitted;
    const started = performance.now();
    const fds = [...new Set(writes.map((w) => w.fd))];
    const next = (i: number): void => {
      if (i < writes.length) {
        const w = writes[i];
        writev(w.fd, [w.data], w.position, (error) =>
          error ? callbacks.failed(failure(error, 'write', w.fd)) : next(i + 1),
        );
        return;
      }
      const sync = (j: number): void => {
        if (j === fds.length) {
          running = false;
          callbacks.durable(through, fds.length, (performance.now() - started) / 1000);
          round();
          return;
        }
        fdatasync(fds[j], (error) => (error ? callbacks.failed(failure(error, 'fdatasync', fds[j])) : sync(j + 1)));
      };
      sync(0);
    };
    next(0);
  };
  return {
    freeSlots: () => 1 << 20,
    submit(writes) {
      queued.push(...writes);
      submitted += writes.length;
      round();
    },
    setBusy() {},
    close: async () => {},
  };
};

function failure(error: NodeJS.ErrnoException, step: 'write' | 'fdatasync', fd: number) {
  return { errno: error.code, step, fd, message: error.message };
}

const ios: Record<string, WalIoFactory | undefined> = {
  'wal-thread': undefined,
  'wal-loop': loopIo,
  'wal-libuv': libuvIo,
};

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

/** Keeps `inFlight` commits outstanding for `seconds`; `commit` resolves when durable. */
async function drive(commit: () => Promise<void>, inFlight: number, seconds: number) {
  const latencies: number[] = [];
  const deadline = performance.now() + seconds * 1000;
  const start = performance.now();
  const worker = async () => {
    while (performance.now() < deadline) {
      const submitted = performance.now();
      await commit();
      latencies.push(performance.now() - submitted);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  latencies.sort((a, b) => a - b);
  return { latencies, elapsed: (performance.now() - start) / 1000 };
}

async function runWal(variant: string, dir: string, inFlight: number, seconds: number) {
  const recovery = await WalRecovery.open(dir, 0);
  for await (const _ of recovery.frames());
  let syncs = 0;
  const wal = await Wal.start(recovery, {
    epoch: recovery.lastEpoch + 1,
    io: ios[variant],
    onSync: (r) => (syncs += r.syncs),
  });
  while (wal.stats().spareFiles === 0) await new Promise((resolve) => setTimeout(resolve, 10)); // measure steady state
  syncs = 0;
  let commits = 0;
  const commit = async () => {
    await wal.append(wal.nextChunkId, frameBody);
    // Checkpoints fold the log every few thousand commits; release lets files be recycled.
    if (++commits % 2000 === 0) await wal.releaseThrough(wal.durableChunkId - 1000);
  };
  const run = await drive(commit, inFlight, seconds);
  await wal.close();
  return { ...run, syncsPerCommit: syncs / Math.max(1, run.latencies.length) };
}

async function runChunkLog(dir: string, inFlight: number, seconds: number) {
  const log = await openStreamLog({ kind: 'local', root: dir });
  const stream = `bench-${inFlight}`;
  await log.commit(createStream(stream));
  let next = 0;
  const commit = () => {
    const seqNum = next++;
    return log.commit([
      {
        kind: 'append',
        stream,
        records: [{ seqNum, timestamp: BigInt(seqNum), headers: [], body }],
        tail: { seqNum: seqNum + 1, timestamp: BigInt(seqNum) },
        writtenAtMs: Date.now(),
        expiresAtMs: null,
      },
    ]);
  };
  const run = await drive(commit, inFlight, seconds);
  await log.close();
  return { ...run, syncsPerCommit: NaN };
}

/** pwrite + fdatasync back to back on a worker thread; the latency of each pair, in ms. */
async function runRaw(dir: string, seconds: number) {
  const source = String.raw`
    const fs = require('node:fs');
    const { workerData, parentPort } = require('node:worker_threads');
    const fd = fs.openSync(workerData.file, 'w+');
    const zeros = Buffer.alloc(1 << 20);
    for (let i = 0; i < 64; i++) fs.writeSync(fd, zeros, 0, zeros.length, i * zeros.length);
    fs.fdatasyncSync(fd);
    const frame = Buffer.alloc(workerData.frameBytes, 1);
    const latencies = [];
    const start = performance.now();
    const deadline = start + workerData.seconds * 1000;
    for (let at = 0; performance.now() < deadline; at = (at + frame.length) % (64 << 20)) {
      const t = performance.now();
      fs.writeSync(fd, frame, 0, frame.length, at);
      fs.fdatasyncSync(fd);
      latencies.push(performance.now() - t);
    }
    parentPort.postMessage({ latencies, elapsed: (performance.now() - start) / 1000 });`;
  const worker = new Worker(source, { eval: true, workerData: { file: join(dir, 'raw'), frameBytes: 1168, seconds } });
  const result = await new Promise<{ latencies: number[]; elapsed: number }>((resolve, reject) => {
    worker.once('message', resolve);
    worker.once('error', reject);
  });
  await worker.terminate();
  result.latencies.sort((a, b) => a - b);
  return { ...result, syncsPerCommit: 1 };
}

/** Burns `ms` of CPU per event-loop turn until stopped, as request handling would. */
function busyLoop(ms: number): () => void {
  if (ms <= 0) return () => {};
  let stopped = false;
  const spin = () => {
    if (stopped) return;
    const until = performance.now() + ms;
    while (performance.now() < until);
    setImmediate(spin);
  };
  setImmediate(spin);
  return () => (stopped = true);
}

async function run(variant: string, inFlight: number, seconds: number, busyMs: number): Promise<Result> {
  const dir = await mkdtemp(join(tmpdir(), 's2-wal-bench-'));
  const loop = monitorEventLoopDelay({ resolution: 1 });
  const stopBusy = busyLoop(busyMs);
  loop.enable();
  try {
    const r =
      variant === 'raw'
        ? await runRaw(dir, seconds)
        : variant === 'chunk-log'
          ? await runChunkLog(dir, inFlight, seconds)
          : await runWal(variant, join(dir, 'wal'), inFlight, seconds);
    loop.disable();
    return {
      variant,
      inFlight,
      commitsPerSecond: r.latencies.length / r.elapsed,
      p50Ms: percentile(r.latencies, 50),
      p99Ms: percentile(r.latencies, 99),
      syncsPerCommit: r.syncsPerCommit,
      loopP99Ms: loop.percentile(99) / 1e6,
      loopMaxMs: loop.max / 1e6,
    };
  } finally {
    stopBusy();
    await rm(dir, { recursive: true, force: true });
  }
}

function median(values: number[]): number {
  const sorted = [...values].sort((a, b) => a - b);
  return sorted[Math.floor(sorted.length / 2)];
}

async function recoveryTime(mib: number): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 's2-wal-recovery-'));
  try {
    const recovery = await WalRecovery.open(dir, 0);
    for await (const _ of recovery.frames());
    const wal = await Wal.start(recovery, { epoch: 1 });
    const frame = new Uint8Array(256 * 1024).fill(7);
    const pending: Promise<void>[] = [];
    for (let written = 0; written < mib * 1024 * 1024; written += frame.length) {
      pending.push(wal.append(wal.nextChunkId, frame));
      if (pending.length === 64) await Promise.all(pending.splice(0));
    }
    await Promise.all(pending);
    await wal.close();
    const start = performance.now();
    const reread = await WalRecovery.open(dir, 0);
    let bytes = 0;
    let frames = 0;
    for await (const f of reread.frames()) {
      bytes += f.body.length;
      frames++;
    }
    const seconds = (performance.now() - start) / 1000;
    console.log(
      `recovered ${frames} frames, ${(bytes / 2 ** 20).toFixed(0)} MiB in ${seconds.toFixed(2)} s (${(bytes / 2 ** 20 / seconds).toFixed(0)} MiB/s), page cache warm`,
    );
  } finally {
    await rm(dir, { recursive: true, force: true });
  }
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string, fallback: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : fallback;
  };
  if (args.includes('--recovery-mib')) return recoveryTime(Number(option('--recovery-mib', '1024')));
  const seconds = Number(option('--seconds', '5'));
  const reps = Number(option('--reps', '3'));
  const busyMs = Number(option('--busy-ms', '0'));
  const variants = option('--variants', 'raw,wal-thread,wal-loop,wal-libuv,chunk-log').split(',');
  const results: Result[] = [];
  for (let rep = 0; rep < reps; rep++) {
    const order = rep % 2 === 0 ? variants : [...variants].reverse();
    for (const inFlight of [1, 64]) {
      for (const variant of order) {
        if (variant === 'raw' && inFlight > 1) continue;
        const result = await run(variant, inFlight, seconds, busyMs);
        results.push(result);
        console.error(JSON.stringify({ rep, ...result }));
      }
    }
  }
  const f = (n: number) => (Number.isNaN(n) ? '-' : n >= 100 ? n.toFixed(0) : n.toFixed(2));
  console.log(`\n${seconds} s per run, ${reps} reps alternating, medians; busy ${busyMs} ms per loop turn\n`);
  console.log(
    '| variant | in flight | commits/s | p50 ms | p99 ms | fdatasyncs/commit | loop p99 ms | loop max ms | commits/s vs chunk-log | p50 vs chunk-log |',
  );
  console.log('| --- | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: | ---: |');
  for (const inFlight of [1, 64]) {
    const of = (variant: string) => results.filter((r) => r.variant === variant && r.inFlight === inFlight);
    const base = of('chunk-log');
    for (const variant of variants) {
      const rs = of(variant);
      if (rs.length === 0) continue;
      const m = (key: keyof Result) => median(rs.map((r) => r[key] as number));
      const ratio = (key: keyof Result) =>
        base.length > 0 ? f(m(key) / median(base.map((r) => r[key] as number))) : '-';
      console.log(
        `| ${variant} | ${inFlight} | ${f(m('commitsPerSecond'))} | ${f(m('p50Ms'))} | ${f(m('p99Ms'))} | ${f(m('syncsPerCommit'))} | ${f(m('loopP99Ms'))} | ${f(m('loopMaxMs'))} | ${ratio('commitsPerSecond')} | ${ratio('p50Ms')} |`,
      );
    }
  }
}

await main();
