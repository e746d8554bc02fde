/**
 * Commit throughput and latency of the stream log on each backend, opened exactly as `serve` opens
 * it (src/storage/open.ts: retries, metrics, S3's 50 ms flush interval):
 *
 *   node --import tsx test/storage/bench.ts [memory] [fs] [s3] [--seconds 10] [--flush-ms N]
 *
 * Each run keeps 1 or 64 commits outstanding (as that many clients would), each commit one append
 * of one 1 KiB record, and prints commits/s, p50/p99 commit latency (submit to resolve) and
 * commits per chunk (the group-commit factor, from the flush metrics). `fs` uses a temp directory
 * (set TMPDIR to measure another disk); `s3` creates a bucket on S2_TEST_S3_ENDPOINT (default
 * http://127.0.0.1:7480, the radosgw of test/setup/s3.ts) and deletes it afterwards.
 * Not a test: the numbers depend on the machine and its load.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { metrics } from '../../src/metrics.js';
import type { ObjectStoreConfig } from '../../src/objectstore/index.js';
import { openStreamLog } from '../../src/storage/open.js';
import { createTestBucket } from '../setup/s3-env.js';
import { createStream } from './helpers.js';

const recordBytes = 1024;
const body = new Uint8Array(recordBytes).fill(120);

interface Result {
  backend: string;
  inFlight: number;
  commitsPerSecond: number;
  p50Ms: number;
  p99Ms: number;
  commitsPerChunk: number;
}

async function chunksWritten(): Promise<number> {
  const { values } = await metrics.flushRecords.get();
  return values.find((v) => v.metricName?.endsWith('_count'))?.value ?? 0;
}

function percentile(sorted: number[], p: number): number {
  return sorted[Math.min(sorted.length - 1, Math.floor((p / 100) * sorted.length))];
}

async function run(
  backend: string,
  config: ObjectStoreConfig,
  inFlight: number,
  seconds: number,
  flushMs?: number,
): Promise<Result> {
  const log = await openStreamLog(config, { flushIntervalMs: flushMs });
  const stream = `bench-${inFlight}`;
  const existing = log.recovered().streams.find((s) => s.id === stream);
  if (!existing) await log.commit(createStream(stream));
  let next = existing?.tail.seqNum ?? 0;
  const latencies: number[] = [];
  const chunksBefore = await chunksWritten();
  const start = performance.now();
  const deadline = start + seconds * 1000;
  const worker = async () => {
    while (performance.now() < deadline) {
      // Seq_nums are taken synchronously, so commits to the one stream are submitted in order.
      const seqNum = next++;
      const submitted = performance.now();
      await log.commit([
        {
          kind: 'append',
          stream,
          records: [{ seqNum, timestamp: BigInt(seqNum), headers: [], body }],
          tail: { seqNum: seqNum + 1, timestamp: BigInt(seqNum) },
          writtenAtMs: Date.now(),
          expiresAtMs: null,
        },
      ]);
      latencies.push(performance.now() - submitted);
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  const elapsed = (performance.now() - start) / 1000;
  const chunks = (await chunksWritten()) - chunksBefore;
  await log.close();
  latencies.sort((a, b) => a - b);
  return {
    backend,
    inFlight,
    commitsPerSecond: latencies.length / elapsed,
    p50Ms: percentile(latencies, 50),
    p99Ms: percentile(latencies, 99),
    commitsPerChunk: latencies.length / Math.max(1, chunks),
  };
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? Number(args.splice(at, 2)[1]) : undefined;
  };
  const seconds = option('--seconds') ?? 10;
  const flushMs = option('--flush-ms');
  const backends = args.length > 0 ? args : ['memory', 'fs', 's3'];
  process.env.S2_TEST_S3_ENDPOINT ??= 'http://127.0.0.1:7480';
  process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';

  const results: Result[] = [];
  for (const backend of backends) {
    let config: ObjectStoreConfig;
    let cleanup = async () => {};
    if (backend === 'memory') {
      config = { kind: 'memory' };
    } else if (backend === 'fs') {
      const dir = await mkdtemp(join(tmpdir(), 's2-log-bench-'));
      config = { kind: 'local', root: dir };
      cleanup = () => rm(dir, { recursive: true, force: true });
    } else if (backend === 's3') {
      const bucket = await createTestBucket();
      const { endpoint, region, accessKeyId, secretAccessKey } = bucket.config;
      config = {
        kind: 's3',
        bucket: bucket.bucket,
        prefix: 'bench',
        s3: { endpoint, region, credentials: { accessKeyId, secretAccessKey }, requestTimeoutMs: 10_000 },
      };
      cleanup = bucket.cleanup;
    } else {
      throw new Error(`unknown backend ${backend} (memory, fs, s3)`);
    }
    try {
      // A memory store lives only as long as its log, so every run starts fresh there.
      for (const inFlight of [1, 64]) {
        const result = await run(backend, config, inFlight, seconds, flushMs);
        results.push(result);
        console.error(JSON.stringify(result));
      }
    } finally {
      await cleanup();
    }
  }
  const flush =
    flushMs === undefined ? 'default flush interval (s3: 50 ms, others: 0)' : `flush interval ${flushMs} ms`;
  console.log(`\n${seconds} s per run, one 1 KiB record per commit, ${flush}\n`);
  console.log('| backend | in flight | commits/s | p50 ms | p99 ms | commits/chunk |');
  console.log('| ------- | --------- | --------- | ------ | ------ | ------------- |');
  for (const r of results) {
    const f = (n: number) => (n >= 100 ? n.toFixed(0) : n.toFixed(1));
    console.log(
      `| ${r.backend} | ${r.inFlight} | ${f(r.commitsPerSecond)} | ${f(r.p50Ms)} | ${f(r.p99Ms)} | ${f(r.commitsPerChunk)} |`,
    );
  }
}

await main();
