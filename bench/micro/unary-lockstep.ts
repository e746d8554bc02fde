/**
 * Server cost of one unary protobuf append, independent of the machine's load: starts `s2-lite
 * serve` (in memory, or `--local` on a fresh local root; the build in ROOT/dist, default this
 * checkout) with `--trace-gc-nvp`, then runs rounds of 64 appends of one record (1 KiB unless
 * --record-bytes) on 64 keep-alive HTTP/1.1 connections, each round written at once and awaited
 * whole, so batching is the same whatever the build. `--window 1` makes each round one append
 * (W3's shape: one request in flight, so every request is its own wake-ups). Prints the server's
 * CPU per append (user and system, from /proc/PID/stat), its main thread's wait for a CPU, bytes
 * allocated per append and GC counts (from the GC trace). Alternate two builds in one session to
 * compare them.
 *
 *   node --import tsx bench/micro/unary-lockstep.ts [--root OTHER_CHECKOUT] [--rounds 400] [--warmup 100]
 *        [--window 64] [--followers 0|1] [--record-bytes 8192] [--local] [--cpu-prof DIR]
 *        [--trivial]  (the node:http ceiling, bench/peers/node-http-trivial-server.ts, instead of ours)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import { mkdtempSync, readFileSync, rmSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { parseArgs } from 'node:util';
import { freePort } from '../lib/procs.js';
import { repoRoot, startNodeFlags } from '../ours/server.js';

const { values: a } = parseArgs({
  options: {
    root: { type: 'string', default: repoRoot },
    rounds: { type: 'string', default: '400' },
    warmup: { type: 'string', default: '100' },
    followers: { type: 'string', default: '0' },
    'record-bytes': { type: 'string', default: '1024' },
    trivial: { type: 'boolean', default: false },
    window: { type: 'string', default: '64' },
    'cpu-prof': { type: 'string' },
    local: { type: 'boolean', default: false },
  },
});
const root = path.resolve(a.root!);
const { encodeAppendInput } = (await import(path.join(root, 'dist/api/codec/proto-client.js'))) as {
  encodeAppendInput: (input: unknown) => Uint8Array;
};
const width = Number(a.window);
// Incompressible and distinct, as the suite's records: one repeated body compresses to almost
// nothing in a segment, and storage then sees the stream's segments as tiny (checkpoints merge and
// rewrite them, a cost the suite does not have).
const bodies = Array.from({ length: 1024 }, () =>
  Buffer.from(
    encodeAppendInput({
      records: [{ timestamp: undefined, headers: [], body: randomBytes(Number(a['record-bytes'])) }],
    }),
  ),
);
let sent = 0;

const port = await freePort();
// `--local`: our server on local disk (a fresh directory, removed at the end), else in memory.
const localRoot = a.local ? mkdtempSync(path.join(tmpdir(), 'unary-lockstep-')) : undefined;
// A CPU profile of the server at 100 us intervals (per-request costs are tens of microseconds).
const profArgs = a['cpu-prof']
  ? ['--cpu-prof', '--cpu-prof-interval', '100', '--cpu-prof-dir', path.resolve(a['cpu-prof'])]
  : [];
const server = spawn(
  process.execPath,
  a.trivial
    ? [
        '--trace-gc-nvp',
        ...profArgs,
        '--import',
        'tsx',
        path.join(root, 'bench/peers/node-http-trivial-server.ts'),
        String(port),
      ]
    : [
        // The node flags of that build's `npm start`, as users run it.
        ...startNodeFlags(root),
        '--trace-gc-nvp',
        ...profArgs,
        path.join(root, 'dist/cli/main.js'),
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        String(port),
        '--log-level',
        'warn',
        ...(localRoot ? ['--local-root', localRoot] : []),
      ],
  { cwd: root, stdio: ['ignore', 'pipe', 'inherit'] },
);
let gcLog = '';
server.stdout!.setEncoding('utf8').on('data', (chunk: string) => (gcLog += chunk));
const agent = new http.Agent({ keepAlive: true, maxSockets: width });

function request(
  method: string,
  p: string,
  payload: Buffer | string,
  headers: Record<string, string>,
): Promise<number> {
  return new Promise((resolve, reject) => {
    const req = http.request({ host: '127.0.0.1', port, method, path: p, agent, headers }, (res) => {
      res.resume();
      res.on('end', () => resolve(res.statusCode ?? 0));
    });
    req.on('error', reject);
    req.end(payload);
  });
}

for (let i = 0; ; i++) {
  try {
    const status = await request(
      'POST',
      '/v1/basins',
      JSON.stringify({ basin: 'lockstep', config: { create_stream_on_append: true } }),
      {
        'content-type': 'application/json',
      },
    );
    if (status < 300 || status === 409) break;
  } catch {
    if (i > 100) throw new Error('server did not start');
  }
  await new Promise((resolve) => setTimeout(resolve, 100));
}

let followed = 0;
const headers = { 's2-basin': 'lockstep', 'content-type': 'application/protobuf', accept: 'application/protobuf' };
async function rounds(n: number): Promise<void> {
  for (let r = 0; r < n; r++) {
    const statuses = await Promise.all(
      Array.from({ length: width }, () =>
        request('POST', '/v1/streams/s/records', bodies[sent++ % bodies.length]!, headers),
      ),
    );
    if (statuses.some((s) => s !== 200)) throw new Error(`append failed: ${statuses.join(',')}`);
  }
}
/**
 * The server's main thread: nanoseconds on a CPU and waiting for one (schedstat), and how often it
 * was preempted. A CPU profile charges the time a thread waits for a CPU to the function it was
 * in, so under load `writev` (whose wake-up of the client often preempts the server) looks far
 * larger in a profile than the system CPU it costs.
 */
