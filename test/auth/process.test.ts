/**
 * The built server as its own process with `--auth` on local disk: the root token is generated at
 * the first start and printed once with the export line, then only its hash is kept; issued and
 * revoked tokens survive a SIGKILL (issued ones still work, revoked ones still fail, through the
 * official SDK); `--rotate-root-token`, `S2LITE_ROOT_TOKEN` and `--root-token-file` replace the root
 * token. No secret ever appears in the logs (at trace level) or in the data files, which hold
 * their SHA-256 instead.
 */
import { spawn } from 'node:child_process';
import { mkdtempSync, readdirSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S2, S2Error } from '@s2-dev/streamstore';
import { afterAll, describe, expect, it } from 'vitest';
import { tokenHash } from '../../src/api/auth/token.js';
import { mainJs } from '../cli/support.js';
import { repoRoot } from '../support/server.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 's2-auth-process-'));
const dataDir = path.join(dir, 'data');
const started: { kill9(): Promise<void> }[] = [];
afterAll(async () => {
  for (const server of started) await server.kill9();
  rmSync(dir, { recursive: true, force: true });
});

interface Proc {
  baseUrl: string;
  stdout: string;
  stderr(): string;
  kill9(): Promise<void>;
}

/** `s2-lite serve --auth --local-root DIR --log-level trace ...args` until it prints its export line. */
async function serve(args: string[] = [], env: NodeJS.ProcessEnv = {}): Promise<Proc> {
  const child = spawn(
    process.execPath,
    [
      mainJs,
      'serve',
      '--host',
      '127.0.0.1',
      '--port',
      '0',
      '--auth',
      '--local-root',
      dataDir,
      '--log-level',
      'trace',
      ...args,
    ],
    { cwd: repoRoot, env: { ...process.env, S2LITE_ROOT_TOKEN: '', ...env }, stdio: ['ignore', 'pipe', 'pipe'] },
  );
  let out = '';
  let err = '';
  child.stdout!.on('data', (chunk) => (out += chunk));
  child.stderr!.on('data', (chunk) => (err += chunk));
  const exited = new Promise<void>((resolve) => child.on('exit', () => resolve()));
  const proc: Proc = {
    baseUrl: '',
    stdout: '',
    stderr: () => err,
    async kill9() {
      if (child.exitCode === null && child.signalCode === null) child.kill('SIGKILL');
      await exited;
    },
  };
  started.push(proc);
  await new Promise<void>((resolve, reject) => {
    const timer = setTimeout(() => reject(new Error(`server did not start:\n${out}\n${err}`)), 30_000);
    child.stdout!.on('data', () => {
      if (!/^export .*\n/m.test(out)) return;
      clearTimeout(timer);
      resolve();
    });
    void exited.then(() => {
      clearTimeout(timer);
      reject(new Error(`server exited before listening:\n${out}\n${err}`));
    });
  });
  proc.baseUrl = /listening on (\S+)/.exec(out)![1]!;
  proc.stdout = out;
  return proc;
}

const sdk = (server: Proc, token: string) =>
  new S2({
    accessToken: token,
    endpoints: { account: server.baseUrl, basin: server.baseUrl },
    retry: { maxAttempts: 1 },
  });

/** 200 if listing basins works with `token`, else the S2Error's status. */
async function statusWith(server: Proc, token: string): Promise<number> {
  try {
    await sdk(server, token).basins.list();
    return 200;
  } catch (error) {
    if (error instanceof S2Error && error.status !== undefined) return error.status;
    throw error;
  }
}

function filesUnder(root: string): string[] {
  return readdirSync(root, { withFileTypes: true }).flatMap((entry) => {
    const file = path.join(root, entry.name);
    return entry.isDirectory() ? filesUnder(file) : [file];
  });
}

const generatedRoot = (stdout: string) => /S2_ACCESS_TOKEN=(s2l_[A-Za-z0-9_-]{43})\n/.exec(stdout)?.[1];

