/**
 * The write-ahead log under real crashes: a child process appends chunks with many in flight and
 * prints each one the log reported durable; we SIGKILL it at a random moment, recover the
 * directory here, and check that every chunk it reported durable (after the folded point) is
 * there, byte for byte, in order, with consecutive chunk ids. Rounds run on the same directory,
 * so each child first recovers from the previous crash (torn tails, files recycled by releases).
 */
import { spawn } from 'node:child_process';
import path from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { seededRand, randInt } from '../../../src/util/rand.js';
import { bodyFor, recoverAll, removeTempDirs, tempDir } from './helpers.js';

const here = path.dirname(fileURLToPath(import.meta.url));
const child = path.join(here, 'crash-child.ts');

afterAll(removeTempDirs);

interface Run {
  opening: number;
  durable: number[];
  folds: number[];
}

function runAndKill(dir: string, folded: number, killAfterMs: number): Promise<Run> {
  return new Promise((resolve, reject) => {
    const proc = spawn(process.execPath, ['--import', 'tsx', child, dir, String(folded)], {
      cwd: path.join(here, '..', '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const run: Run = { opening: -1, durable: [], folds: [] };
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    proc.stdout.setEncoding('utf8');
    proc.stdout.on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, value] = line.split(' ');
        if (kind === 'ready') {
          run.opening = Number(value);
          timer = setTimeout(() => proc.kill('SIGKILL'), killAfterMs);
        } else if (kind === 'durable') run.durable.push(Number(value));
        else if (kind === 'fold') run.folds.push(Number(value));
      }
    });
    proc.stderr.on('data', (text: Buffer) => (stderr += text.toString()));
    proc.on('error', reject);
    proc.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(run);
      else reject(new Error(`child exited early (code ${code}): ${stderr}`));
    });
  });
}

describe('kill -9 while appending', () => {
  it('loses no chunk the log reported durable, over several crashes', async () => {
    const dir = await tempDir('s2-wal-crash-');
    const rand = seededRand(Number(process.env.S2_TEST_SEED ?? 13));
    let folded = 0;
    let lastDurable = 0;
    for (let round = 0; round < 6; round++) {
      const run = await runAndKill(dir, folded, randInt(rand, 300, 1500));
      expect(run.opening, `round ${round}: the writer continues after everything durable`).toBeGreaterThan(lastDurable);
      expect(run.durable.length, `round ${round} made progress`).toBeGreaterThan(0);
      // Resolved in order: each durable id is the next one.
      run.durable.forEach((id, i) => expect(id).toBe(run.opening + 1 + i));
      folded = Math.max(folded, ...run.folds);
      if (process.env.S2_TEST_VERBOSE)
        console.log(`round ${round}: opening ${run.opening}, ${run.durable.length} durable, folded ${folded}`);

      const { frames, recovery } = await recoverAll(dir, folded);
      const byId = new Map(frames.map((f) => [f.chunkId, f]));
      frames.forEach((f, i) => expect(f.chunkId).toBe(folded + 1 + i));
      for (const id of [run.opening, ...run.durable].filter((id) => id > folded)) {
        const frame = byId.get(id);
        expect(frame, `round ${round}: durable chunk ${id} is missing`).toBeDefined();
        const expected = id === run.opening ? Buffer.alloc(0) : bodyFor(id, 4000);
        expect(frame!.body.equals(expected), `round ${round}: chunk ${id} differs`).toBe(true);
      }
      lastDurable = run.durable.at(-1)!;
      expect(recovery.lastChunkId).toBeGreaterThanOrEqual(lastDurable);
    }
  }, 180_000);
});
