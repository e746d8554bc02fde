/**
 * A server whose store cannot be used must say so in one line and exit non-zero at once, rather
 * than crash later, hang or loop: a missing S3 bucket, a local root under a regular file, and a
 * local root the kernel refuses to create (a path under /proc, where Node 20's recursive mkdir
 * never settles).
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { s3TestConfig } from '../setup/s3-env.js';
import { repoRoot } from '../support/server.js';

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

interface Exit {
  code: number | null;
  stdout: string;
  stderr: string;
}

/** Runs `s2-lite serve` until it exits by itself; kills it (and fails) if it is still up after `limitMs`. */
function serveUntilExit(args: string[], env: NodeJS.ProcessEnv = {}, limitMs = 45_000): Promise<Exit> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      [
        '--import',
        'tsx',
        path.join(repoRoot, 'src/cli/main.ts'),
        'serve',
        '--host',
        '127.0.0.1',
        '--port',
        '0',
        ...args,
      ],
      { cwd: repoRoot, env: { ...process.env, ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve ${args.join(' ')} was still running after ${limitMs} ms:\n${stdout}\n${stderr}`));
    }, limitMs);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

function expectOneLineError(exit: Exit, pattern: RegExp): void {
  expect(exit.code).toBe(1);
  expect(exit.stdout).not.toMatch(/listening/);
  const lines = exit.stderr.trim().split('\n');
  expect(lines).toHaveLength(1);
  expect(lines[0]).toMatch(/^error: /);
  expect(lines[0]).toMatch(pattern);
}

describe('startup with an unusable store', () => {
  it('a missing bucket: one clear line, exit 1', async () => {
    const s3 = s3TestConfig();
    const bucket = `no-such-bucket-${process.pid}-${Date.now().toString(36)}`;
    const exit = await serveUntilExit(['--bucket', bucket], {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    });
    expectOneLineError(exit, new RegExp(`bucket ${bucket} does not exist`));
  });

  it('a local root below a regular file: one clear line, exit 1', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's2-startup-'));
    dirs.push(dir);
    const file = path.join(dir, 'a-file');
    writeFileSync(file, 'not a directory');
    const exit = await serveUntilExit(['--local-root', path.join(file, 'data')]);
    expectOneLineError(exit, /local root .*a-file\/data is not usable: not a directory/);
  });

  it('a local root that cannot be created: one clear line, exit 1, no hang', async () => {
    const exit = await serveUntilExit(['--local-root', `/proc/s2-lite-test-${process.pid}/data`]);
    expectOneLineError(
      exit,
      /local root \/proc\/.* is not usable: no such file or directory, and it cannot be created/,
    );
  });
});
