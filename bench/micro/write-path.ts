/**
 * The stream log's write path on local disk (the write-ahead log), as `serve` opens it, without
 * HTTP: commits of `--records` x `--record-bytes` (each commit's records are views of one fresh
 * buffer, as a request's are), `--window` in flight, for `--seconds`. Prints commits/s, MiB/s and
 * the main thread's busy time per commit and per MiB (event-loop utilization: the writer thread's
 * syscalls are not in it), which is steadier than throughput on a loaded machine.
 *
 *   node --import tsx bench/micro/write-path.ts [--records 15] [--record-bytes 65536] [--window 4] [--seconds 8]
 *
 * Not a test: the numbers depend on the machine and its load; compare builds in the same run.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join } from 'node:path';
import { performance } from 'node:perf_hooks';
import { parseArgs } from 'node:util';
import { openStreamLog } from '../../src/storage/open.js';
import { createStream } from '../../test/storage/helpers.js';

const { values: a } = parseArgs({
  options: {
    records: { type: 'string', default: '15' },
    'record-bytes': { type: 'string', default: String(64 * 1024) },
    window: { type: 'string', default: '4' },
    seconds: { type: 'string', default: '8' },
  },
});
const records = Number(a.records);
const recordBytes = Number(a['record-bytes']);
const window = Number(a.window);
const seconds = Number(a.seconds);

async function main(): Promise<void> {
  const dir = await mkdtemp(join(tmpdir(), 's2-write-path-'));
  const log = await openStreamLog({ kind: 'local', root: dir }, {});
  try {
    const stream = 'write-path';
    await log.commit(createStream(stream));
    let next = 0;
    let commits = 0;
    const start = performance.now();
    const elu0 = performance.eventLoopUtilization();
    const deadline = start + seconds * 1000;
    const worker = async () => {
      while (performance.now() < deadline) {
        const first = next;
        next += records;
        const request = Buffer.allocUnsafe(records * recordBytes);
        const batch = Array.from({ length: records }, (_, i) => ({
          seqNum: first + i,
          timestamp: BigInt(first + i),
          headers: [],
          body: request.subarray(i * recordBytes, (i + 1) * recordBytes),
        }));
        await log.commit([
          {
            kind: 'append',
            stream,
            records: batch,
            tail: { seqNum: first + records, timestamp: BigInt(first + records - 1) },
            writtenAtMs: Date.now(),
            expiresAtMs: null,
          },
        ]);
        commits++;
      }
    };
    await Promise.all(Array.from({ length: window }, worker));
    const elapsed = (performance.now() - start) / 1000;
    const elu = performance.eventLoopUtilization(elu0);
    const mib = (commits * records * recordBytes) / 2 ** 20;
    console.log(
      JSON.stringify({
        records,
        recordBytes,
        window,
        commitsPerS: Math.round(commits / elapsed),
        mibps: Number((mib / elapsed).toFixed(1)),
        busyUsPerCommit: Math.round((elu.active * 1000) / commits),
        busyMsPerMiB: Number((elu.active / mib).toFixed(2)),
        utilization: Number(elu.utilization.toFixed(2)),
      }),
    );
  } finally {
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
