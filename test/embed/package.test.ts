/**
 * Proves s2-lite works as a dependency: `npm pack` ships what a consumer needs and nothing else,
 * and the packed tarball, installed into an empty directory, is importable from ES modules and
 * CommonJS, type-checks, starts a server that the official SDK appends to and reads from, and
 * runs the docs/embedding.md recipes for vitest and jest unchanged (docs/examples/).
 *
 * The install skips dependency install scripts: the only one in the tree is zstd-napi's native
 * build (a prebuilt download, or a minute of compiling zstd), so its binary is copied from this
 * checkout's install of the same version instead. vitest, jest and typescript are linked from
 * this checkout's devDependencies.
 */
import { execFile } from 'node:child_process';
import { cpSync, existsSync, mkdirSync, mkdtempSync, readFileSync, rmSync, symlinkSync, writeFileSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { promisify } from 'node:util';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { repoRoot } from '../support/server.js';

const run = promisify(execFile);
/** Each test spawns node, tsc, vitest or jest: seconds normally, more on a busy CI machine. */
const childTimeout = 180_000;
const npm = process.platform === 'win32' ? 'npm.cmd' : 'npm';
const repoPackage = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8'));

/** The environment of a fresh shell: nothing of this vitest run or of the npm script around it. */
function cleanEnv(extra: NodeJS.ProcessEnv = {}): NodeJS.ProcessEnv {
  const env: NodeJS.ProcessEnv = {};
  for (const [name, value] of Object.entries(process.env)) {
    if (/^(npm_|VITEST|NODE_OPTIONS$|S2_|AWS_|TINYPOOL)/i.test(name)) continue;
    env[name] = value;
  }
  return { ...env, ...extra };
}

async function sh(file: string, args: string[], cwd: string, env?: NodeJS.ProcessEnv) {
  try {
    return await run(file, args, { cwd, env: cleanEnv(env), maxBuffer: 64 * 1024 * 1024, timeout: 300_000 });
  } catch (error) {
    const e = error as { message: string; stdout?: string; stderr?: string };
    throw new Error(`${file} ${args.join(' ')} failed in ${cwd}:\n${e.message}\n${e.stdout ?? ''}\n${e.stderr ?? ''}`);
  }
}

let tmp: string;
let consumer: string;
let packed: { path: string }[];

beforeAll(async () => {
  tmp = mkdtempSync(path.join(os.tmpdir(), 's2-lite-pack-'));
  // `npm pack` runs `prepare` (a clean build of dist/), as `npm publish` would.
  const { stdout } = await sh(npm, ['pack', '--json', '--pack-destination', tmp], repoRoot);
  const [info] = JSON.parse(stdout) as [{ filename: string; files: { path: string }[] }];
  packed = info.files;

  consumer = path.join(tmp, 'consumer');
  mkdirSync(consumer);
  writeFileSync(path.join(consumer, 'package.json'), JSON.stringify({ private: true, type: 'module' }));
  const sdk = `@s2-dev/streamstore@${repoPackage.dependencies['@s2-dev/streamstore']}`;
  const tarball = path.join(tmp, info.filename);
  await sh(npm, ['install', tarball, sdk, '--prefer-offline', '--no-audit', '--no-fund', '--ignore-scripts'], consumer);

  const modules = path.join(consumer, 'node_modules');
  const zstdVersion = (dir: string) =>
    JSON.parse(readFileSync(path.join(dir, 'zstd-napi/package.json'), 'utf8')).version;
  expect(zstdVersion(modules)).toBe(zstdVersion(path.join(repoRoot, 'node_modules')));
  cpSync(path.join(repoRoot, 'node_modules/zstd-napi/build'), path.join(modules, 'zstd-napi/build'), {
    recursive: true,
  });
  for (const tool of ['vitest', 'jest', 'typescript']) {
    if (!existsSync(path.join(modules, tool)))
      symlinkSync(path.join(repoRoot, 'node_modules', tool), path.join(modules, tool), 'dir');
  }
  cpSync(path.join(repoRoot, 'docs/examples'), path.join(consumer, 'examples'), { recursive: true });
}, 600_000);

afterAll(() => {
  if (tmp) rmSync(tmp, { recursive: true, force: true });
});

describe('npm pack', () => {
  it(
    'ships dist (JavaScript and types), README, LICENSE and package.json; no tests, bench, sources or maps',
    async () => {
      const files = packed.map((f) => f.path).sort();
      expect(files).toEqual(
        expect.arrayContaining(['LICENSE', 'README.md', 'package.json', 'dist/index.js', 'dist/index.d.ts']),
      );
      const outside = files.filter((f) => !f.startsWith('dist/'));
      expect(outside.sort()).toEqual(['LICENSE', 'README.md', 'package.json']);
      expect(files.filter((f) => f.endsWith('.map'))).toEqual([]);
      // No test module and no TypeScript source inside dist/ either (dist/cli/bench is the bench command).
      expect(files.filter((f) => /\.test\.|(?<!\.d)\.ts$/.test(f))).toEqual([]);
      // Every module is compiled from a current source file (no leftovers of an older build) and has its types;
      // the web console's bundle (dist/console, built by scripts/build-console.mjs) is a browser asset.
      const modules = files.filter((f) => f.endsWith('.js') && !f.startsWith('dist/console/'));
      expect(files).toContain('dist/console/index.html');
      for (const file of modules) {
        expect(existsSync(path.join(repoRoot, 'src', file.slice('dist/'.length).replace(/\.js$/, '.ts'))), file).toBe(
          true,
        );
        expect(files, file).toContain(file.replace(/\.js$/, '.d.ts'));
      }
      // What package.json points at is in the package.
      const manifest = JSON.parse(readFileSync(path.join(consumer, 'node_modules/s2-lite/package.json'), 'utf8'));
      const targets = [
        manifest.types,
        manifest.exports['.'].types,
        manifest.exports['.'].default,
        manifest.bin['s2-lite'],
      ];
      for (const target of targets) expect(files).toContain(path.posix.normalize(target));
      // The portable shebang (BusyBox's env has no -S: docs/configuration.md, "The V8 heap floor"),
      // and the link npm installed for it runs.
      expect(readFileSync(path.join(consumer, 'node_modules/s2-lite', manifest.bin['s2-lite']), 'utf8')).toMatch(
        /^#!\/usr\/bin\/env node\n/,
      );
      const help = await sh(path.join(consumer, 'node_modules/.bin/s2-lite'), ['--help'], consumer);
      expect(help.stdout).toContain('serve');
      expect(manifest.engines.node).toBe(repoPackage.engines.node);
    },
    childTimeout,
  );
});

describe('the installed package', () => {
  it(
    'an ES module imports S2Lite, starts a server, appends and reads with the official SDK, and stops',
    async () => {
      const script = `
      import { S2Lite } from 's2-lite';
      import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore';
      const lite = await S2Lite.start();
      const s2 = new S2(lite.sdkOptions);
      await s2.basins.create({ basin: 'packed-basin', config: { createStreamOnAppend: true } });
      const stream = s2.basin('packed-basin').stream('events');
      const ack = await stream.append(AppendInput.create([AppendRecord.string({ body: 'one' }), AppendRecord.string({ body: 'two' })]));
      const { records } = await stream.read({ start: { from: { seqNum: 0 } } });
      await lite.stop();
      console.log(JSON.stringify({ endpoint: lite.endpoint, end: ack.end.seqNum, bodies: records.map((r) => r.body) }));
    `;
      writeFileSync(path.join(consumer, 'append-read.mjs'), script);
      const { stdout } = await sh(process.execPath, ['append-read.mjs'], consumer);
      const result = JSON.parse(stdout);
      expect(result.endpoint).toMatch(/^http:\/\/127\.0\.0\.1:\d+$/);
      expect(result).toMatchObject({ end: 2, bodies: ['one', 'two'] });
    },
    childTimeout,
  );

  it(
    'runs the README five lines (docs/examples/quickstart.mjs)',
    async () => {
      await sh(process.execPath, ['examples/quickstart.mjs'], consumer);
    },
    childTimeout,
  );

  it(
    'CommonJS loads it with await import() (docs/examples/commonjs.cjs), and with require() where Node allows',
    async () => {
      const { stdout } = await sh(process.execPath, ['examples/commonjs.cjs'], consumer);
      expect(stdout.trim()).toBe('from CommonJS');
      // Node 20.19+ and 22.12+ can require() an ES module without top-level await; the entry has none.
      if ((process.features as { require_module?: boolean }).require_module) {
        const { stdout: names } = await sh(
          process.execPath,
          ['-e', "console.log(Object.keys(require('s2-lite')).join(','))"],
          consumer,
        );
        expect(names.trim()).toBe('OptionError,S2Lite');
      }
    },
    childTimeout,
  );

  it(
    'type-checks a TypeScript consumer against the shipped declarations, which are strict',
    async () => {
      const tsconfig = {
        compilerOptions: {
          target: 'ES2022',
          module: 'NodeNext',
          moduleResolution: 'NodeNext',
          strict: true,
          noEmit: true,
          skipLibCheck: true,
          types: ['node'],
        },
        include: ['examples/**/*.ts', 'types-check.ts'],
      };
      writeFileSync(path.join(consumer, 'tsconfig.json'), JSON.stringify(tsconfig));
      writeFileSync(
        path.join(consumer, 'types-check.ts'),
        `import { S2 } from '@s2-dev/streamstore';
      import { OptionError, S2Lite, type S2LiteOptions, type StorageMode } from 's2-lite';
      const options: S2LiteOptions = { port: 0, appendInflightBytes: '64MiB', flushInterval: 5, logLevel: 'warn' };
      const lite: S2Lite = await S2Lite.start(options);
      const storage: StorageMode = lite.storage;
      const env: Record<string, string> = lite.env;
      new S2(lite.sdkOptions);
      await lite.reset();
      await lite.stop({ immediate: true });
      // @ts-expect-error: options are checked by name
      await S2Lite.start({ localroot: '/tmp' });
      // @ts-expect-error: the command line's entry is not part of the API
      S2Lite.startWith({}, 'cli');
      export { OptionError, storage, env };
      `,
      );
      await sh(process.execPath, ['node_modules/typescript/bin/tsc', '-p', 'tsconfig.json'], consumer);
    },
    childTimeout,
  );

  it(
    'runs the vitest recipe: a globalSetup server for the run and a per-test fixture with reset()',
    async () => {
      const dir = path.join(consumer, 'examples/vitest');
      const { stdout } = await sh(
        process.execPath,
        [path.join(consumer, 'node_modules/vitest/vitest.mjs'), 'run'],
        dir,
        {
          CI: '1',
        },
      );
      expect(stdout).toMatch(/Test Files\s+.*2 passed/);
      expect(stdout).toMatch(/Tests\s+.*4 passed/);
    },
    childTimeout,
  );

  it(
    'runs the jest recipe: a globalSetup server for the run and a per-test reset()',
    async () => {
      const dir = path.join(consumer, 'examples/jest');
      const jest = path.join(consumer, 'node_modules/jest/bin/jest.js');
      const { stderr } = await sh(process.execPath, ['--experimental-vm-modules', jest, '--ci'], dir);
      expect(stderr).toMatch(/Test Suites: 2 passed, 2 total/);
      expect(stderr).toMatch(/Tests:\s+3 passed, 3 total/);
    },
    childTimeout,
  );
});
