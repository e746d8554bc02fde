/**
 * The CLI's access-token commands as a user runs them, against the built server run with `--auth`:
 * issue-access-token with the official flags (resource sets `=exact` or prefix, op groups, ops,
 * expiry, auto-prefixed streams) prints the token once; list-access-tokens pages by prefix,
 * start-after and limit and shows scopes, never tokens; revoke-access-token makes the token
 * refused at once. Bad flag values are usage errors (exit 2), refusals by the server exit 1 with the
 * reason.
 */
import { spawn } from 'node:child_process';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { startDistServer, type DistServer } from '../hardening/support.js';
import { repoRoot } from '../support/server.js';
import { collect, mainJs, type CliResult } from './support.js';

const root = `cli-root-${'c'.repeat(40)}`;
let server: DistServer;

beforeAll(async () => {
  server = await startDistServer(['--auth'], { S2LITE_ROOT_TOKEN: root });
});
afterAll(async () => {
  await server?.stop();
});

/** `s2-lite ARGS` with `S2_ACCESS_TOKEN=token`. */
function run(token: string, args: string[]): Promise<CliResult> {
  const child = spawn(process.execPath, [mainJs, ...args], {
    cwd: repoRoot,
    env: {
      ...process.env,
      S2_ACCOUNT_ENDPOINT: server.baseUrl,
      S2_BASIN_ENDPOINT: server.baseUrl,
      S2_ACCESS_TOKEN: token,
      NO_COLOR: '1',
    },
    stdio: ['pipe', 'pipe', 'pipe'],
  });
  return collect(child);
}

async function ok(token: string, args: string[]): Promise<string> {
  const result = await run(token, args);
  expect(result.code, `${args.join(' ')}: ${result.stderr}`).toBe(0);
  return result.stdout;
}

describe('access-token commands', { timeout: 60_000 }, () => {
  it('issue, list and revoke with the official flags', async () => {
    await ok(root, ['create-basin', 'cli-basin-01']);
    await ok(root, ['create-basin', 'cli-other-01']);
    const app1 = (
      await ok(root, [
        'issue-access-token',
        '--id',
        'app-1',
        '--basins',
        '=cli-basin-01',
        '--streams',
        '',
        '--op-groups',
        'basin=rw,stream=rw',
      ])
    ).trim();
    expect(app1).toMatch(/^s2l_[A-Za-z0-9_-]{43}$/);
    const app2 = (
      await ok(root, [
        'issue-access-token',
        '--id',
        'app-2',
        '--basins',
        'cli-',
        '--ops',
        'list-basins',
        '--expires-at',
        '2099-01-01T00:00:00Z',
      ])
    ).trim();
    await ok(root, [
      'issue-access-token',
      '--id',
      'app-3',
      '--basins',
      '',
      '--streams',
      'tenant/',
      '--auto-prefix-streams',
      '--op-groups',
      'stream=r',
    ]);
    await ok(root, ['issue-access-token', '--id', 'zed', '--access-tokens', '=']);

    const listed = await ok(root, ['list-access-tokens', '--prefix', 'app-']);
    const rows = listed.trim().split('\n');
    expect(rows.map((row) => row.split(/\s+/)[0])).toEqual(['app-1', 'app-2', 'app-3']);
    expect(rows[0]).toContain('basins:=cli-basin-01 streams:* access-tokens:- op-groups:basin=rw,stream=rw ops:-');
    expect(rows[1]).toContain('2099-01-01T00:00:00.000Z');
    expect(rows[1]).toContain('ops:list-basins');
    expect(rows[2]).toContain('streams:tenant/*(auto-prefix)');
    expect(listed).not.toContain('s2l_');
    const page = await ok(root, ['list-access-tokens', '--prefix', 'app-', '--start-after', 'app-1', '--limit', '1']);
    expect(
      page
        .trim()
        .split('\n')
        .map((row) => row.split(/\s+/)[0]),
    ).toEqual(['app-2']);
    expect(await ok(root, ['list-access-tokens', '--prefix', 'zed'])).toContain('access-tokens:=');

    // The tokens work as scoped: app-2 lists the cli- basins only; app-1 may not list basins.
    expect(
      (await ok(app2, ['list-basins']))
        .trim()
        .split('\n')
        .map((row) => row.split(/\s+/)[0]),
    ).toEqual(['cli-basin-01', 'cli-other-01']);
    await ok(app1, ['create-stream', 's2://cli-basin-01/s']);
    const denied = await run(app1, ['list-basins']);
    expect(denied.code).toBe(1);
    expect(denied.stderr).toMatch(/permission_denied|permission denied/i);

    expect(await ok(root, ['revoke-access-token', '--id', 'app-1'])).toBe('revoked access token app-1\n');
    const revoked = await run(app1, ['list-streams', 's2://cli-basin-01']);
    expect(revoked.code).toBe(1);
    expect(revoked.stderr).toMatch(/authn|revoked/i);
    expect(revoked.stderr).not.toContain(app1);
  });

  it('bad flags are usage errors; server refusals exit 1 with the reason', async () => {
    for (const args of [
      ['issue-access-token', '--id', 'bad', '--ops', 'read,no-such-op'],
      ['issue-access-token', '--id', 'bad', '--op-groups', 'account=x'],
      ['issue-access-token', '--id', 'bad', '--op-groups', 'stream=r,stream=w'],
      ['issue-access-token', '--id', 'bad', '--expires-at', 'tomorrow'],
    ]) {
      const result = await run(root, args);
      expect(result.code, args.join(' ')).toBe(2);
      expect(result.stderr).toMatch(/^error: /m);
    }
    for (const command of ['issue-access-token', 'revoke-access-token']) {
      const result = await run(root, [command]);
      expect([result.code, result.stderr]).toEqual([1, expect.stringMatching(/required option '--id <id>'/)]);
    }
    await ok(root, ['issue-access-token', '--id', 'twice']);
    const dup = await run(root, ['issue-access-token', '--id', 'twice']);
    expect([dup.code, dup.stderr]).toEqual([1, expect.stringMatching(/already exists/)]);
    const missing = await run(root, ['revoke-access-token', '--id', 'never']);
    expect([missing.code, missing.stderr]).toEqual([1, expect.stringMatching(/not found/)]);
    const long = await run(root, ['issue-access-token', '--id', 'x'.repeat(97)]);
    expect(long.code).toBe(1);
    const wrong = await run('not-the-root-token-at-all', ['list-access-tokens']);
    expect([wrong.code, wrong.stderr]).toEqual([1, expect.stringMatching(/authn|access token/i)]);
  });
});
