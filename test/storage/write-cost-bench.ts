/**
 * CPU cost of the local-disk write path (WAL frames, checkpoints into segments) per MiB appended,
 * measured in one process without HTTP, so that it depends little on the machine's load:
 *
 *   node --import tsx test/storage/write-cost-bench.ts [--commits 500] [--records 15] [--bytes 65536]
 *        [--in-flight 4] [--root DIR]
 *
 * Defaults are W5/large's shape (15 x 64 KiB records per commit, 4 in flight, one stream); W5 is
 * `--commits 3000 --records 100 --bytes 1024`. Bodies are fresh copies of random bytes, as request
 * buffers would be. Prints one JSON line: MiB/s, whole-process CPU ms per MiB (writer threads and
 * kernel included), main-thread CPU ms per MiB (from /proc), GC ms per MiB and Mark-Compacts per
 * 100 MiB. `--root` runs another checkout's src (e.g. a worktree of an older commit) for an A-B
 * comparison: alternate the two.
 * Not a test: the numbers depend on the machine.
 */
import { randomBytes } from 'node:crypto';
import { readFileSync } from 'node:fs';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { join, resolve } from 'node:path';
import { constants, PerformanceObserver, type PerformanceEntry } from 'node:perf_hooks';

function option(name: string, fallback: string): string {
  const at = process.argv.indexOf(`--${name}`);
  return at >= 0 ? process.argv[at + 1] : fallback;
}

/** User + system CPU ms of the main thread alone (its task's stat; clock ticks of 10 ms). */
function mainThreadCpuMs(): number {
  const stat = readFileSync(`/proc/${process.pid}/task/${process.pid}/stat`, 'utf8');
  const fields = stat.slice(stat.lastIndexOf(')') + 2).split(' ');
  return (Number(fields[11]) + Number(fields[12])) * 10;
}

async function main(): Promise<void> {
  const commits = Number(option('commits', '500'));
  const perCommit = Number(option('records', '15'));
  const recordBytes = Number(option('bytes', '65536'));
  const inFlight = Number(option('in-flight', '4'));
  const root = resolve(option('root', join(import.meta.dirname, '../..')));
  const { openStreamLog } = (await import(
    join(root, 'src/storage/open.ts')
  )) as typeof import('../../src/storage/open.js');
  const { createStream } = (await import(join(root, 'test/storage/helpers.ts'))) as typeof import('./helpers.js');

  const pool = randomBytes(4 * 1024 * 1024 + recordBytes);
  let gcMs = 0;
  let majorGcs = 0;
  const observer = new PerformanceObserver((list) => {
    for (const entry of list.getEntries()) {
      gcMs += entry.duration;
      const kind = (entry as PerformanceEntry & { detail?: { kind?: number } }).detail?.kind;
      if (kind === constants.NODE_PERFORMANCE_GC_MAJOR) majorGcs++;
    }
  });
  observer.observe({ entryTypes: ['gc'] });
  const dir = await mkdtemp(join(tmpdir(), 's2-write-cost-'));
  const log = await openStreamLog({ kind: 'local', root: dir }, {});
  try {
    await log.commit(createStream('s'));
    let next = 0;
    let started = 0;
    const cpu0 = process.cpuUsage();
    const main0 = mainThreadCpuMs();
    const t0 = performance.now();
    const worker = async () => {
      while (started < commits) {
        started++;
        const first = next;
        next += perCommit; // seq_nums taken synchronously: commits reach the log in order
        const records = Array.from({ length: perCommit }, (_, i) => {
          const at = ((first + i) * 7919 * 8) % (pool.length - recordBytes);
          const body = new Uint8Array(pool.subarray(at, at + recordBytes));
          return { seqNum: first + i, timestamp: BigInt(first + i), headers: [], body };
        });
        const tail = { seqNum: first + perCommit, timestamp: BigInt(first + perCommit - 1) };
        await log.commit([{ kind: 'append', stream: 's', records, tail, writtenAtMs: 0, expiresAtMs: null }]);
      }
    };
    await Promise.all(Array.from({ length: inFlight }, worker));
    const wallMs = performance.now() - t0;
    const cpu = process.cpuUsage(cpu0);
    const mainMs = mainThreadCpuMs() - main0;
    const mib = (commits * perCommit * recordBytes) / 2 ** 20;
    const round = (n: number) => Math.round(n * 100) / 100;
    console.log(
      JSON.stringify({
        mib: round(mib),
        mibPerS: round((mib / wallMs) * 1000),
        cpuMsPerMiB: round((cpu.user + cpu.system) / 1000 / mib),
        mainCpuMsPerMiB: round(mainMs / mib),
        gcMsPerMiB: round(gcMs / mib),
        // Mark-Compacts per 100 MiB appended: what retained memory costs (issue 14).
        majorGcsPer100MiB: round((majorGcs / mib) * 100),
      }),
    );
  } finally {
    observer.disconnect();
    await log.close();
    await rm(dir, { recursive: true, force: true });
  }
}

await main();
