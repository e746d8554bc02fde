/**
 * Starts our server (`s2-lite serve`) in one storage mode on a free port, from the build in dist/
 * when present (what users run), otherwise from source through tsx.
 */
import { existsSync, mkdirSync, readFileSync } from 'node:fs';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { freePort, spawnListening, startRestartable } from '../lib/procs.js';
import type { ServerHandle } from '../lib/types.js';
import { createBasin } from './client.js';

export type OurMode = 'memory' | 'local' | 's3';

export const repoRoot = path.resolve(path.dirname(fileURLToPath(import.meta.url)), '../..');

export interface S3Settings {
  endpoint: string;
  bucket: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

let fromSource = false;
/** Run our CLI from src/ through tsx even when dist/ exists (a smoke run does not build, so dist may be stale). */
export function runFromSource(yes: boolean): void {
  fromSource = yes;
}

/**
 * The node flags `npm start` runs the server with, from `root`'s package.json ("start" is `node
 * <flags> dist/cli/main.js serve`): whoever spawns our CLI passes these first, to measure the server
 * as users run it. An older build's package.json without flags gives none.
 */
export function startNodeFlags(root: string): string[] {
  const pkg = JSON.parse(readFileSync(path.join(root, 'package.json'), 'utf8')) as { scripts?: Record<string, string> };
  const start = pkg.scripts?.['start'] ?? '';
  const m = /^node((?:\s+-\S+)*)\s+dist\/cli\/main\.js(?:\s|$)/.exec(start.trim());
  if (!m)
    throw new Error(
      `${root}/package.json: "start" is not \`node [flags] dist/cli/main.js ...\`: ${JSON.stringify(start)}`,
    );
  return m[1]!.trim() ? m[1]!.trim().split(/\s+/) : [];
}

/** The node arguments that run the s2-lite CLI as `npm start` does: dist when built, else source via tsx. */
export function cliCommand(): string[] {
  const dist = path.join(repoRoot, 'dist/cli/main.js');
  const src = path.join(repoRoot, 'src/cli/main.ts');
  const flags = startNodeFlags(repoRoot);
  return !fromSource && existsSync(dist) ? [...flags, dist] : [...flags, '--import', 'tsx', src];
}

export interface OurServer extends ServerHandle {
  readonly baseUrl: string;
  readonly basin: string;
}

export async function startOurs(
  mode: OurMode,
  opts: { dataDir: string; logDir: string; basin: string; s3?: S3Settings },
  /** Streams of the basin get this `stream_cipher`; every request then carries a (fixed) key. */
  cipher?: 'aegis-256' | 'aes-256-gcm',
): Promise<OurServer> {
  const port = await freePort();
  const args = [...cliCommand(), 'serve', '--host', '127.0.0.1', '--port', String(port), '--log-level', 'warn'];
  let env: NodeJS.ProcessEnv = process.env;
  if (mode === 'local') {
    mkdirSync(opts.dataDir, { recursive: true });
    args.push('--local-root', opts.dataDir);
  } else if (mode === 's3') {
    if (!opts.s3) throw new Error('S3 mode needs an S3 endpoint');
    args.push('--bucket', opts.s3.bucket);
    env = {
      ...process.env,
      AWS_ENDPOINT_URL_S3: opts.s3.endpoint,
      AWS_ACCESS_KEY_ID: opts.s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: opts.s3.secretAccessKey,
      AWS_REGION: opts.s3.region,
    };
  }
  const launch = () =>
    spawnListening(
      process.execPath,
      args,
      path.join(opts.logDir, `s2-lite-${mode}${cipher ? `-${cipher}` : ''}.log`),
      port,
      {
        cwd: repoRoot,
        env,
      },
    );
  const baseUrl = `http://127.0.0.1:${port}`;
  const handle = await startRestartable(
    launch,
    {
      kind: 's2lite',
      baseUrl,
      basin: opts.basin,
      ...(cipher ? { encryptionKey: Buffer.alloc(32, 0x42).toString('base64') } : {}),
    },
    mode === 'memory' ? undefined : opts.dataDir,
    // The server's own /metrics carries the event-loop lag histogram (reset at every scrape).
    { kind: 'metrics', port },
  );
  try {
    await createBasin(baseUrl, opts.basin, cipher);
  } catch (e) {
    await handle.stop();
    throw e;
  }
  return Object.assign(handle, { baseUrl, basin: opts.basin });
}