const mainThread = () => {
  const [onCpuNs, waitNs] = readFileSync(`/proc/${server.pid}/schedstat`, 'utf8').split(' ').map(Number);
  const status = readFileSync(`/proc/${server.pid}/status`, 'utf8');
  const preempted = Number(/nonvoluntary_ctxt_switches:\s+(\d+)/.exec(status)![1]);
  return { onCpuNs: onCpuNs!, waitNs: waitNs!, preempted };
};
/** The server's user and system CPU ticks (all threads). */
const cpuTicks = () => {
  const f = readFileSync(`/proc/${server.pid}/stat`, 'utf8').split(') ')[1]!.split(' ');
  return { user: Number(f[11]), system: Number(f[12]) };
};
const allocated = () => [...gcLog.matchAll(/allocated=(\d+)/g)].reduce((s, m) => s + Number(m[1]), 0);
const gcs = () => ({
  scavenges: gcLog.match(/gc=s\b/g)?.length ?? 0,
  markCompacts: gcLog.match(/gc=mc\b/g)?.length ?? 0,
});

await rounds(1); // creates the stream
// A live follower (as W4 has): a raw S2S read session whose bytes are drained and dropped.
for (let i = 0; i < Number(a.followers); i++) {
  http
    .request(
      {
        host: '127.0.0.1',
        port,
        method: 'GET',
        path: '/v1/streams/s/records?seq_num=0',
        headers: { 's2-basin': 'lockstep', 'content-type': 's2s/proto' },
      },
      (res) => {
        if (res.statusCode !== 200) throw new Error(`follower: HTTP ${res.statusCode}`);
        res.on('data', (chunk: Buffer) => (followed += chunk.length));
      },
    )
    .end();
}
await rounds(Number(a.warmup));
const t0 = cpuTicks();
const m0 = mainThread();
const b0 = allocated();
const g0 = gcs();
const n = Number(a.rounds);
await rounds(n);
const t1 = cpuTicks();
const m1 = mainThread();
const ticks = t1.user + t1.system - t0.user - t0.system;
const g1 = gcs();
const appends = n * width;
const hz = 100;
console.log(
  JSON.stringify({
    server: a.trivial ? 'node-http-trivial' : `${path.basename(root)}${localRoot ? ' local' : ''}`,
    appends,
    cpuUsPerAppend: Math.round((ticks / hz / appends) * 1e6),
    systemUsPerAppend: Math.round(((t1.system - t0.system) / hz / appends) * 1e6),
    mainThreadWaitUsPerAppend: Math.round((m1.waitNs - m0.waitNs) / 1000 / appends),
    mainThreadPreemptedPerAppend: Number(((m1.preempted - m0.preempted) / appends).toFixed(2)),
    allocatedBytesPerAppend: Math.round((allocated() - b0) / appends),
    scavenges: g1.scavenges - g0.scavenges,
    markCompacts: g1.markCompacts - g0.markCompacts,
    followerBytes: followed,
    loadavg: readFileSync('/proc/loadavg', 'utf8').split(' ').slice(0, 1).join(''),
  }),
);
agent.destroy();
server.kill('SIGTERM');
// The CPU profile is written when the server exits, and the local root is removed after.
if (a['cpu-prof'] || localRoot) await new Promise((resolve) => server.once('exit', resolve));
if (localRoot) rmSync(localRoot, { recursive: true, force: true });
