/**
 * The server's node flags (limits.ts, serverOldSpaceFloorMiB; docs/configuration.md, "The V8 heap
 * floor") reach every way it is started: the `s2-lite` bin through its shebang, `npm start`, and the
 * benchmark's servers, which must measure what users run. V8 reads the flag only when it creates the
 * heap, so nothing inside the process can make up for an entry point that lacks it.
 */
import { spawnSync } from 'node:child_process';
import { mkdtempSync, readFileSync, rmSync, writeFileSync } from 'node:fs';
import { tmpdir } from 'node:os';
import path from 'node:path';
import { describe, expect, it } from 'vitest';
import { cliCommand, runFromSource, shebangNodeFlags } from '../../bench/ours/server.js';
import { serverOldSpaceFloorMiB } from '../../src/limits.js';
import { repoRoot } from '../support/server.js';
import { mainJs } from './support.js';

const floorFlag = `--initial-old-space-size=${serverOldSpaceFloorMiB}`;
const srcMain = path.join(repoRoot, 'src/cli/main.ts');

function firstLine(file: string): string {
  return readFileSync(file, 'utf8').split('\n', 1)[0]!;
}

describe('the node flags of the server entry points', () => {
  it('the bin runs node with the heap floor, in the source and in the build', () => {
    expect(shebangNodeFlags(srcMain)).toEqual([floorFlag]);
    expect(firstLine(mainJs)).toBe(firstLine(srcMain));
  });

  it('its shebang line, as the kernel hands it to env, starts node with the flag', () => {
    // The kernel runs `/usr/bin/env "<rest of the line>" <script> <args>`; -S splits the rest.
    // A script of -p instead of main.js shows what node got (node refuses a flag it does not know).
    const [interpreter, ...rest] = firstLine(mainJs).slice(2).split(' ');
    const run = spawnSync(interpreter!, [rest.join(' '), '-p', 'JSON.stringify(process.execArgv)'], {
      encoding: 'utf8',
    });
    expect(run.stderr).toBe('');
    expect(JSON.parse(run.stdout) as string[]).toEqual([floorFlag, '-p', 'JSON.stringify(process.execArgv)']);
  });

  it('npm start and npm run dev pass node the same flags', () => {
    const { scripts } = JSON.parse(readFileSync(path.join(repoRoot, 'package.json'), 'utf8')) as {
      scripts: Record<string, string>;
    };
    expect(scripts['start']).toBe(`node ${floorFlag} dist/cli/main.js serve`);
    expect(scripts['dev']).toBe(`node ${floorFlag} --import tsx src/cli/main.ts serve`);
  });

  it("the benchmark's servers and CLI runs get them too, from the build or (smoke runs) the source", () => {
    expect(cliCommand()).toEqual([floorFlag, mainJs]);
    runFromSource(true);
    try {
      expect(cliCommand()).toEqual([floorFlag, '--import', 'tsx', srcMain]);
    } finally {
      runFromSource(false);
    }
  });

  it('a shebang without flags gives none, and one of another interpreter is refused', () => {
    const dir = mkdtempSync(path.join(tmpdir(), 's2-lite-shebang-'));
    try {
      writeFileSync(path.join(dir, 'plain.js'), '#!/usr/bin/env node\n');
      writeFileSync(path.join(dir, 'sh.js'), '#!/bin/sh\n');
      expect(shebangNodeFlags(path.join(dir, 'plain.js'))).toEqual([]);
      expect(() => shebangNodeFlags(path.join(dir, 'sh.js'))).toThrow(/no node shebang/);
    } finally {
      rmSync(dir, { recursive: true, force: true });
    }
  });
});
