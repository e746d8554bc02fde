/**
 * Catch-up reads, two builds side by side on a loaded machine:
 * `node --import tsx bench/micro/catchup-ab.ts --base OTHER_CHECKOUT [--body 1024] [--mib 96] [--reads 6] [--mode local|memory]`.
 *
 * Starts `s2-lite serve` from OTHER_CHECKOUT's dist/ ("base") and from this checkout's ("new"),
 * preloads each with the same records (`--mib` of `--body`-byte records, 100 per request, 4 in
 * flight, at most 60 s; local mode checkpoints them into segments past 32 MiB; 96 MiB is more than
 * the 64 MiB block cache, so every read is cold), then alternates catch-up
 * reads between the two servers (unary protobuf pages and one S2S read session, the order
 * reversed every other read), each verified by count. Each server runs with the node flags of its
 * checkout's `npm start`. Prints, per path and build, the server's CPU ms per MiB read (utime +
 * stime of the server process from /proc/PID/stat around each read, 10 ms ticks), this client's CPU
 * ms per MiB (`process.cpuUsage`: the reader shares the machine's cores with the server, so it can
 * be the limit) and MiB/s: medians and every value. Alternating reads on servers that run at the
 * same time lets machine load hit both alike, which back-to-back bench runs did not (30-50% swings).
 * Build both first (`npm run build`); the servers are stopped by PID at the end.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { runProducer } from '../lib/harness.js';
import { freePort, sleep } from '../lib/procs.js';
import { createBasin, openS2Lite } from '../ours/client.js';
import { repoRoot, startNodeFlags } from '../ours/server.js';

const { values } = parseArgs({
  options: {
    base: { type: 'string' },
    body: { type: 'string', default: '1024' },
    mib: { type: 'string', default: '96' },
    reads: { type: 'string', default: '6' },
    mode: { type: 'string', default: 'local' },
  },
});
if (!values.base) throw new Error('--base OTHER_CHECKOUT (a checkout with a built dist/) is required');
const size = Number(values.body);
const builds = { base: path.resolve(values.base), new: repoRoot };

/** CPU ticks (1/100 s) the process has used, user + system. */
function cpuTicks(pid: number): number {
  const fields = readFileSync(`/proc/${pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return Number(fields[11]) + Number(fields[12]);
}

type Adapter = Awaited<ReturnType<typeof openS2Lite>>;
const servers: Record<string, { pid: number; adapter: Adapter; records: number; root?: string }> = {};
try {
  for (const [name, dir] of Object.entries(builds)) {
    const port = await freePort();
    const root = values.mode === 'local' ? mkdtempSync(path.join(tmpdir(), `catchup-ab-${name}-`)) : undefined;
    // Each build with the node flags of its own `npm start`, as users run it.
    const main = path.resolve(dir, 'dist/cli/main.js');
    const args = [
      ...startNodeFlags(dir),
      main,
      'serve',
      '--port',
      String(port),
      ...(root ? ['--local-root', root] : []),
    ];
    const child = spawn(process.execPath, args, { cwd: dir, stdio: 'ignore' });
    const baseUrl = `http://127.0.0.1:${port}`;
    for (let i = 0; ; i++) {
      const ok = await fetch(`${baseUrl}/health`).then(
        (r) => r.ok,
        () => false,
      );
      if (ok) break;
      if (i === 150) throw new Error(`${name} server did not start`);
      await sleep(200);
    }
    const basin = `catchup-ab-${name}-${Date.now()}`;
    await createBasin(baseUrl, basin);
    const adapter = await openS2Lite(baseUrl, basin);
    servers[name] = { pid: child.pid!, adapter, records: 0, ...(root ? { root } : {}) };
    await adapter.createStream('s');
    const writer = await adapter.writer('s', 64, {});
    const maxRecords = Math.ceil((Number(values.mib) * 2 ** 20) / size);
    const load = { recordBytes: size, batch: 100, window: 4, targetMiBps: 0, seconds: 60, maxRecords };
    servers[name].records = (await runProducer(writer, load)).records;
    await writer.close();
  }
  console.log(`preloaded ${servers.base!.records} (base) and ${servers.new!.records} (new) records of ${size} B`);
  const results: Record<string, number[]> = {};
  for (let i = 0; i < Number(values.reads); i++) {
    for (const how of ['pages', 'session'] as const) {
      for (const name of i % 2 === 0 ? ['base', 'new'] : ['new', 'base']) {
        const s = servers[name]!;
        let count = 0;
        let bytes = 0;
        const onRecord = (_head: Uint8Array, length: number) => {
          count++;
          bytes += length;
        };
        const before = cpuTicks(s.pid);
        const client = process.cpuUsage();
        const t = performance.now();
        if (how === 'pages') await s.adapter.catchup('s', size, onRecord);
        else await s.adapter.catchupSession!('s', size, onRecord);
        const ms = performance.now() - t;
        const cpuMs = (cpuTicks(s.pid) - before) * 10;
        const clientUs = process.cpuUsage(client);
        if (count !== s.records) throw new Error(`${name} ${how}: read ${count} of ${s.records} records`);
        const mib = bytes / 2 ** 20;
        (results[`${how} ${name} CPU ms/MiB`] ??= []).push(cpuMs / mib);
        (results[`${how} ${name} client CPU ms/MiB`] ??= []).push((clientUs.user + clientUs.system) / 1000 / mib);
        (results[`${how} ${name} MiB/s`] ??= []).push(mib / (ms / 1000));
      }
    }
  }
  const median = (a: number[]) => [...a].sort((x, y) => x - y)[a.length >> 1]!;
  for (const [key, v] of Object.entries(results)) {
    console.log(`${key.padEnd(34)} median ${median(v).toFixed(2)}  all ${v.map((x) => x.toFixed(1)).join(' ')}`);
  }
} finally {
  for (const s of Object.values(servers)) {
    await s.adapter.close().catch(() => undefined);
    process.kill(s.pid);
    if (s.root) rmSync(s.root, { recursive: true, force: true });
  }
}