describe('a server process with --auth on local disk', { timeout: 120_000 }, () => {
  const secrets: Record<string, string> = {};
  let logs = '';

  it('prints a generated root token once; issued tokens and revocations survive SIGKILL', async () => {
    const first = await serve();
    const root = generatedRoot(first.stdout);
    expect(root, first.stdout).toBeDefined();
    expect(first.stdout).toContain('this is the only time it is shown');
    secrets.root = root!;
    const admin = sdk(first, root!);
    await admin.basins.create({ basin: 'durable-auth-01' });
    const scope = { basins: { prefix: 'durable-' }, opGroups: { account: { read: true } } };
    for (const id of ['keep-1', 'keep-2', 'gone-1']) {
      secrets[id] = (await admin.accessTokens.issue({ id, scope })).accessToken;
    }
    await admin.accessTokens.revoke({ id: 'gone-1' });
    expect(await statusWith(first, secrets['keep-1']!)).toBe(200);
    expect(await statusWith(first, secrets['gone-1']!)).toBe(401);
    await first.kill9();
    logs += first.stderr();
    // The printed token is the only place any secret went.
    expect(first.stdout.split(root!).length).toBe(2);

    const second = await serve();
    expect(second.stdout).toContain('the root token is the one shown at the first start');
    expect(second.stdout).not.toMatch(/S2_ACCESS_TOKEN/);
    expect(await statusWith(second, root!)).toBe(200);
    expect(await statusWith(second, secrets['keep-1']!)).toBe(200);
    expect(await statusWith(second, secrets['keep-2']!)).toBe(200);
    expect(await statusWith(second, secrets['gone-1']!)).toBe(401);
    const ids = (await sdk(second, root!).accessTokens.list()).accessTokens.map((t) => t.id);
    expect(ids).toEqual(['keep-1', 'keep-2']);
    const basins = (await sdk(second, secrets['keep-2']!).basins.list()).basins.map((b) => b.name);
    expect(basins).toEqual(['durable-auth-01']);
    await second.kill9();
    logs += second.stdout + second.stderr();
  });

  it('rotates the root token: generated anew, from S2LITE_ROOT_TOKEN, from --root-token-file', async () => {
    const rotated = await serve(['--rotate-root-token']);
    const newRoot = generatedRoot(rotated.stdout);
    expect(newRoot).toBeDefined();
    expect(newRoot).not.toBe(secrets.root);
    expect(await statusWith(rotated, secrets.root!)).toBe(401);
    expect(await statusWith(rotated, newRoot!)).toBe(200);
    expect(await statusWith(rotated, secrets['keep-1']!)).toBe(200);
    await rotated.kill9();
    logs += rotated.stderr();
    secrets.rotated = newRoot!;

    secrets.env = `env-root-${'e'.repeat(40)}`;
    const fromEnv = await serve([], { S2LITE_ROOT_TOKEN: secrets.env });
    expect(fromEnv.stdout).toContain('S2_ACCESS_TOKEN="$S2LITE_ROOT_TOKEN"');
    expect(await statusWith(fromEnv, secrets.env)).toBe(200);
    // A given root token replaces the stored one while it is given.
    expect(await statusWith(fromEnv, newRoot!)).toBe(401);
    await fromEnv.kill9();
    logs += fromEnv.stdout + fromEnv.stderr();

    secrets.file = `file-root-${'f'.repeat(40)}`;
    const file = path.join(dir, 'root-token');
    writeFileSync(file, `${secrets.file}\n`, { mode: 0o600 });
    const fromFile = await serve(['--root-token-file', file]);
    expect(fromFile.stdout).toContain(`S2_ACCESS_TOKEN="$(cat ${file})"`);
    expect(await statusWith(fromFile, secrets.file)).toBe(200);
    expect(await statusWith(fromFile, secrets.env)).toBe(401);
    await fromFile.kill9();
    logs += fromFile.stdout + fromFile.stderr();
  });

  it('no secret is in the logs or the data files; the hashes are', () => {
    expect(logs).toContain('"msg":"request"');
    const files = filesUnder(dataDir).map((file) => readFileSync(file));
    expect(files.length).toBeGreaterThan(0);
    for (const [name, secret] of Object.entries(secrets)) {
      expect(logs.includes(secret), `${name} in the logs`).toBe(false);
      expect(
        files.some((bytes) => bytes.includes(secret)),
        `${name} in the data files`,
      ).toBe(false);
    }
    for (const name of ['keep-1', 'keep-2', 'rotated']) {
      expect(
        files.some((bytes) => bytes.includes(tokenHash(secrets[name]!))),
        `${name}'s hash stored`,
      ).toBe(true);
    }
  });
});
