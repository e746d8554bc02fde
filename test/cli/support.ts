/**
 * Runs the `s2-lite` CLI as a real process against a server, the way a user would: arguments,
 * stdin, the S2_* environment, and the exit code, stdout and stderr. It runs the built CLI in
 * dist/, as installed (`npm test` builds first): through tsx every command spent seconds
 * compiling before doing anything, which made these tests a large share of the suite's time.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { chmodSync, mkdtempSync, readdirSync, statSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { afterAll, beforeAll, expect } from 'vitest';
import { repoRoot, spawnServer, type SpawnedServer } from '../support/server.js';

/** dist/cli/main.js, checked to exist and to be built from the current src/. */
export const mainJs = builtCli();

function builtCli(): string {
  const main = path.join(repoRoot, 'dist/cli/main.js');
  const built = statSync(main, { throwIfNoEntry: false });
  const rebuild = 'run `npm run build` before the CLI tests (`npm test` does)';
  if (!built) throw new Error(`${main} does not exist: ${rebuild}`);
  const newer = newestFile(path.join(repoRoot, 'src'));
  if (newer.mtimeMs > built.mtimeMs) throw new Error(`dist/ is older than ${newer.file}: ${rebuild}`);
  return main;
}

function newestFile(dir: string): { file: string; mtimeMs: number } {
  let newest = { file: dir, mtimeMs: 0 };
  for (const entry of readdirSync(dir, { withFileTypes: true })) {
    const file = path.join(dir, entry.name);
    const found = entry.isDirectory() ? newestFile(file) : { file, mtimeMs: statSync(file).mtimeMs };
    if (found.mtimeMs > newest.mtimeMs) newest = found;
  }
  return newest;
}

/** The server a CLI test file talks to; `url` is set once the file's tests run. */
export interface CliServer {
  url: string;
  server: SpawnedServer;
}

/**
 * Registers a test file's server: `s2-lite serve` as its own process, started before the file's
 * tests (then `basin` is created through the CLI, if given) and stopped after them.
 */
export function cliServer(basin?: string): CliServer {
  const setup: CliServer = { url: '', server: undefined as unknown as SpawnedServer };
  beforeAll(async () => {
    setup.server = await spawnServer();
    setup.url = setup.server.baseUrl;
    if (basin === undefined) return;
    const created = await cli(setup.url, ['create-basin', basin]);
    expect(created.code, created.stderr).toBe(0);
  });
  afterAll(async () => {
    await setup.server?.stop();
  });
  return setup;
}

export interface CliResult {
  code: number | null;
  stdout: string;
  stdoutBytes: Buffer;
  stderr: string;
}

export function cliEnv(baseUrl: string): NodeJS.ProcessEnv {
  return {
    ...process.env,
    S2_ACCOUNT_ENDPOINT: baseUrl,
    S2_BASIN_ENDPOINT: baseUrl,
    S2_ACCESS_TOKEN: 'test-token',
    NO_COLOR: '1',
  };
}

export function spawnCli(baseUrl: string, args: string[]): ChildProcess {
  return spawn(process.execPath, [mainJs, ...args], {
    cwd: repoRoot,
    env: cliEnv(baseUrl),
    stdio: ['pipe', 'pipe', 'pipe'],
  });
}

export async function collect(child: ChildProcess, input?: string | Buffer): Promise<CliResult> {
  const out: Buffer[] = [];
  const err: Buffer[] = [];
  child.stdout!.on('data', (chunk: Buffer) => out.push(chunk));
  child.stderr!.on('data', (chunk: Buffer) => err.push(chunk));
  child.stdin!.on('error', () => {}); // the command may exit before reading all of its input
  child.stdin!.end(input ?? '');
  const code = await new Promise<number | null>((resolve) => child.on('close', (c) => resolve(c)));
  const stdoutBytes = Buffer.concat(out);
  return { code, stdout: stdoutBytes.toString('utf8'), stdoutBytes, stderr: Buffer.concat(err).toString('utf8') };
}

/** `s2-lite ARGS` with `input` on stdin; resolves when the process exits. */
export async function cli(baseUrl: string, args: string[], input?: string | Buffer): Promise<CliResult> {
  return collect(spawnCli(baseUrl, args), input);
}

let launcher: string | undefined;

/** A `s2-lite` executable for shell scripts: a wrapper running the built CLI. */
function s2liteLauncher(): string {
  if (!launcher) {
    launcher = path.join(mkdtempSync(path.join(tmpdir(), 's2-cli-bin-')), 's2-lite');
    const quote = (s: string) => `'${s.replace(/'/g, `'\\''`)}'`;
    writeFileSync(launcher, `#!/bin/sh\nexec ${quote(process.execPath)} ${quote(mainJs)} "$@"\n`);
    chmodSync(launcher, 0o755);
  }
  return launcher;
}

/** Runs a shell pipeline where `$S2LITE` is the CLI, e.g. `printf 'a\nb\n' | $S2LITE append s2://b/s`. */
export async function shell(baseUrl: string, script: string): Promise<CliResult> {
  const child = spawn('sh', ['-c', script], {
    cwd: repoRoot,
    env: { ...cliEnv(baseUrl), S2LITE: s2liteLauncher() },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child);
}

/**
 * Collects the output of a long-running command from the start, so output printed between two
 * waits is never lost, and waits until `predicate(all stdout so far)` holds.
 */
export function watchOutput(child: ChildProcess): {
  stdout(): string;
  waitFor(predicate: (stdout: string) => boolean, timeoutMs?: number): Promise<string>;
} {
  let out = '';
  let err = '';
  const waiters = new Set<() => void>();
  child.stdout!.on('data', (chunk: Buffer) => {
    out += chunk.toString();
    for (const wake of waiters) wake();
  });
  child.stderr!.on('data', (chunk: Buffer) => (err += chunk.toString()));
  child.on('exit', () => {
    for (const wake of waiters) wake();
  });
  return {
    stdout: () => out,
    waitFor(predicate, timeoutMs = 120_000) {
      return new Promise((resolve, reject) => {
        const check = () => {
          if (predicate(out)) {
            done();
            resolve(out);
          } else if (child.exitCode !== null || child.signalCode !== null) {
            done();
            reject(
              new Error(`exited with ${child.exitCode} before the expected output; got:\n${out}\nstderr:\n${err}`),
            );
          }
        };
        const timer = setTimeout(() => {
          done();
          reject(new Error(`timed out waiting for output; got:\n${out}\nstderr:\n${err}`));
        }, timeoutMs);
        const done = () => {
          clearTimeout(timer);
          waiters.delete(check);
        };
        waiters.add(check);
        check();
      });
    },
  };
}

/** Stops a process we started, by its PID, and waits for it to exit. */
export async function stopChild(child: ChildProcess, signal: NodeJS.Signals = 'SIGINT'): Promise<number | null> {
  if (child.exitCode !== null || child.signalCode !== null) return child.exitCode;
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  process.kill(child.pid!, signal);
  const timer = setTimeout(() => child.exitCode === null && process.kill(child.pid!, 'SIGKILL'), 10_000);
  const code = await exited;
  clearTimeout(timer);
  return code;
}
