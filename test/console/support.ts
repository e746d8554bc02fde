/**
 * What the console tests share: the built server (`node dist/cli/main.js serve`, so the console's
 * assets are the ones `npm run build` ships) on a free port, and Debian's Chromium driven by
 * playwright-core with the flags this closed network needs (no background connections).
 */
import { spawn, type ChildProcess } from 'node:child_process';
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot } from '../support/server.js';

export const builtCli = path.join(repoRoot, 'dist/cli/main.js');

export interface BuiltServer {
  baseUrl: string;
  process: ChildProcess;
  stdout(): string;
  stop(): Promise<number | null>;
}

/** Starts the built server; fails with a clear message when `npm run build` has not run. */
export async function startBuiltServer(args: string[] = []): Promise<BuiltServer> {
  for (const file of [builtCli, path.join(repoRoot, 'dist/console/build.json')]) {
    if (!existsSync(file)) throw new Error(`${path.relative(repoRoot, file)} is missing: run \`npm run build\` first`);
  }
  const child = spawn(process.execPath, [builtCli, 'serve', '--host', '127.0.0.1', '--port', '0', ...args], {
    cwd: repoRoot,
    stdio: ['ignore', 'pipe', 'pipe'],
  });
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<number | null>((resolve) => child.on('exit', (code) => resolve(code)));
  const baseUrl = await new Promise<string>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}\n${err}`)), 30_000);
    child.stdout!.on('data', () => {
      const match = /listening on (\S+)/.exec(out);
      if (match) {
        clearTimeout(timer);
        resolve(match[1]!);
      }
    });
    void exited.then((code) => {
      clearTimeout(timer);
      reject(new Error(`server exited with ${code} before listening:\n${out}\n${err}`));
    });
  });
  return {
    baseUrl,
    process: child,
    stdout: () => out,
    async stop() {
      if (child.exitCode !== null) return child.exitCode;
      child.kill('SIGTERM');
      const timer = setTimeout(() => child.kill('SIGKILL'), 15_000);
      const code = await exited;
      clearTimeout(timer);
      return code;
    },
  };
}

/** Debian's chromium (apt-get install chromium; .ci/run installs it). */
export const chromiumPath = process.env.CHROMIUM_PATH ?? '/usr/bin/chromium';

export async function launchChromium(): Promise<Browser> {
  if (!existsSync(chromiumPath)) throw new Error(`${chromiumPath} is missing: apt-get install chromium`);
  return chromium.launch({
    executablePath: chromiumPath,
    headless: true,
    args: [
      '--no-sandbox',
      '--disable-gpu',
      '--disable-quic',
      '--no-first-run',
      '--disable-background-networking',
      '--disable-component-update',
      '--disable-sync',
    ],
  });
}

/** Where screenshots go when asked for (`CONSOLE_SCREENSHOTS=1`); tests take none otherwise. */
export function screenshotPath(name: string): string | undefined {
  if (!process.env.CONSOLE_SCREENSHOTS) return undefined;
  return path.join(repoRoot, 'docs/console', `${name}.png`);
}
