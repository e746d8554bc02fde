/**
 * Proves the authentication options of `S2Lite.start()` and `s2-lite serve`: each wrong
 * combination is refused with a message naming the option and never the token; a server started
 * in process with `auth` hands its root token to `sdkOptions` and `env`; `reset()` revokes issued
 * tokens and keeps the root token; without `auth` the token routes answer 501 as before.
 */
import { mkdtempSync, rmSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { S2, S2Error } from '@s2-dev/streamstore';
import { afterAll, describe, expect, it } from 'vitest';
import { S2Lite } from '../../src/lite/lite.js';
import { OptionError, resolveOptions, type S2LiteOptions } from '../../src/lite/options.js';

const dir = mkdtempSync(path.join(os.tmpdir(), 's2-auth-options-'));
afterAll(() => rmSync(dir, { recursive: true, force: true }));

async function refusal(options: S2LiteOptions, naming: 'api' | 'cli' = 'api'): Promise<string> {
  try {
    await resolveOptions({ logLevel: 'silent', ...options }, naming);
  } catch (error) {
    expect(error).toBeInstanceOf(OptionError);
    return (error as Error).message;
  }
  throw new Error(`accepted ${JSON.stringify(options)}`);
}

async function status(s2: S2, run: (s2: S2) => Promise<unknown>): Promise<number> {
  try {
    await run(s2);
    return 200;
  } catch (error) {
    if (error instanceof S2Error && error.status !== undefined) return error.status;
    throw error;
  }
}

describe('authentication options', () => {
  it('refuse wrong combinations and bad root tokens without echoing them', async () => {
    const short = 'short-root-token';
    const spaced = `a root token with spaces ${'x'.repeat(32)}`;
    const file = path.join(dir, 'short');
    writeFileSync(file, `${short}\n`);
    const cases: [S2LiteOptions, 'api' | 'cli', RegExp][] = [
      [{ rootToken: 'r'.repeat(40) }, 'api', /`rootToken` requires `auth`/],
      [{ metricsAuth: true }, 'cli', /--metrics-auth requires --auth/],
      [{ rotateRootToken: true }, 'cli', /--rotate-root-token requires --auth/],
      [{ auth: true, rootToken: short }, 'api', /`rootToken`: must be at least 32 characters/],
      [{ auth: true, rootToken: spaced }, 'api', /`rootToken`: token has characters outside/],
      [{ auth: true, rootTokenFile: file }, 'cli', /--root-token-file .*short: must be at least 32 characters/],
      [{ auth: true, rootTokenFile: path.join(dir, 'missing') }, 'cli', /--root-token-file: cannot read/],
      [{ auth: true, rootToken: 'r'.repeat(40), rootTokenFile: file }, 'api', /cannot be used together/],
      [{ auth: true, rootToken: 'r'.repeat(40), rotateRootToken: true }, 'api', /cannot be combined/],
    ];
    for (const [options, naming, expected] of cases) {
      const message = await refusal(options, naming);
      expect(message).toMatch(expected);
      for (const secret of [short, spaced, 'r'.repeat(40)]) expect(message).not.toContain(secret);
    }
  });
});

describe('S2Lite.start with auth', () => {
  it('hands the generated root token to sdkOptions and env; reset revokes issued tokens, not the root', async () => {
    const lite = await S2Lite.start({ auth: true, logLevel: 'silent' });
    try {
      expect(lite.rootToken).toMatch(/^s2l_[A-Za-z0-9_-]{43}$/);
      expect(lite.env.S2_ACCESS_TOKEN).toBe(lite.rootToken);
      const root = new S2(lite.sdkOptions);
      await root.basins.create({ basin: 'embedded-auth-01' });
      const { accessToken } = await root.accessTokens.issue({ id: 'app', scope: { ops: ['list-basins'] } });
      const app = new S2({ ...lite.sdkOptions, accessToken, retry: { maxAttempts: 1 } });
      expect(await status(app, (s2) => s2.basins.list())).toBe(200);
      const stranger = new S2({ ...lite.sdkOptions, accessToken: 'ignored', retry: { maxAttempts: 1 } });
      expect(await status(stranger, (s2) => s2.basins.list())).toBe(401);
      await lite.reset();
      expect(await status(app, (s2) => s2.basins.list())).toBe(401);
      expect((await root.basins.list()).basins).toEqual([]);
      expect((await root.accessTokens.list()).accessTokens).toEqual([]);
    } finally {
      await lite.stop();
    }
  });

  it('uses a given root token; without auth, any token and 501 for the token routes', async () => {
    const given = `given-root-${'g'.repeat(32)}`;
    const guarded = await S2Lite.start({ auth: true, rootToken: given, logLevel: 'silent' });
    try {
      expect(guarded.rootToken).toBe(given);
      expect(guarded.rootTokenSource).toBe('given');
      expect((await new S2(guarded.sdkOptions).basins.list()).basins).toEqual([]);
    } finally {
      await guarded.stop();
    }
    const open = await S2Lite.start({ logLevel: 'silent' });
    try {
      expect(open.sdkOptions.accessToken).toBe('ignored');
      const anyone = new S2({ ...open.sdkOptions, accessToken: 'whatever', retry: { maxAttempts: 1 } });
      expect(await status(anyone, (s2) => s2.basins.list())).toBe(200);
      expect(await status(anyone, (s2) => s2.accessTokens.list())).toBe(501);
    } finally {
      await open.stop();
    }
  });
});
