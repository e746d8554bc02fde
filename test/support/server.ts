/**
 * Test servers. `startServer()` runs the real server in this process on a free port (fast, for
 * black-box HTTP tests); `spawnServer()` runs `s2-lite serve` as a child process (for crash,
 * signal and CLI tests). Set S2_TEST_BASE_URL to run the black-box suites against another
 * S2 implementation instead.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { fileURLToPath } from 'node:url';
import path from 'node:path';
import pino from 'pino';
import { S2Server } from '../../src/api/server.js';
import { Engine, type EngineOptions } from '../../src/engine/engine.js';
import { openStreamLog } from '../../src/storage/open.js';
import type { StreamLog } from '../../src/storage/types.js';

export interface TestServer {
  baseUrl: string;
  engine?: Engine;
  stop(): Promise<void>;
}

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export async function startServer(options: { log?: StreamLog; engine?: EngineOptions; cors?: boolean } = {}): Promise<TestServer> {
  const external = process.env.S2_TEST_BASE_URL;
  if (external) return { baseUrl: external.replace(/\/$/, ''), stop: async () => {} };
  // The same path as `s2-lite serve` in memory mode.
  const log = options.log ?? (await openStreamLog({ kind: 'memory' }));
  const engine = new Engine(log, options.engine);
  engine.start();
  const server = new S2Server({
    engine,
    host: '127.0.0.1',
    port: 0,
    cors: options.cors ?? true,
    logger: pino({ level: 'silent' }),
  });
  await server.start();
  return {
    baseUrl: `http://127.0.0.1:${server.port}`,
    engine,
    async stop() {
      await server.close(1000);
      await engine.close();
    },
  };
}

export interface SpawnedServer {
  baseUrl: string;
  process: ChildProcess;
  /** Everything the process printed to stdout so far. */
  stdout(): string;
  stderr(): string;
  /** SIGTERM and wait for exit (SIGKILL after `graceMs`). */
  stop(graceMs?: number): Promise<number | null>;
  kill9(): Promise<void>;
  exited: Promise<number | null>;
}

/**
 * Runs `s2-lite serve --port 0 ...args` and waits until it listens: from source, or with `built`
 * the CLI `npm run build` made (`dist/cli/main.js`, serving the shipped console assets).
 */
export async function spawnServer(
  args: string[] = [],
  env: NodeJS.ProcessEnv = {},
  options: { built?: boolean } = {},
): Promise<SpawnedServer> {
  const cli = options.built
    ? [path.join(repoRoot, 'dist/cli/main.js')]
    : ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts')];
  const child = spawn(process.execPath, [...cli, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: repoRoot,
    env: { ...process.env, ...env },
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}\n${err}`)), 30_000);
    const check = () => {
      const match = /listening on (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    };
    child.stdout!.on('data', check);
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
  return {
    baseUrl,
    process: child,
    stdout: () => out,
    stderr: () => err,
    exited,
    async stop(graceMs = 15_000) {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), graceMs);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
    async kill9() {
      child.kill('SIGKILL');
      await exited;
    },
  };
}
