/**
 * Event-loop stalls of the stream log alone, without HTTP: commits of one record each (W1's 8 KiB by
 * default) with a window outstanding, optionally paced, against the log opened as `serve` opens it
 * (src/storage/open.ts) on the memory or local-disk store. The process runs itself again under
 * `--cpu-prof` with bench/lag-trace.mjs preloaded, then prints commit latencies and every stall
 * with the main thread's CPU time in it and what ran: checkpoints (segment encoding, the store's
 * put), chunk encoding, GC. Stall CPU time, unlike wall time, hardly depends on the machine's load.
 *
 *   node --import tsx bench/micro/log-stalls.ts [--store memory|fs] [--record-bytes 8192]
 *        [--window 64] [--mibps 10] [--seconds 10] [--out DIR] [--no-checkpoints]
 *
 * `--no-checkpoints` is the control: thresholds out of reach, so no checkpoint runs during the load.
 *
 * Not a test and not part of the report: a diagnostic for issue 14 (docs/benchmarks.md).
 */
import { spawnSync } from 'node:child_process';
import { mkdirSync, mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import type { Mutation } from '../../src/storage/types.js';
import { openStreamLog } from '../../src/storage/open.js';
import { repoRoot } from '../ours/server.js';
import {
  breakdown,
  ProfileIndex,
  renderBreakdown,
  renderStalls,
  type CpuProfile,
  type LagTrace,
} from '../profile-analyze.js';
import { makeRecord } from '../lib/harness.js';
import { loadavg } from '../lib/procs.js';

const { values: a } = parseArgs({
  options: {
    store: { type: 'string', default: 'memory' },
    'record-bytes': { type: 'string', default: '8192' },
    window: { type: 'string', default: '64' },
    mibps: { type: 'string', default: '10' },
    seconds: { type: 'string', default: '10' },
    out: { type: 'string' },
    child: { type: 'boolean', default: false },
    /** Control experiment: no checkpoint during the run (thresholds out of reach). */
    'no-checkpoints': { type: 'boolean', default: false },
  },
});
const nowUs = () => Number(process.hrtime.bigint() / 1000n);

const meta = (createdAtMs: number) => ({ createdAtMs, deletedAtMs: null, creationKey: null });
const setup = (stream: string): Mutation[] => [
  {
    kind: 'basin.put',
    basin: 'stall-basin',
    meta: { config: { createStreamOnAppend: false, createStreamOnRead: false }, ...meta(1) },
  },
  {
    kind: 'stream.put',
    stream,
    basin: 'stall-basin',
    name: stream,
    meta: {
      config: {
        storageClass: 'standard',
        retentionPolicy: { kind: 'infinite' },
        timestamping: { mode: 'client-prefer', uncapped: false },
        deleteOnEmpty: { minAgeSecs: 0 },
      },
      cipher: null,
      ...meta(1),
    },
  },
];

/** The child: commits under the tracer and the profiler, then writes its phase and latencies. */
async function child(out: string): Promise<void> {
  const dir = path.join(out, 'data');
  mkdirSync(dir, { recursive: true });
  const never = 2 ** 50;
  const log = await openStreamLog(a.store === 'fs' ? { kind: 'local', root: dir } : { kind: 'memory' }, {
    chunkLog: a['no-checkpoints']
      ? { checkpointBytes: never, checkpointChunks: never, checkpointIntervalMs: 3_600_000 }
      : {},
  });
  const stream = 'stalls';
  await log.commit(setup(stream));
  const recordBytes = Number(a['record-bytes']);
  const window = Number(a.window);
  const bps = Number(a.mibps) * 1024 * 1024;
  let next = 0;
  let submitted = 0;
  const latencies: number[] = [];
  const fromUs = nowUs();
  const cpu0 = process.cpuUsage();
  const deadline = fromUs + Number(a.seconds) * 1e6;
  const worker = async () => {
    while (nowUs() < deadline) {
      // Paced as the harness paces: wait while submitted bytes / rate > elapsed.
      const dueUs = bps > 0 ? fromUs + (submitted / bps) * 1e6 : 0;
      if (dueUs > nowUs()) await new Promise((r) => setTimeout(r, Math.max(1, (dueUs - nowUs()) / 1000)));
      submitted += recordBytes;
      const seqNum = next++;
      // A fresh incompressible body per commit, as every HTTP request of the harness brings one.
      const body = makeRecord(recordBytes);
      const t = nowUs();
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
      latencies.push(nowUs() - t);
    }
  };
  await Promise.all(Array.from({ length: window }, worker));
  const toUs = nowUs();
  const cpu = process.cpuUsage(cpu0);
  await log.close();
  const cpuUs = cpu.user + cpu.system;
  writeFileSync(path.join(out, 'child.json'), JSON.stringify({ fromUs, toUs, latencies, cpuUs }));
}

async function parent(): Promise<void> {
  const out = a.out ? path.resolve(a.out) : mkdtempSync(path.join(os.tmpdir(), 'log-stalls-'));
  mkdirSync(out, { recursive: true });
  const loadBefore = loadavg();
  const args = process.argv.slice(2).filter((x) => x !== '--child');
  const run = spawnSync(
    process.execPath,
    [
      '--cpu-prof',
      '--cpu-prof-dir',
      out,
      '--cpu-prof-interval',
      '500',
      '--import',
      path.join(repoRoot, 'bench/lag-trace.mjs'),
      '--import',
      'tsx',
      path.join(repoRoot, 'bench/micro/log-stalls.ts'),
      ...args,
      '--child',
      '--out',
      out,
    ],
    { cwd: repoRoot, env: { ...process.env, S2_LAG_TRACE: path.join(out, 'lag.json') }, stdio: 'inherit' },
  );
  if (run.status !== 0) throw new Error(`child exited with ${run.status}`);
  const { fromUs, toUs, latencies, cpuUs } = JSON.parse(readFileSync(path.join(out, 'child.json'), 'utf8')) as {
    fromUs: number;
    toUs: number;
    latencies: number[];
    cpuUs: number;
  };
  const sorted = latencies.sort((x, y) => x - y);
  const q = (p: number) => (sorted[Math.min(sorted.length - 1, Math.floor(p * sorted.length))]! / 1000).toFixed(2);
  const lag = JSON.parse(readFileSync(path.join(out, 'lag.json'), 'utf8')) as LagTrace;
  const prof = readdirSync(out).find((f) => /\.0\.\d+\.cpuprofile$/.test(f))!;
  const ix = new ProfileIndex(JSON.parse(readFileSync(path.join(out, prof), 'utf8')) as CpuProfile);
  const secs = (toUs - fromUs) / 1e6;
  process.stdout.write(
    [
      `### Stream log alone: ${a.store}${a['no-checkpoints'] ? ' (no checkpoints)' : ''}, ` +
        `${a['record-bytes']} B x 1 per commit, window ${a.window}, ` +
        `${a.mibps} MiB/s target, ${secs.toFixed(1)} s; loadavg ${loadBefore} before, ${loadavg()} after`,
      '',
      `${latencies.length} commits (${(latencies.length / secs).toFixed(0)}/s); commit latency ms p50 ${q(0.5)}, ` +
        `p99 ${q(0.99)}, max ${q(1 - 1e-9)}; process CPU ${(cpuUs / 1e6).toFixed(2)} s ` +
        `(${(cpuUs / latencies.length).toFixed(0)} µs per commit, every thread, profiler and tracer included)`,
      '',
      renderBreakdown(breakdown(ix, ix.window(fromUs, toUs), 12), 'CPU profile'),
      '',
      renderStalls(ix, lag, fromUs, toUs, 5, 12),
      '',
    ].join('\n'),
  );
  if (!a.out) rmSync(out, { recursive: true, force: true });
}

(a.child ? child(a.out!) : parent()).then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`log-stalls: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
