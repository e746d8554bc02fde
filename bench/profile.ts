/**
 * Profiles our server under one workload shape of the suite: starts `s2-lite serve` (the build in
 * dist/) under `node --cpu-prof` with the stall tracer `bench/lag-trace.mjs` preloaded, drives the
 * shape with the harness (same client, live followers in a worker, pacing), stops the server by PID,
 * and writes `summary.md` next to the raw files: per phase (writes, catch-up reads), the server's
 * CPU and loop lag as the suite measures them, the profile's top functions, and what ran during
 * each event-loop stall. Not part of the report; raw profiles stay out of git (bench-results/).
 *
 *   node --import tsx bench/profile.ts --mode memory|local|trivial --shape W1 [--seconds S] [--warmup S] [--out DIR]
 *        [--record-bytes B --batch N --window N --target-mibps X --followers N] [--session]
 *        [--catchup pages|session|both|none] [--interval-us 500] [--stall-ms 5] [--no-prof]
 *        [--node-flag=--trace-gc ...]  (flags for the server's node; V8's output goes to server.log)
 *
 * `--shape W8` preloads (as W8 does) and profiles the catch-up reads; other shapes come from
 * bench/workloads.ts and can be adjusted with the flags. `--mode trivial` profiles the node:http
 * ceiling (bench/peers/node-http-trivial-server.ts) under the writes of the shape instead.
 */
import { mkdirSync, readdirSync, readFileSync, writeFileSync } from 'node:fs';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { Followers } from './lib/followers.js';
import { runProducer } from './lib/harness.js';
import { freePort, loadavg, spawnListening } from './lib/procs.js';
import { ServerMeter, type PhaseStats } from './lib/server-stats.js';
import { MiB, nowNs } from './lib/stats.js';
import type { Adapter } from './lib/types.js';
import { createBasin, openS2Lite } from './ours/client.js';
import { openTrivial } from './peers/node-http-trivial.js';
import { repoRoot, startNodeFlags } from './ours/server.js';
import {
  breakdown,
  components,
  gcSummary,
  ProfileIndex,
  renderBreakdown,
  renderComponents,
  renderStalls,
  type CpuProfile,
  type LagTrace,
} from './profile-analyze.js';
import { workloads, type StreamWorkload } from './workloads.js';

const { values: a } = parseArgs({
  options: {
    mode: { type: 'string', default: 'memory' },
    shape: { type: 'string', default: 'W1' },
    seconds: { type: 'string' },
    warmup: { type: 'string', default: '2' },
    out: { type: 'string' },
    'record-bytes': { type: 'string' },
    batch: { type: 'string' },
    window: { type: 'string' },
    'target-mibps': { type: 'string' },
    followers: { type: 'string' },
    session: { type: 'boolean', default: false },
    catchup: { type: 'string' },
    'interval-us': { type: 'string', default: '500' },
    'stall-ms': { type: 'string', default: '5' },
    'no-prof': { type: 'boolean', default: false },
    top: { type: 'string', default: '15' },
    'node-flag': { type: 'string', multiple: true },
  },
});

const stamp = new Date().toISOString().replace(/[:.]/g, '-').slice(0, 19);
const out = path.resolve(
  a.out ?? path.join(repoRoot, 'bench-results', 'profiles', `${stamp}-${a.mode}-${a.shape!.replace(/\W/g, '')}`),
);
mkdirSync(out, { recursive: true });
const nowUs = () => nowNs() / 1000;

interface Phase {
  name: string;
  fromUs: number;
  toUs: number;
  server: PhaseStats;
  result: Record<string, unknown>;
}
const phases: Phase[] = [];

async function phase(
  meter: ServerMeter,
  name: string,
  run: () => Promise<Record<string, unknown>>,
): Promise<Record<string, unknown>> {
  const mark = await meter.begin();
  const fromUs = nowUs();
  const result = await run();
  const toUs = nowUs();
  phases.push({ name, fromUs, toUs, server: await meter.end(mark), result });
  process.stderr.write(`${name}: ${JSON.stringify(result)}\n`);
  return result;
}

