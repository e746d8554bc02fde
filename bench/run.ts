/**
 * `npm run bench` / `npm run bench:smoke`: installs and starts the peers, starts our server in each
 * storage mode, runs the workloads against all of them interleaved (ours, peer, ours, peer...; the
 * order reverses every other repetition), repeats, and writes the report (JSON + markdown) under
 * bench-results/, optionally into docs/benchmarks.md. Every server it starts is stopped by PID.
 *
 *   --smoke              seconds-long loads, 1 repetition, a subset, memory mode and one peer
 *   --reps N             repetitions (default 3)
 *   --systems a,b        subset of system ids (see bench/systems.ts)
 *   --workloads W3,W4    subset of workload ids (W9 runs after W8 when W8 is selected)
 *   --scale X            multiply every duration and preload size (default 1)
 *   --budget-min M       stop starting new runs after M minutes; the rest is reported as skipped
 *   --out DIR            result directory (default bench-results/<timestamp>)
 *   --update-docs        rewrite the report section of docs/benchmarks.md
 *   --no-install         do not apt-get install missing peers
 *   --no-build           run our server from source (tsx) instead of building dist/
 *   --render FILE        only re-render report.md (and docs with --update-docs) from an existing report.json
 */
import { execFileSync, spawnSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { openAdapter } from './lib/adapters.js';
import { loadavg, sleep } from './lib/procs.js';
import { ServerMeter } from './lib/server-stats.js';
import type { Adapter, Endpoint, LiveMode, ServerHandle } from './lib/types.js';
import { runCliBench } from './ours/cli-bench.js';
import { s3Endpoint, type S3Endpoint } from './ours/s3.js';
import { cliCommand, repoRoot, runFromSource } from './ours/server.js';
import { ratios, summarize, toMarkdown, type Cell, type Report, type SystemInfo } from './report.js';
import { evaluateTargets } from './targets.js';
import { binaryVersion, dataDirFor, systems, type SystemContext, type SystemDef } from './systems.js';
import {
  restartId,
  runCatchup,
  runMany,
  runRestart,
  runStream,
  serverMetrics,
  smokeIds,
  workloads as allWorkloads,
  type Outcome,
  type Preloaded,
  type Workload,
} from './workloads.js';

const RESTART_TITLE =
  'restart: SIGKILL the server holding W8 data, start it again; time to listen, answer, read; records lost';

const { values: args } = parseArgs({
  options: {
    smoke: { type: 'boolean', default: false },
    reps: { type: 'string' },
    systems: { type: 'string' },
    workloads: { type: 'string' },
    scale: { type: 'string' },
    'budget-min': { type: 'string' },
    out: { type: 'string' },
    'update-docs': { type: 'boolean', default: false },
    'no-install': { type: 'boolean', default: false },
    'no-build': { type: 'boolean', default: false },
    render: { type: 'string' },
  },
});

const smoke = args.smoke!;
const reps = Number(args.reps ?? (smoke ? 1 : 3));
const scale = Number(args.scale ?? (smoke ? 0.2 : 1));
const budgetMs = Number(args['budget-min'] ?? (smoke ? 4 : 180)) * 60_000;
const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const outDir = path.resolve(args.out ?? path.join(repoRoot, 'bench-results', `${stamp}${smoke ? '-smoke' : ''}`));
const logDir = path.join(outDir, 'logs');
const dataRoot = path.join(outDir, 'data');
const notes: string[] = [];
const startedAt = new Date();
const t0 = Date.now();
const say = (msg: string) => process.stderr.write(`[bench ${((Date.now() - t0) / 1000).toFixed(0)}s] ${msg}\n`);

// ---------------------------------------------------------------------------------------------------------------
// Servers we started, so an interrupt still stops every one of them by PID.
const running = new Set<ServerHandle>();
let cleanupExtra: (() => Promise<void>) | undefined;
async function stopAll(): Promise<void> {
  await Promise.allSettled([...running].map((s) => s.stop()));
  running.clear();
  await cleanupExtra?.().catch(() => {});
}
for (const sig of ['SIGINT', 'SIGTERM'] as const) {
  process.on(sig, () => {
    say(`${sig}: stopping the servers this run started`);
    void stopAll().finally(() => process.exit(130));
  });
}

function withTimeout<T>(p: Promise<T>, ms: number, what: string): Promise<T> {
  let timer: NodeJS.Timeout;
  return Promise.race([
    p.finally(() => clearTimeout(timer)),
    new Promise<T>(
      (_, reject) => (timer = setTimeout(() => reject(new Error(`${what}: no result after ${ms / 1000} s`)), ms)),
    ),
  ]);
}

const errText = (e: unknown) => (e instanceof Error ? e.message : String(e)).replace(/\s+/g, ' ').slice(0, 300);

// ---------------------------------------------------------------------------------------------------------------
// Selection

const selectedWorkloads: Workload[] = (() => {
  const all = allWorkloads(scale, smoke);
  const ids = args.workloads ? args.workloads.split(',') : smoke ? smokeIds : all.map((w) => w.id);
  const unknown = ids.filter((id) => id !== restartId && !all.some((w) => w.id === id));
  if (unknown.length)
    throw new Error(`unknown workloads ${unknown.join(', ')}; known: ${all.map((w) => w.id).join(', ')}, W9`);
  return all.filter((w) => ids.includes(w.id) || (ids.includes(restartId) && w.id === 'W8'));
})();

function installPeers(): void {
  if (args['no-install']) return;
  const r = spawnSync(path.join(repoRoot, 'scripts/bench-peers.sh'), ['install'], {
    encoding: 'utf8',
    timeout: 600_000,
  });
  if (r.status !== 0) notes.push(`peer install script failed: ${(r.stderr || '').trim().split('\n').slice(-1)[0]}`);
}

const onPath = (bin: string) => spawnSync('sh', ['-c', `command -v ${bin}`]).status === 0;

function selectedSystems(): SystemDef[] {
  if (args.systems)
    return args.systems.split(',').map(
      (id) =>
        systems.find((s) => s.id === id) ??
        (() => {
          throw new Error(`unknown system ${id}`);
        })(),
    );
  if (smoke) {
    // One peer: Redis (fsync per ack, the main durable comparison) when installed, else the npm one;
    // and the node:http ceiling (two seconds-long cells).
    const peer = onPath('redis-server') ? 'redis-always' : 'ds-memory';
    return systems.filter((s) => s.id === 'ours-memory' || s.id === peer || s.id === 'node-http-trivial');
  }
  return systems;
}

function build(): void {
  if (smoke || args['no-build']) {
    runFromSource(true);
    notes.push('our server ran from source through tsx (no build)');
    return;
  }
  say('building our server (npm run build)');
  const r = spawnSync('npm', ['run', 'build'], { cwd: repoRoot, encoding: 'utf8', timeout: 600_000 });
  if (r.status === 0) return;
  runFromSource(true);
  notes.push(
    `npm run build failed, so our server ran from source through tsx: ${(r.stdout + r.stderr).trim().split('\n').slice(-2).join(' | ')}`,
  );
}

// ---------------------------------------------------------------------------------------------------------------
// Availability. Our server is being built in parallel: probe what it can do rather than assume.

interface Availability {
  info: SystemInfo;
  /** A live reader works (peers: always; ours: SSE, else long-poll, as probed). */
  live: boolean;
  liveMode?: LiveMode;
  /** Why SSE (or every live read) did not work. */
  liveReason?: string;
  /** Our server: `s2-lite bench` exists. */
  cli: boolean;
  cliReason?: string;
}

const ctxFor = (sys: SystemDef, rep: number, basin: string, s3?: S3Endpoint): SystemContext => ({
  dataDir: dataDirFor(dataRoot, sys.id, rep),
  logDir,
  basin,
  s3: s3?.settings,
});

async function probeOurs(
  sys: SystemDef,
  basin: string,
  s3: S3Endpoint | undefined,
  cli: { ok: boolean; reason?: string },
): Promise<Availability> {
  const info: SystemInfo = { id: sys.id, label: sys.label, ours: true, ack: sys.ack, available: false };
  const a: Availability = { info, live: false, cli: cli.ok, cliReason: cli.reason };
  if (sys.id === 'ours-s3' && !s3) {
    info.reason = 'no S3 endpoint (see notes)';
    return a;
  }
  let server: ServerHandle | undefined;
  let adapter: Adapter | undefined;
  try {
    server = await sys.start(ctxFor(sys, 0, basin, s3));
    running.add(server);
    adapter = await openAdapter(server.endpoint);
    const stream = `probe-${randomBytes(3).toString('hex')}`;
    await adapter.createStream(stream);
    const w = await adapter.writer(stream, 1);
    const rec = Buffer.alloc(64);
    rec.writeBigUInt64BE(process.hrtime.bigint(), 0);
    await w.send([rec]);
    await w.close();
    let n = 0;
    await adapter.catchup(stream, 64, () => n++);
    if (n !== 1) throw new Error(`read back ${n} records after appending 1`);
    info.available = true;
    // Live reads: an S2S read session if the server has one, else SSE, else unary long-poll reads.
    const liveProblems: string[] = [];
    for (const mode of ['s2s', 'sse', 'poll'] as const) {
      const reader = await openAdapter({ ...(server.endpoint as Extract<Endpoint, { kind: 's2lite' }>), live: mode });
      try {
        let seen = 0;
        const sub = await withTimeout(
          reader.follow(stream, 64, () => seen++),
          5000,
          `${mode} live read`,
        );
        for (let i = 0; i < 50 && seen === 0; i++) await sleep(100);
        await sub.close();
        if (seen !== 1) throw new Error(`delivered ${seen} of 1 records in 5 s`);
        a.live = true;
        a.liveMode = mode;
        break;
      } catch (e) {
        liveProblems.push(`${mode}: ${errText(e)}`);
      } finally {
        await reader.close().catch(() => {});
      }
    }
    a.liveReason = liveProblems.join('; ') || undefined;
    // `s2-lite bench` needs S2S sessions: a one-second run tells whether this build can serve it.
    if (a.cli) {
      const o = server as ServerHandle & { baseUrl: string; basin: string };
      try {
        const r = await runCliBench(o.baseUrl, o.basin, {
          recordBytes: 1024,
          targetMiBps: 1,
          seconds: 1,
          catchupDelayS: 0,
        });
        if (!r.verification.ok) throw new Error(`verification failed: ${JSON.stringify(r.verification).slice(0, 200)}`);
      } catch (e) {
        a.cli = false;
        a.cliReason = `\`s2-lite bench\` does not run against this build: ${errText(e)}`;
      }
    }
    await adapter.deleteStream(stream);
  } catch (e) {
    info.reason = errText(e);
  } finally {
    await adapter?.close().catch(() => {});
    if (server) {
      await server.stop();
      running.delete(server);
    }
  }
  return a;
}

function probeCli(): { ok: boolean; reason?: string } {
  const r = spawnSync(process.execPath, [...cliCommand(), 'bench', '--help'], {
    cwd: repoRoot,
    encoding: 'utf8',
    timeout: 60_000,
  });
  if (r.status === 0 && /--json/.test(r.stdout)) return { ok: true };
  return {
    ok: false,
    reason: `\`s2-lite bench\` not in this build (${(r.stderr || r.stdout).trim().split('\n')[0]?.slice(0, 120)})`,
  };
}

// ---------------------------------------------------------------------------------------------------------------
// One cell: one workload against one system in one repetition.

interface Live {
  def: SystemDef;
  avail: Availability;
  server: ServerHandle;
  /** The server's endpoint plus how live readers follow it. */
  endpoint: Endpoint;
  adapter: Adapter;
}

async function runCell(sys: Live, w: Workload, rep: number, cells: Cell[]): Promise<Preloaded | undefined> {
  const base = { workload: w.id, system: sys.def.id, rep, loadavg: loadavg(), metrics: {} };
  if (w.kind === 'cli' && !sys.avail.cli) {
    cells.push({ ...base, status: 'n/a', reason: sys.avail.cliReason });
    return undefined;
  }
  if (sys.def.ceilingOf && !sys.def.ceilingOf.includes(w.id)) {
    cells.push({
      ...base,
      status: 'n/a',
      reason: `a request/response ceiling, not a store: runs ${sys.def.ceilingOf.join(', ')} only`,
    });
    return undefined;
  }
  if (sys.def.onlyWorkloads && !sys.def.onlyWorkloads.includes(w.id)) {
    cells.push({ ...base, status: 'n/a', reason: `runs ${sys.def.onlyWorkloads.join(', ')} only` });
    return undefined;
  }
  if (w.kind === 'stream' && w.session && !sys.def.ours) {
    cells.push({ ...base, status: 'n/a', reason: 'S2S append sessions are our API' });
    return undefined;
  }
  if (w.kind === 'stream' && w.followers > 1 && !sys.avail.live) {
    cells.push({ ...base, status: 'n/a', reason: `no live read session: ${sys.avail.liveReason}` });
    return undefined;
  }
  if (Date.now() - t0 > budgetMs) {
    cells.push({ ...base, status: 'skipped', reason: 'time budget exhausted' });
    return undefined;
  }
  await sleep(smoke ? 200 : 1000); // a breather between loads
  base.loadavg = loadavg();
  say(`rep ${rep} ${w.id} on ${sys.def.label} (load ${base.loadavg})`);
  let outcome: Outcome & { preloaded?: Preloaded };
  const meter = new ServerMeter(() => sys.server.pid, sys.server.loop);
  try {
    switch (w.kind) {
      case 'stream': {
        // Without a live read session our server still runs the write side; the cell says so.
        // A ceiling system runs the writes alone: there is nothing to follow or read back.
        const shape = sys.def.ceilingOf
          ? { ...w, followers: 0, catchup: false }
          : sys.avail.live
            ? w
            : { ...w, followers: 0 };
        outcome = await withTimeout(runStream(sys.adapter, shape, sys.endpoint, meter), (w.seconds + 150) * 1000, w.id);
        if (sys.def.ceilingOf) outcome.notes = ['writes only'];
        if (shape.followers > 0 && sys.avail.liveMode && sys.avail.liveMode !== 's2s')
          outcome.notes = [`live readers: ${sys.avail.liveMode}`];
        if (!sys.avail.live && !sys.def.ceilingOf && w.followers > 0)
          outcome.notes = [`no live reader: ${sys.avail.liveReason}`];
        break;
      }
      case 'many':
        outcome = await withTimeout(runMany(sys.adapter, w, sys.server, meter), (w.seconds + 120) * 1000, w.id);
        break;
      case 'catchup':
        outcome = await withTimeout(runCatchup(sys.adapter, w, meter, rep), (w.maxPreloadS + 300) * 1000, w.id);
        break;
      case 'cli': {
        const o = sys.server as ServerHandle & { baseUrl: string; basin: string };
        const mark = await meter.begin();
        const r = await runCliBench(o.baseUrl, o.basin, w);
        // The whole CLI run: appends, the live reader and the catch-up read (the CLI is its own process).
        const server = await meter.end(mark);
        outcome = {
          metrics: {
            recPerS: r.write.recordsPerSec,
            mibps: r.write.mibps,
            ackP50: r.ackLatencyMs.p50,
            ackP90: r.ackLatencyMs.p90,
            ackP99: r.ackLatencyMs.p99,
            ...(r.e2eLatencyMs
              ? { e2eP50: r.e2eLatencyMs.p50, e2eP90: r.e2eLatencyMs.p90, e2eP99: r.e2eLatencyMs.p99 }
              : {}),
            ...(r.catchup ? { catchupMiBps: r.catchup.mibps, catchupRecPerS: r.catchup.recordsPerSec } : {}),
            ...serverMetrics(server, r.write.records),
          },
          verification: {
            ok: r.verification.ok === true,
            details: r.verification.ok ? [] : [JSON.stringify(r.verification).slice(0, 300)],
          },
          raw: { ...r, server },
        };
        break;
      }
    }
  } catch (e) {
    cells.push({ ...base, status: 'failed', reason: errText(e) });
    say(`  failed: ${errText(e)}`);
    return undefined;
  }
  cells.push({
    ...base,
    status: 'ok',
    metrics: outcome.metrics,
    verification: outcome.verification,
    notes: outcome.notes,
    raw: outcome.raw,
  });
  const m = outcome.metrics;
  say(
    `  ${Object.entries(m)
      .map(([k, v]) => `${k}=${v}`)
      .join(' ')}${outcome.verification.ok ? '' : ` VERIFY FAILED: ${outcome.verification.details.join('; ')}`}`,
  );
  return outcome.preloaded;
}

async function runRestartCell(sys: Live, data: Preloaded | undefined, rep: number, cells: Cell[]): Promise<void> {
  const base = { workload: restartId, system: sys.def.id, rep, loadavg: loadavg(), metrics: {} };
  if (!sys.def.persistent) {
    cells.push({ ...base, status: 'n/a', reason: 'memory mode: data does not survive a restart by design' });
    return;
  }
  if (!data) {
    cells.push({ ...base, status: 'n/a', reason: 'W8 did not leave verified data to recover' });
    return;
  }
  if (Date.now() - t0 > budgetMs) {
    cells.push({ ...base, status: 'skipped', reason: 'time budget exhausted' });
    return;
  }
  say(`rep ${rep} W9 on ${sys.def.label} (load ${base.loadavg})`);
  await sys.adapter.close().catch(() => {});
  try {
    const o = await withTimeout(runRestart(sys.server, data), 180_000, 'W9');
    cells.push({ ...base, status: 'ok', metrics: o.metrics, verification: o.verification });
    say(
      `  ${Object.entries(o.metrics)
        .map(([k, v]) => `${k}=${v}`)
        .join(' ')}`,
    );
  } catch (e) {
    cells.push({ ...base, status: 'failed', reason: errText(e) });
    say(`  failed: ${errText(e)}`);
  }
  // The old adapter's connections died with the server; later workloads get a fresh one.
  sys.adapter = await openAdapter(sys.endpoint);
}

/** Ours and peers alternate (A-B-A-B); odd repetitions run the order backwards to cancel drift. */
function interleave(live: Live[], rep: number): Live[] {
  const ours = live.filter((l) => l.def.ours);
  const peers = live.filter((l) => !l.def.ours);
  const order: Live[] = [];
  for (let i = 0; i < Math.max(ours.length, peers.length); i++) {
    if (ours[i]) order.push(ours[i]!);
    if (peers[i]) order.push(peers[i]!);
  }
  return rep % 2 === 0 ? order.reverse() : order;
}

// ---------------------------------------------------------------------------------------------------------------

async function main(): Promise<void> {
  const machine = {
    cpus: os.cpus().length,
    cpuModel: os.cpus()[0]?.model.trim() ?? 'unknown',
    memoryGiB: Math.round(os.totalmem() / 2 ** 30),
    node: process.version,
    kernel: execFileSync('uname', ['-srvm'], { encoding: 'utf8' }).trim(),
    loadavgStart: loadavg(),
    loadavgEnd: '',
  };
  mkdirSync(logDir, { recursive: true });
  say(`results in ${outDir}`);
  installPeers();
  build();
  const basin = `bench-${randomBytes(4).toString('hex')}`;
  const chosen = selectedSystems();

  let s3: S3Endpoint | undefined;
  if (chosen.some((s) => s.id === 'ours-s3')) {
    try {
      s3 = await s3Endpoint(path.join(outDir, 'rgw'), `bench-${randomBytes(4).toString('hex')}`);
      cleanupExtra = () => s3!.stop();
      notes.push(
        s3.startedHere
          ? 'S3 mode: a throwaway radosgw started by scripts/s3-test-server.sh for this run (data in RAM)'
          : 'S3 mode: reused the radosgw already answering on 127.0.0.1:7480 (not started or stopped by this run)',
      );
    } catch (e) {
      notes.push(`S3 mode not available: ${errText(e)}`);
    }
  }

  const cli = chosen.some((s) => s.ours) ? probeCli() : { ok: false };
  const avail = new Map<string, Availability>();
  for (const sys of chosen) {
    if (sys.ours) {
      say(`probing ${sys.label}`);
      avail.set(sys.id, await probeOurs(sys, basin, s3, cli));
    } else {
      const missing = sys.binary && !onPath(sys.binary);
      const version = sys.binary
        ? binaryVersion(sys.binary)
        : sys.ceilingOf
          ? `Node ${process.version} node:http`
          : '@durable-streams/server ' + pkgVersion('@durable-streams/server');
      avail.set(sys.id, {
        info: {
          id: sys.id,
          label: sys.label,
          ours: false,
          ack: sys.ack,
          available: !missing,
          version,
          reason: missing ? `${sys.binary} is not installed (run as root, or apt-get install it)` : undefined,
        },
        live: true,
        cli: false,
      });
    }
  }
  for (const a of avail.values()) {
    if (a.info.ours && a.info.available) {
      a.info.version = `s2-lite ${pkgVersion('.')} (${gitDescribe()})`;
      if (a.liveMode !== 's2s') {
        a.info.reason = a.live
          ? `no S2S read session, live readers use ${a.liveMode === 'sse' ? 'SSE' : 'unary long-poll reads'} (${a.liveReason})`
          : `no live reads: ${a.liveReason}`;
      }
      if (!a.cli) a.info.reason = [a.info.reason, a.cliReason].filter(Boolean).join('; ');
    }
  }

  const cells: Cell[] = [];
  const withRestart = !args.workloads || args.workloads.split(',').includes(restartId);
  for (let rep = 1; rep <= reps; rep++) {
    const live: Live[] = [];
    for (const sys of chosen) {
      const a = avail.get(sys.id)!;
      if (!a.info.available) continue;
      try {
        const server = await sys.start(ctxFor(sys, rep, basin, s3));
        running.add(server);
        const endpoint: Endpoint =
          server.endpoint.kind === 's2lite' ? { ...server.endpoint, live: a.liveMode } : server.endpoint;
        live.push({ def: sys, avail: a, server, endpoint, adapter: await openAdapter(endpoint) });
      } catch (e) {
        notes.push(`rep ${rep}: ${sys.label} did not start: ${errText(e)}`);
      }
    }
    for (const w of selectedWorkloads) {
      for (const sys of interleave(live, rep)) {
        if (w.kind === 'cli' && !sys.def.ours) continue;
        const preloaded = await runCell(sys, w, rep, cells);
        if (w.kind === 'catchup' && w.restartAfter && withRestart) {
          await runRestartCell(sys, preloaded, rep, cells);
        }
      }
    }
    for (const l of live) {
      await l.adapter.close().catch(() => {});
      await l.server.stop();
      running.delete(l.server);
    }
    rmSync(dataRoot, { recursive: true, force: true });
  }
  for (const a of avail.values()) {
    if (!a.info.available) {
      for (const w of selectedWorkloads) {
        cells.push({
          workload: w.id,
          system: a.info.id,
          rep: 0,
          loadavg: '',
          status: 'n/a',
          reason: `not available: ${a.info.reason}`,
          metrics: {},
        });
      }
    }
  }
  await stopAll();

  machine.loadavgEnd = loadavg();
  const summaries = summarize(cells);
  const systemInfos = chosen.map((s) => avail.get(s.id)!.info);
  const report: Report = {
    meta: {
      startedAt: startedAt.toISOString(),
      finishedAt: new Date().toISOString(),
      command: smoke
        ? 'npm run bench:smoke'
        : `npm run bench${process.argv.length > 2 ? ' -- ' + process.argv.slice(2).join(' ') : ''}`,
      smoke,
      repetitions: reps,
      machine,
      notes,
    },
    systems: systemInfos,
    workloads: selectedWorkloads.map((w) => ({ id: w.id, group: w.group, kind: w.kind, title: w.title })),
    summaries,
    ratios: ratios(summaries, systemInfos),
    targets: evaluateTargets(summaries),
    cells,
  };
  const md = toMarkdown(report, RESTART_TITLE);
  writeFileSync(path.join(outDir, 'report.json'), JSON.stringify(report, null, 1));
  writeFileSync(path.join(outDir, 'report.md'), md);
  if (args['update-docs']) updateDocs(md, outDir);
  say(`report: ${path.join(outDir, 'report.md')}`);
  process.stdout.write(md);
}

function pkgVersion(pkg: string): string {
  try {
    const file =
      pkg === '.' ? path.join(repoRoot, 'package.json') : path.join(repoRoot, 'node_modules', pkg, 'package.json');
    return (JSON.parse(readFileSync(file, 'utf8')) as { version: string }).version;
  } catch {
    return '?';
  }
}

function gitDescribe(): string {
  // A run from an exported snapshot (no .git) names its revision through the environment.
  if (process.env.S2_BENCH_REVISION) return process.env.S2_BENCH_REVISION;
  try {
    return execFileSync('git', ['log', '-1', '--format=%h %s'], { cwd: repoRoot, encoding: 'utf8' })
      .trim()
      .slice(0, 80);
  } catch {
    return 'unknown commit';
  }
}

const START = '<!-- bench:report:start -->';
const END = '<!-- bench:report:end -->';
function updateDocs(md: string, resultsDir: string): void {
  // Only the results directory's own name: docs must not carry this machine's paths.
  const source = `bench-results/${path.basename(resultsDir)}/report.json`;
  const file = path.join(repoRoot, 'docs/benchmarks.md');
  const doc = readFileSync(file, 'utf8');
  const a = doc.indexOf(START);
  const b = doc.indexOf(END);
  if (a < 0 || b < a) throw new Error(`docs/benchmarks.md lacks the ${START} ... ${END} markers`);
  const body = `${START}\n<!-- generated by \`npm run bench -- --update-docs\` from ${source}; do not edit by hand -->\n\n${md}\n${END}`;
  writeFileSync(file, doc.slice(0, a) + body + doc.slice(b + END.length));
}

/** Re-renders the markdown of an earlier run from its JSON (formatting only; every number comes from the file). */
function render(file: string): void {
  const report = JSON.parse(readFileSync(file, 'utf8')) as Report;
  const md = toMarkdown(report, RESTART_TITLE);
  writeFileSync(path.join(path.dirname(file), 'report.md'), md);
  if (args['update-docs']) updateDocs(md, path.dirname(path.resolve(file)));
  process.stdout.write(md);
}

(args.render ? Promise.resolve().then(() => render(args.render!)) : main()).then(
  () => process.exit(0),
  async (e: unknown) => {
    say(`fatal: ${e instanceof Error ? e.stack : String(e)}`);
    await stopAll();
    process.exit(1);
  },
);
