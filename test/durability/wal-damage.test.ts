/**
 * What a crash or a bad disk leaves in the write-ahead log, under a real `s2-lite serve
 * --local-root` process: a last frame torn at a byte offset (zeros or garbage from there to its
 * end, as a crash mid-write leaves in a preallocated or recycled file) is discarded at restart,
 * every earlier record is served with its seq_num, and the next append takes the torn record's
 * seq_num; a byte flipped in a frame in the middle of the log makes the server refuse to start
 * with exit 1 and one line naming the file and the frame's offset. (Every byte offset of a torn
 * frame, and every field of a damaged one, is covered at the log's level in
 * test/storage/wal/recovery.test.ts; this proves the server acts on it.)
 */
import { spawn } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmSync } from 'node:fs';
import { open } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { frameHeaderBytes } from '../../src/storage/wal/format.js';
import { WalRecovery } from '../../src/storage/wal/index.js';
import { request } from '../support/http.js';
import { repoRoot, spawnServer, type SpawnedServer } from '../support/server.js';

const dirs: string[] = [];
let server: SpawnedServer | undefined;
afterAll(async () => {
  await server?.stop(5_000);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

const basin = `wal-damage-${process.pid}-${Date.now().toString(36)}`;

async function append(base: string, body: string): Promise<number> {
  const res = await request(base, {
    method: 'POST',
    path: '/v1/streams/log/records',
    headers: { 's2-basin': basin, 'content-type': 'application/json' },
    body: JSON.stringify({ records: [{ body }] }),
  });
  expect(res.status, res.text).toBe(200);
  return res.json().start.seq_num as number;
}

async function readBodies(base: string): Promise<string[]> {
  const res = await request(base, { path: '/v1/streams/log/records?seq_num=0&count=1000', headers: { 's2-basin': basin } });
  expect(res.status, res.text).toBe(200);
  const records = res.json().records as { seq_num: number; body: string }[];
  records.forEach((record, i) => expect(record.seq_num).toBe(i));
  return records.map((r) => r.body);
}

/**
 * The log's frames in order (the server is dead): file, offset and length of each. Chunk 1 is the
 * fence chunk object a fresh root gets (storage/wal-open.ts); nothing is checkpointed here.
 */
async function frames(walDir: string) {
  const recovery = await WalRecovery.open(walDir, 1);
  const out: { file: string; offset: number; length: number; opening: boolean }[] = [];
  for await (const frame of recovery.frames()) {
    out.push({ file: frame.file, offset: frame.offset, length: frameHeaderBytes + frame.body.length, opening: frame.opening });
  }
  return out;
}

async function overwrite(file: string, offset: number, bytes: Uint8Array): Promise<void> {
  const handle = await open(file, 'r+');
  try {
    await handle.write(bytes, 0, bytes.length, offset);
    await handle.sync();
  } finally {
    await handle.close();
  }
}

/** Runs `s2-lite serve` expecting it to exit by itself (killed, and failing, after 45 s). */
function serveUntilExit(args: string[]): Promise<{ code: number | null; stdout: string; stderr: string }> {
  return new Promise((resolve, reject) => {
    const child = spawn(
      process.execPath,
      ['--import', 'tsx', path.join(repoRoot, 'src/cli/main.ts'), 'serve', '--host', '127.0.0.1', '--port', '0', ...args],
      { cwd: repoRoot, stdio: ['ignore', 'pipe', 'pipe'] },
    );
    let stdout = '';
    let stderr = '';
    child.stdout.on('data', (chunk) => (stdout += chunk));
    child.stderr.on('data', (chunk) => (stderr += chunk));
    const timer = setTimeout(() => {
      child.kill('SIGKILL');
      reject(new Error(`serve was still running after 45 s:\n${stdout}\n${stderr}`));
    }, 45_000);
    child.on('error', reject);
    child.on('exit', (code) => {
      clearTimeout(timer);
      resolve({ code, stdout, stderr });
    });
  });
}

describe('a damaged write-ahead log under a real server', () => {
  it('discards a torn last frame at several byte offsets, and refuses a flipped byte mid-log with one line', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 's2-wal-damage-'));
    dirs.push(root);
    const walDir = path.join(root, 'wal');
    server = await spawnServer(['--local-root', root]);
    const created = await request(server.baseUrl, {
      method: 'POST',
      path: '/v1/basins',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ basin, config: { create_stream_on_append: true } }),
    });
    expect(created.status).toBe(201);
    // Sequential appends: each record is a commit of its own, so the last one is the last frame.
    const kept: string[] = [];
    for (let i = 0; i < 5; i++) kept.push(`kept-${i}`);
    for (const body of kept) await append(server.baseUrl, body);
    let victim = `victim-0-${randomBytes(48).toString('hex')}`;
    await append(server.baseUrl, victim);
    await server.kill9();

    // Nothing of the frame, part of its header, part of its body, all but its last byte.
    const cuts = [0, 37, 'middle', 'last'] as const;
    for (const [round, cut] of cuts.entries()) {
      const last = (await frames(walDir)).at(-1)!;
      expect(last.opening).toBe(false);
      const at = cut === 'middle' ? Math.floor((frameHeaderBytes + last.length) / 2) : cut === 'last' ? last.length - 1 : cut;
      const tail = last.length - at;
      const fill = round % 2 === 0 ? Buffer.alloc(tail) : randomBytes(tail);
      await overwrite(last.file, last.offset + at, fill);

      server = await spawnServer(['--local-root', root]);
      const what = `cut at byte ${at} of ${last.length}, ${round % 2 === 0 ? 'zeros' : 'garbage'} after it`;
      expect(await readBodies(server.baseUrl), what).toEqual(kept);
      // The torn record's seq_num goes to the next append; that one is torn in the next round.
      expect(await append(server.baseUrl, `kept-${round}-after`)).toBe(kept.length);
      kept.push(`kept-${round}-after`);
      victim = `victim-${round + 1}-${randomBytes(48).toString('hex')}`;
      await append(server.baseUrl, victim);
      await server.kill9();
    }

    // A byte flipped in a frame that later frames (and writers) follow: refuse, one line.
    const commits = (await frames(walDir)).filter((f) => !f.opening);
    const middle = commits[Math.floor(commits.length / 2)];
    const handle = await open(middle.file, 'r');
    const byte = Buffer.alloc(1);
    await handle.read(byte, 0, 1, middle.offset + frameHeaderBytes + 3);
    await handle.close();
    await overwrite(middle.file, middle.offset + frameHeaderBytes + 3, Buffer.from([byte[0] ^ 0x10]));
    // (warn: the info lines of a normal start would precede the error line)
    const exit = await serveUntilExit(['--local-root', root, '--log-level', 'warn']);
    expect(exit.code).toBe(1);
    expect(exit.stdout).not.toMatch(/listening/);
    const lines = exit.stderr.trim().split('\n');
    expect(lines, exit.stderr).toHaveLength(1);
    expect(lines[0]).toMatch(/^error: /);
    expect(lines[0]).toContain(`${middle.file} is damaged at byte ${middle.offset}`);
  }, 180_000);
});
