/**
 * What the console tests share: the built server (`node dist/cli/main.js serve`, so the console's
 * assets are the ones `npm run build` ships) on a free port, and Debian's Chromium driven by
 * playwright-core with the flags this closed network needs (no background connections).
 */
import { existsSync } from 'node:fs';
import path from 'node:path';
import { chromium, type Browser } from 'playwright-core';
import { repoRoot, spawnServer, type SpawnedServer } from '../support/server.js';

export const builtCli = path.join(repoRoot, 'dist/cli/main.js');

export type BuiltServer = SpawnedServer;

/** Starts the built server; fails with a clear message when `npm run build` has not run. */
export async function startBuiltServer(args: string[] = []): Promise<BuiltServer> {
  for (const file of [builtCli, path.join(repoRoot, 'dist/console/build.json')]) {
    if (!existsSync(file)) throw new Error(`${path.relative(repoRoot, file)} is missing: run \`npm run build\` first`);
  }
  return spawnServer(args, {}, { built: true });
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
