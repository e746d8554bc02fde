/**
 * Crash test with a real process: the driver appends pipelined batches to a log on a local
 * directory and prints each acknowledged range; we SIGKILL it mid-flight, reopen the directory
 * here and check that every acknowledged record is present exactly once, in order, with its
 * seq_num, timestamp and contents. Several rounds run on the same directory, so later rounds
 * also recover from a crash and continue from the recovered tail.
 */
import { spawn } from 'node:child_process';
import { mkdtemp, rm } from 'node:fs/promises';
import { tmpdir } from 'node:os';
import { dirname, join } from 'node:path';
import { fileURLToPath } from 'node:url';
import { afterAll, describe, expect, it } from 'vitest';
import { openObjectStore } from '../../src/objectstore/index.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { crashRecord, crashStream } from './crash-shared.js';
import { readRange } from './helpers.js';

const here = dirname(fileURLToPath(import.meta.url));
const driver = join(here, 'crash-driver.ts');
const dirs: string[] = [];

afterAll(async () => {
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

interface RunResult {
  ready: number;
  acked: [number, number][];
}

/** Runs the driver until it has acknowledged records for `runMs` after startup, then SIGKILLs it. */
function runAndKill(dir: string, runMs: number): Promise<RunResult> {
  return new Promise((resolve, reject) => {
    const child = spawn(process.execPath, ['--import', 'tsx', driver, dir], {
      cwd: join(here, '..', '..'),
      stdio: ['ignore', 'pipe', 'pipe'],
    });
    const result: RunResult = { ready: -1, acked: [] };
    let buffered = '';
    let stderr = '';
    let timer: NodeJS.Timeout | undefined;
    child.stdout.setEncoding('utf8');
    child.stdout.on('data', (text: string) => {
      buffered += text;
      const lines = buffered.split('\n');
      buffered = lines.pop()!;
      for (const line of lines) {
        const [kind, a, b] = line.split(' ');
        if (kind === 'ready') {
          result.ready = Number(a);
          timer = setTimeout(() => child.kill('SIGKILL'), runMs);
        } else if (kind === 'ack') {
          result.acked.push([Number(a), Number(b)]);
        }
      }
    });
    child.stderr.on('data', (text: Buffer) => (stderr += text.toString()));
    child.on('error', reject);
    child.on('exit', (code, signal) => {
      clearTimeout(timer);
      if (signal === 'SIGKILL') resolve(result);
      else reject(new Error(`driver exited early (code ${code}): ${stderr}`));
    });
  });
}

describe('crash', () => {
  it('every acknowledged record survives SIGKILL, exactly once and in order', async () => {
    const dir = await mkdtemp(join(tmpdir(), 's2-log-crash-'));
    dirs.push(dir);
    let expectedStart = 0;
    let totalAcked = 0;
    for (let round = 0; round < 2; round++) {
      const run = await runAndKill(dir, 1_200 + round * 400);
      expect(run.ready).toBe(expectedStart);
      // Acks arrive in order and cover consecutive ranges.
      let cursor = run.ready;
      for (const [first, last] of run.acked) {
        expect(first).toBe(cursor);
        cursor = last + 1;
      }
      const ackedEnd = cursor;
      totalAcked += ackedEnd - run.ready;

      const log = await ChunkLog.open(await openObjectStore({ kind: 'local', root: dir }), {
        sweepOrphansOnOpen: true,
      });
      try {
        const stream = log.recovered().streams.find((s) => s.id === crashStream);
        expect(stream).toBeDefined();
        const tail = stream!.tail.seqNum;
        expect(tail).toBeGreaterThanOrEqual(ackedEnd);
        const records = await readRange(log, crashStream, 0, tail);
        expect(records.length).toBe(tail);
        records.forEach((record, i) => {
          if (record.seqNum !== i) expect(record.seqNum).toBe(i);
          const want = crashRecord(i);
          if (record.timestamp !== want.timestamp || Buffer.compare(record.body, want.body) !== 0) {
            expect(record).toEqual(want);
          }
        });
        expect(stream!.tail.timestamp).toBe(crashRecord(tail - 1).timestamp);
        expectedStart = tail;
      } finally {
        await log.close();
      }
    }
    // The test means something only if the driver got real work acknowledged before each kill.
    expect(totalAcked).toBeGreaterThan(50);
  }, 60_000);
});
