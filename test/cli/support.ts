/**
 * Runs the `s2-lite` CLI as a real process (from source, through tsx) against a server, the way a
 * user would: arguments, stdin, the S2_* environment, and the exit code, stdout and stderr.
 */
import { spawn, type ChildProcess } from 'node:child_process';
import path from 'node:path';
import { repoRoot } from '../support/server.js';

export const mainTs = path.join(repoRoot, 'src/cli/main.ts');

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
  return spawn(process.execPath, ['--import', 'tsx', mainTs, ...args], {
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

/** Runs a shell pipeline where `$S2LITE` is the CLI, e.g. `printf 'a\nb\n' | $S2LITE append s2://b/s`. */
export async function shell(baseUrl: string, script: string): Promise<CliResult> {
  const child = spawn('sh', ['-c', script], {
    cwd: repoRoot,
    env: { ...cliEnv(baseUrl), S2LITE: `"${process.execPath}" --import tsx "${mainTs}"` },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child);
}

/** Waits until `predicate(output so far)` holds for a long-running command's stdout. */
export function waitForOutput(
  child: ChildProcess,
  predicate: (stdout: string) => boolean,
  timeoutMs = 20_000,
): Promise<string> {
  return new Promise((resolve, reject) => {
    let seen = '';
    let errors = '';
    const timer = setTimeout(
      () => reject(new Error(`timed out waiting for output; got:\n${seen}\nstderr:\n${errors}`)),
      timeoutMs,
    );
    child.stderr!.on('data', (chunk: Buffer) => (errors += chunk.toString()));
    const check = (chunk: Buffer) => {
      seen += chunk.toString();
      if (predicate(seen)) {
        clearTimeout(timer);
        child.stdout!.off('data', check);
        resolve(seen);
      }
    };
    child.stdout!.on('data', check);
    child.on('exit', (code) => {
      clearTimeout(timer);
      if (!predicate(seen))
        reject(new Error(`exited with ${code} before the expected output; got:\n${seen}\nstderr:\n${errors}`));
    });
  });
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