async function readAll(adapter: Adapter, stream: string, how: 'pages' | 'session') {
  let n = 0;
  let bytes = 0;
  const t0 = nowNs();
  const read = how === 'session' ? adapter.catchupSession!.bind(adapter) : adapter.catchup.bind(adapter);
  await read(stream, 0, (_h, len) => {
    n++;
    bytes += len;
  });
  const s = (nowNs() - t0) / 1e9;
  return { records: n, mibps: Math.round((bytes / MiB / s) * 10) / 10, MiB: Math.round(bytes / MiB) };
}

async function drive(baseUrl: string, basin: string, meter: ServerMeter): Promise<void> {
  const trivial = a.mode === 'trivial';
  if (!trivial) await createBasin(baseUrl, basin);
  const adapter = trivial ? await openTrivial(Number(new URL(baseUrl).port)) : await openS2Lite(baseUrl, basin);
  const all = workloads(1);
  const def = all.find((w) => w.id === a.shape);
  if (!def || (def.kind !== 'stream' && def.kind !== 'catchup')) throw new Error(`--shape: a stream workload or W8`);
  const stream = `prof-${Date.now()}`;
  await adapter.createStream(stream);
  const num = (k: keyof typeof a, d: number) => (a[k] === undefined ? d : Number(a[k]));
  let shape: StreamWorkload;
  if (def.kind === 'catchup') {
    shape = {
      ...(all.find((w) => w.id === 'W5') as StreamWorkload),
      recordBytes: def.recordBytes,
      batch: def.batch,
      window: 4,
      followers: 0,
      seconds: def.maxPreloadS,
    };
  } else shape = def;
  shape = {
    ...shape,
    recordBytes: num('record-bytes', shape.recordBytes),
    batch: num('batch', shape.batch),
    window: num('window', shape.window),
    targetMiBps: num('target-mibps', shape.targetMiBps),
    followers: trivial ? 0 : num('followers', shape.followers),
    seconds: num('seconds', shape.seconds),
    session: a.session || shape.session,
  };
  const maxRecords = def.kind === 'catchup' ? def.maxRecords : 0;
  if (Number(a.warmup) > 0 && def.kind !== 'catchup') {
    // Unprofiled, as the benchmark does: the first seconds of a fresh server are JIT warm-up.
    const warm = `${stream}-warmup`;
    await adapter.createStream(warm);
    const w = await adapter.writer(warm, shape.window, { session: shape.session });
    await runProducer(w, { ...shape, seconds: Number(a.warmup) });
    await w.close();
    await adapter.deleteStream(warm);
  }
  const followers = shape.followers
    ? await Followers.start({
        endpoint: { kind: 's2lite', baseUrl, basin, live: 's2s' },
        stream,
        recordBytes: shape.recordBytes,
        followers: shape.followers,
      })
    : undefined;
  const writer = await adapter.writer(stream, shape.window, { session: shape.session });
  const write = await phase(meter, def.kind === 'catchup' ? 'preload' : 'writes', async () => {
    const r = await runProducer(writer, { ...shape, maxRecords });
    await writer.close();
    const live = followers ? await followers.finish(r.records, 15_000) : undefined;
    return {
      records: r.records,
      recPerS: r.recordsPerSec,
      mibps: r.mibps,
      ackP50: r.ack.p50,
      ackP99: r.ack.p99,
      ackMax: r.ack.max,
      errors: r.errors,
      ...(live
        ? { e2eP50: live.e2e.p50, e2eP99: live.e2e.p99, e2eMax: live.e2e.max, followerCounts: live.counts }
        : {}),
    };
  });
  const catchup = trivial
    ? 'none'
    : (a.catchup ?? (def.kind === 'catchup' ? 'both' : shape.catchup ? 'pages' : 'none'));
  for (const how of ['pages', 'session'] as const) {
    if (catchup !== how && catchup !== 'both') continue;
    const r = await phase(meter, `catch-up (${how})`, () => readAll(adapter, stream, how));
    if (r.records !== write.records) throw new Error(`catch-up read ${r.records} of ${write.records} records`);
  }
  await adapter.deleteStream(stream);
  await adapter.close();
}

