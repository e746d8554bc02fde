/**
 * Shared pieces of the hardening tests: the built server (`dist/`) as a child process whose
 * resident memory is read from `/proc/<pid>/status`, a stream filled with data on local disk, and
 * raw HTTP/1.1 and h2c clients that behave as a hostile client would.
 */
import type { ChildProcess } from 'node:child_process';
import { existsSync, mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { repoRoot, spawnServer } from '../support/server.js';

export const MiB = 1024 * 1024;

export interface DistServer {
  baseUrl: string;
  port: number;
  pid: number;
  process: ChildProcess;
  stderr(): string;
  /** Resident set size of the server process, in bytes. */
  rss(): number;
  stop(): Promise<void>;
}

/**
 * Throws unless every `src/**.ts` has a `dist/**.js` at least as new (`npm run build`). The console's
 * sources are bundled into one file by esbuild, not compiled one to one, so they are not checked.
 */
function checkBuildIsCurrent(dir = path.join(repoRoot, 'src')): void {
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    if (entry.isDirectory()) {
      if (file !== path.join(repoRoot, 'src', 'console')) checkBuildIsCurrent(file);
      continue;
    }
    if (!entry.name.endsWith('.ts') || entry.name.endsWith('.d.ts')) continue;
    const built = path.join(repoRoot, 'dist', path.relative(path.join(repoRoot, 'src'), file)).replace(/\.ts$/, '.js');
    if (!existsSync(built) || statSync(built).mtimeMs < statSync(file).mtimeMs) {
      throw new Error(`dist/ is older than ${path.relative(repoRoot, file)}: run \`npm run build\` first`);
    }
  }
}

/** Runs `node dist/cli/main.js serve` on a free port (the build must be current: `npm run build`). */
export async function startDistServer(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<DistServer> {
  checkBuildIsCurrent();
  const server = await spawnServer(['--log-level', 'warn', ...args], env, { built: true });
  const pid = server.process.pid!;
  return {
    baseUrl: server.baseUrl,
    port: Number(new URL(server.baseUrl).port),
    pid,
    process: server.process,
    stderr: server.stderr,
    rss: () => rssOf(pid),
    // An attacked server need not shut down gracefully: the tests only need it gone.
    stop: () => server.kill9(),
  };
}

export function rssOf(pid: number): number {
  const status = readFileSync(`/proc/${pid}/status`, 'utf8');
  const match = /VmRSS:\s+(\d+) kB/.exec(status);
  if (!match) throw new Error(`no VmRSS for ${pid}`);
  return Number(match[1]) * 1024;
}

/** Samples a process's RSS until stopped; `peak` is the highest sample. */
export class RssSampler {
  peak = 0;
  private readonly timer: NodeJS.Timeout;

  constructor(
    private readonly server: DistServer,
    intervalMs = 50,
  ) {
    this.sample();
    this.timer = setInterval(() => this.sample(), intervalMs);
  }

  private sample(): void {
    try {
      this.peak = Math.max(this.peak, this.server.rss());
    } catch {
      // the process exited: keep the peak seen so far
    }
  }

  stop(): number {
    clearInterval(this.timer);
    this.sample();
    return this.peak;
  }
}

export function tempDir(prefix: string): { dir: string; remove(): void } {
  const dir = mkdtempSync(path.join(os.tmpdir(), prefix));
  return { dir, remove: () => rmSync(dir, { recursive: true, force: true }) };
}

export const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

export function mib(bytes: number): number {
  return Math.round((bytes / MiB) * 10) / 10;
}

const keepAlive = new http.Agent({ keepAlive: true, maxSockets: 4 });

/** One HTTP/1.1 request on a keep-alive agent; resolves with status and body text. */
export function call(
  port: number,
  method: string,
  urlPath: string,
  headers: Record<string, string> = {},
  body?: string | Buffer,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(
      {
        host: '127.0.0.1',
        port,
        method,
        path: urlPath,
        agent: keepAlive,
        headers: body === undefined ? headers : { ...headers, 'content-length': String(Buffer.byteLength(body)) },
      },
      (res) => {
        const chunks: Buffer[] = [];
        res.on('data', (c: Buffer) => chunks.push(c));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text: Buffer.concat(chunks).toString('utf8') }));
        res.on('error', reject);
      },
    );
    req.on('error', reject);
    req.end(body);
  });
}

export async function createBasin(port: number, basin: string): Promise<void> {
  const res = await call(
    port,
    'POST',
    '/v1/basins',
    { 'content-type': 'application/json' },
    JSON.stringify({ basin, config: { create_stream_on_append: true, create_stream_on_read: true } }),
  );
  if (res.status !== 201) throw new Error(`create basin: ${res.status} ${res.text}`);
}

/** Records of this many body bytes: 1000 of them (a maximal unary read) make about 1 MiB. */
export const fillRecordBytes = 1000;

/**
 * Appends `mebibytes` MiB of 1000-byte records to `stream` in maximal batches, so that a server
 * on local disk holds data beyond its memory tail (read back from segment files).
 */
export async function fillStream(port: number, basin: string, stream: string, mebibytes: number): Promise<number> {
  const body = JSON.stringify({
    records: Array.from({ length: 1000 }, (_, i) => ({ body: String(i % 10).repeat(fillRecordBytes) })),
  });
  const headers = { 's2-basin': basin, 'content-type': 'application/json' };
  for (let i = 0; i < mebibytes; i++) {
    const res = await call(port, 'POST', `/v1/streams/${stream}/records`, headers, body);
    if (res.status !== 200) throw new Error(`fill append: ${res.status} ${res.text}`);
  }
  return mebibytes * 1000;
}
