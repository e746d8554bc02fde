/**
 * Large records survive kill -9 while checkpoints run: a server on local disk takes tens of MiB of
 * records of 1 B to 1 MiB (appended with the official SDK, several in flight, so checkpoints fold
 * them into segments of padded blocks while appends go on) and is killed with SIGKILL. After each
 * restart, S2S read sessions of the SDK catch up from seq_num 0 and from the middle, and every
 * acknowledged record comes back once, with its seq_num and its exact bytes (and nothing corrupt:
 * a bad block would fail the read with a checksum error).
 */
import { createHash, randomBytes } from 'node:crypto';
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, type SpawnedServer } from '../support/server.js';

/** Body sizes; the largest is the largest record a batch may hold (1 MiB metered, api.md). */
const sizes = [1, 7, 8 * 1024, 8 * 1024 + 5, 64 * 1024, 64 * 1024 + 3, (1 << 20) - 8, 4097, 300];
const batchBytesMax = 1 << 20;

function client(baseUrl: string): S2 {
  return new S2({
    accessToken: 'ignored',
    endpoints: { account: baseUrl, basin: baseUrl },
    retry: { maxAttempts: 1 },
    requestTimeoutMillis: 120_000,
  });
}

function digest(body: Uint8Array): string {
  return `${body.length}:${createHash('sha256').update(body).digest('hex').slice(0, 20)}`;
}

/** Record `i`'s body: incompressible or a repeated byte (compressible blocks), of a size class. */
function makeBody(i: number): Uint8Array {
  const size = sizes[i % sizes.length]!;
  if (i % 2 === 0) return new Uint8Array(randomBytes(size));
  return new Uint8Array(size).fill(i & 0xff);
}

/**
 * Appends batches of 1-3 records with six unary appends outstanding until `bytes` are acknowledged
 * and `ready()` holds (checkpoints run in the background, later on a loaded machine; at most 8 x
 * `bytes` are appended waiting for it), then kills the server (`kill`) or stops appending. Returns
 * seq_num -> digest of every acknowledged record.
 */
async function appendUntil(
  server: SpawnedServer,
  basin: string,
  stream: string,
  bytes: number,
  kill: boolean,
  salt: number,
  ready: () => boolean = () => true,
): Promise<Map<number, string>> {
  const s = client(server.baseUrl).basin(basin).stream(stream);
  const acked = new Map<number, string>();
  let ackedBytes = 0;
  let next = salt;
  let done = false;
  let killed = false;
  const worker = async () => {
    while (!done) {
      // 1-3 records, as many as fit in a batch (metered: 8 bytes per record plus its body).
      const bodies = [makeBody(next++)];
      for (let n = 1 + (next % 3); bodies.length < n;) {
        const body = makeBody(next);
        if (bodies.reduce((sum, b) => sum + b.length + 8, body.length + 8) > batchBytesMax) break;
        bodies.push(body);
        next++;
      }
      try {
        const ack = await s.append(AppendInput.create(bodies.map((body) => AppendRecord.bytes({ body }))));
        bodies.forEach((body, i) => acked.set(ack.start.seqNum + i, digest(body)));
        ackedBytes += bodies.reduce((n, b) => n + b.length, 0);
      } catch (error) {
        if (!killed) {
          done = true; // the other workers stop too
          throw error;
        }
        continue; // the server is gone
      }
      if (ackedBytes >= bytes && !done && (ready() || ackedBytes >= 8 * bytes)) {
        done = true;
        if (kill) {
          killed = true;
          await server.kill9();
        }
      }
    }
  };
  await Promise.all(Array.from({ length: 6 }, worker));
  return acked;
}

/** An S2S read session from `start` to the tail: seq_num -> digest, in order, each once. */
async function readFrom(baseUrl: string, basin: string, stream: string, start: number): Promise<Map<number, string>> {
  const s = client(baseUrl).basin(basin).stream(stream, { forceTransport: 's2s' });
  const { tail } = await s.checkTail();
  const out = new Map<number, string>();
  if (tail.seqNum <= start) return out;
  const session = await s.readSession(
    { start: { from: { seqNum: start } }, stop: { limits: { count: tail.seqNum - start } } },
    { as: 'bytes' },
  );
  let expected = start;
  for await (const record of session) {
    expect(record.seqNum).toBe(expected++);
    out.set(record.seqNum, digest(record.body));
  }
  expect(expected).toBe(tail.seqNum);
  return out;
}

async function verify(server: SpawnedServer, basin: string, stream: string, acked: Map<number, string>, what: string) {
  const all = await readFrom(server.baseUrl, basin, stream, 0);
  for (const [seqNum, want] of acked) expect(all.get(seqNum), `${what}: seq_num ${seqNum}`).toBe(want);
  // From the middle of the stream: a start inside a segment, read ahead into the following ones.
  const middle = Math.floor(all.size / 2) + 1;
  const tail = await readFrom(server.baseUrl, basin, stream, middle);
  for (const [seqNum, got] of tail) expect(got, `${what}: seq_num ${seqNum} from ${middle}`).toBe(all.get(seqNum));
  expect(tail.size).toBe(all.size - middle);
}

/** Segment objects under a local root (whatever the directory layout above `segment/`). */
function segmentFiles(root: string): number {
  const entries = readdirSync(root, { recursive: true, encoding: 'utf8' });
  return entries.filter((entry) => entry.split(path.sep).includes('segment') && /[0-9a-f]{16}$/.test(entry)).length;
}

const dirs: string[] = [];
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe('kill -9 while checkpoints fold large records into segments', () => {
  it('loses and corrupts no acknowledged record of 1 B to 1 MiB on local disk', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's2-crash-large-'));
    dirs.push(dir);
    const basin = `crash-large-${process.pid}-${Date.now().toString(36)}`;
    const stream = 'big';
    let server = await spawnServer(['--local-root', dir]);
    const acked = new Map<number, string>();
    try {
      await client(server.baseUrl).basins.create({ basin, config: { createStreamOnAppend: true } });
      // Twice the checkpoint threshold (16 MiB) and more: checkpoints run while appends go on.
      for (const [round, bytes] of [
        [0, 40 << 20],
        [1, 24 << 20],
      ] as const) {
        const folded = () => segmentFiles(dir) > round;
        for (const [k, v] of await appendUntil(server, basin, stream, bytes, true, round * 1000, folded)) {
          acked.set(k, v);
        }
        // Checkpoints ran before the crash: the reads below come from segments (and the log's tail).
        expect(segmentFiles(dir), `segments before crash ${round}`).toBeGreaterThan(round);
        server = await spawnServer(['--local-root', dir]);
        await verify(server, basin, stream, acked, `after crash ${round}`);
      }
      // And once more after a clean stop, with everything folded into segments on the way.
      for (const [k, v] of await appendUntil(server, basin, stream, 8 << 20, false, 5000)) acked.set(k, v);
      expect(await server.stop()).toBe(0);
      server = await spawnServer(['--local-root', dir]);
      await verify(server, basin, stream, acked, 'after a clean restart');
    } finally {
      await server.stop();
    }
  }, 400_000);
});