async function main(): Promise<void> {
  const port = await freePort();
  const args = ['serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  if (a.mode === 'local') {
    mkdirSync(path.join(out, 'data'), { recursive: true });
    args.push('--local-root', path.join(out, 'data'));
  } else if (a.mode !== 'memory' && a.mode !== 'trivial') throw new Error('--mode memory|local|trivial');
  const main = path.join(repoRoot, 'dist/cli/main.js');
  const node = [
    // The flags `npm start` runs the server with, then the caller's, which override them
    // (e.g. --node-flag=--initial-old-space-size=0 for V8's default). --node-flag=--trace-gc: V8
    // prints to the server's stdout, i.e. server.log.
    ...(a.mode === 'trivial' ? [] : startNodeFlags(repoRoot)),
    ...(a['node-flag'] ?? []),
    ...(a['no-prof'] ? [] : ['--cpu-prof', '--cpu-prof-dir', out, '--cpu-prof-interval', a['interval-us']!]),
    '--import',
    path.join(repoRoot, 'bench/lag-trace.mjs'),
    // The node:http ceiling (bench/peers/node-http-trivial-server.ts), for the same shape as ours.
    ...(a.mode === 'trivial'
      ? ['--import', 'tsx', path.join(repoRoot, 'bench/peers/node-http-trivial-server.ts'), String(port)]
      : [main, ...args]),
  ];
  const lagFile = path.join(out, 'lag.json');
  const loadBefore = loadavg();
  const server = await spawnListening(process.execPath, node, path.join(out, 'server.log'), port, {
    cwd: repoRoot,
    env: { ...process.env, S2_LAG_TRACE: lagFile },
  });
  const meter = new ServerMeter(() => server.pid, a.mode === 'trivial' ? undefined : { kind: 'metrics', port });
  try {
    await drive(`http://127.0.0.1:${port}`, 'profile-basin', meter);
  } finally {
    await server.stop(30_000);
  }
  const loadAfter = loadavg();
  const md = [
    `### Profile: ${a.mode} mode, shape ${a.shape}`,
    '',
    `Command: \`node --import tsx bench/profile.ts ${process.argv.slice(2).join(' ')}\` (out dir omitted); ` +
      `loadavg ${loadBefore} before, ${loadAfter} after.`,
    '',
  ];
  const lag = JSON.parse(readFileSync(lagFile, 'utf8')) as LagTrace;
  // The main thread's profile of this server (CPU.<date>.<time>.<pid>.0.<seq>.cpuprofile).
  const profFile = readdirSync(out).find((f) => f.endsWith('.cpuprofile') && f.includes(`.${server.pid}.0.`));
  const ix = profFile
    ? new ProfileIndex(JSON.parse(readFileSync(path.join(out, profFile), 'utf8')) as CpuProfile)
    : undefined;
  const top = Number(a.top);
  for (const p of phases) {
    md.push(`### Phase: ${p.name} (${((p.toUs - p.fromUs) / 1e6).toFixed(2)} s)`, '');
    md.push('```', JSON.stringify({ ...p.result, server: p.server }), '```', '');
    md.push(gcSummary(lag, p.fromUs, p.toUs), '');
    if (ix) {
      const samples = ix.window(p.fromUs, p.toUs);
      md.push(renderBreakdown(breakdown(ix, samples, top), `CPU profile: ${p.name}`), '');
      const n = Number(p.result.records) || 0;
      md.push(
        renderComponents(components(ix, samples), `Components: ${p.name}`, n ? { n, unit: 'record' } : undefined),
        '',
      );
      md.push(renderStalls(ix, lag, p.fromUs, p.toUs, Number(a['stall-ms']), top), '');
    }
  }
  writeFileSync(path.join(out, 'summary.md'), md.join('\n'));
  writeFileSync(path.join(out, 'phases.json'), JSON.stringify(phases, null, 1));
  process.stdout.write(md.join('\n') + `\n(files in ${out})\n`);
}

main().then(
  () => process.exit(0),
  (e: unknown) => {
    process.stderr.write(`profile: ${e instanceof Error ? e.stack : String(e)}\n`);
    process.exit(1);
  },
);
