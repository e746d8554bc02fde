/**
 * Recovery time of the stream log on local disk after a crash that left N MiB of write-ahead log
 * not folded into segments:
 *
 *   node --import tsx test/storage/recovery-bench.ts [--mib 1024]
 *
 * A child process opens a log on a temp root with checkpoints disabled, commits N MiB (commits of
 * 16 records of 4 KiB, 32 in flight) and exits without closing (the root lock is then stale, as
 * after kill -9). This process then opens the root as `serve` does (src/storage/open.ts: lock
 * takeover, epoch bump, WAL replay into the memory tails) and reports how long that took, then
 * how long the first checkpoint (folding everything into segments) and close took. The log files
 * are in the page cache (a crash without a reboot). Set TMPDIR to measure another disk. Not a
 * test: the numbers depend on the machine and its load.
 */
import { spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtemp, rm } from 'node:fs/promises';
import { loadavg, tmpdir } from 'node:os';
import { join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { openStreamLog } from '../../src/storage/open.js';
import { createStream } from './helpers.js';

const recordBytes = 4096;
const recordsPerCommit = 16;
const never = 2 ** 31 - 1;

async function write(root: string, mib: number): Promise<void> {
  const log = await openStreamLog(
    { kind: 'local', root },
    {
      chunkLog: {
        checkpointBytes: never,
        checkpointChunks: never,
        checkpointIntervalMs: never,
        memoryTailBytesMax: never,
      },
    },
  );
  await log.commit(createStream('s'));
  const body = randomBytes(recordBytes);
  const commits = Math.ceil((mib * 2 ** 20) / (recordBytes * recordsPerCommit));
  let next = 0;
  let issued = 0;
  const worker = async () => {
    while (issued < commits) {
      issued++;
      const seqNum = next;
      next += recordsPerCommit;
      const records = Array.from({ length: recordsPerCommit }, (_, i) => ({
        seqNum: seqNum + i,
        timestamp: BigInt(seqNum + i),
        headers: [],
        body,
      }));
      await log.commit([
        {
          kind: 'append',
          stream: 's',
          records,
          tail: { seqNum: seqNum + recordsPerCommit, timestamp: BigInt(seqNum + recordsPerCommit - 1) },
          writtenAtMs: Date.now(),
          expiresAtMs: null,
        },
      ]);
    }
  };
  await Promise.all(Array.from({ length: 32 }, worker));
  const stats = log.stats();
  console.log(`wrote ${commits} commits, ${next} records; folded chunk ${stats.foldedChunkId}, applied ${stats.appliedChunkId}`);
  process.exit(0); // no close: the next open recovers as after a crash
}

async function main(): Promise<void> {
  const args = process.argv.slice(2);
  const option = (name: string) => {
    const at = args.indexOf(name);
    return at >= 0 ? args[at + 1] : undefined;
  };
  const mib = Number(option('--mib') ?? 1024);
  const target = option('--write');
  if (target) return write(target, mib);

  const root = await mkdtemp(join(tmpdir(), 's2-recovery-bench-'));
  try {
    const child = spawnSync(
      process.execPath,
      ['--import', 'tsx', fileURLToPath(import.meta.url), '--write', root, '--mib', String(mib)],
      { stdio: 'inherit' },
    );
    if (child.status !== 0) throw new Error(`writer exited with ${child.status}`);
    const load = loadavg().map((n) => n.toFixed(1)).join(' ');
    const t0 = performance.now();
    const events: string[] = [];
    const logger = (event: string) => events.push(`${event} +${((performance.now() - t0) / 1000).toFixed(2)} s`);
    const log = await openStreamLog({ kind: 'local', root }, { logger });
    const opened = (performance.now() - t0) / 1000;
    const recovered = log.recovered().streams.find((s) => s.id === 's');
    const stats = log.stats();
    const t1 = performance.now();
    await log.checkpoint();
    const folded = (performance.now() - t1) / 1000;
    const t2 = performance.now();
    await log.close();
    const closed = (performance.now() - t2) / 1000;
    console.log(
      `${mib} MiB of write-ahead log (${stats.appliedChunkId - stats.foldedChunkId} chunks, tail seq_num ${recovered?.tail.seqNum}): ` +
        `open ${opened.toFixed(2)} s [${events.join(', ')}] (${(mib / opened).toFixed(0)} MiB/s), then checkpoint ${folded.toFixed(2)} s, close ${closed.toFixed(2)} s; load ${load}`,
    );
  } finally {
    await rm(root, { recursive: true, force: true });
  }
}

await main();
