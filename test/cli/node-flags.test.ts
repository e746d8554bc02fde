/**
 * The server's node flags (limits.ts, serverOldSpaceFloorMiB; docs/configuration.md, "The V8 heap
 * floor") reach node where the project starts it: `npm start`, `npm run dev`, and the benchmark's
 * servers, which must measure what `npm start` runs. V8 reads the flag only when it creates the
 * heap, so nothing inside the process can make up for an entry point that lacks it. The bin keeps
 * the portable shebang: `env -S` is refused by BusyBox's env, and the bin would not start at all.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliCommand, runFromSource, startNodeFlags } from '../../bench/ours/server.js';
import { serverOldSpaceFloorMiB } from '../../src/limits.js';
import { repoRoot } from '../support/server.js';
import { mainJs } from './support.js';

const floorFlag = `--initial-old-space-size=${serverOldSpaceFloorMiB}`;
const srcMain = path.join(repoRoot, 'src/cli/main.ts');

const firstLine = (file: string) => readFileSync(file, 'utf8').split('\n', 1)[0]!;

describe('the node flags of the server entry points', () => {
  it('npm start and npm run dev pass node the heap floor', () => {
    const { scripts } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts['start']).toBe(`node ${floorFlag} dist/cli/main.js serve`);
    expect(scripts['dev']).toBe(`node ${floorFlag} --import tsx src/cli/main.ts serve`);
    expect(startNodeFlags(repoRoot)).toEqual([floorFlag]);
  });

  it('node accepts those flags and runs with them', () => {
    // node refuses a flag it does not know, so a typo in the start script would fail here.
    const run = spawnSync(process.execPath, [...startNodeFlags(repoRoot), '-p', 'JSON.stringify(process.execArgv)'], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout) as string[]).toEqual([floorFlag, '-p', 'JSON.stringify(process.execArgv)']);
  });

  it('the bin keeps the portable shebang, in the source and in the build', () => {
    expect(firstLine(srcMain)).toBe('#!/usr/bin/env node');
    expect(firstLine(mainJs)).toBe(firstLine(srcMain));
  });

  it("the benchmark's servers and CLI runs get the flags, from the build or (smoke runs) the source", () => {
    expect(cliCommand()).toEqual([floorFlag, mainJs]);
    runFromSource(true);
    try {
      expect(cliCommand()).toEqual([floorFlag, '--import', 'tsx', srcMain]);
    } finally {
      runFromSource(false);
    }
  });

  it('a start script without flags gives none, and one that does not run the CLI is refused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 's2-lite-start-'));
    const withStart = (start: string) => {
      writeFileSync(path.join(dir, 'package.json'), JSON.stringify({ scripts: { start } }));
      return () => startNodeFlags(dir);
    };
    try {
      expect(withStart('node dist/cli/main.js serve')()).toEqual([]);
      expect(withStart('node --a=1 --b dist/cli/main.js serve --port 1')()).toEqual(['--a=1', '--b']);
      expect(withStart('tsx src/cli/main.ts serve')).toThrow(/"start" is not/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
