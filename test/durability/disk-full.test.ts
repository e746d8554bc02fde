/**
 * A disk that fills up under a running local-disk server (`s2-lite serve`, a real process): the
 * root lives on a small tmpfs this test mounts (it needs root, as the machine's test runs have) and
 * fills with a file. Appends then fail with 500 `storage` naming the lack of space, /health answers
 * 503 with the reason, the log says why the server does not resume yet, and nothing acknowledged
 * is lost; once the file is removed the server
 * resumes by itself (it reopens the root from what is durable) and serves every acknowledged record
 * with its seq_num, and takes appends again.
 */
import { execFileSync } from 'node:child_process';
import { randomBytes } from 'node:crypto';
import { mkdtempSync, rmdirSync, statfsSync, unlinkSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { until } from '../support/until.js';
import { request } from '../support/http.js';
import { spawnServer, type SpawnedServer } from '../support/server.js';

const mountSizeMiB = 320;
let mountPoint: string | undefined;
let server: SpawnedServer | undefined;

afterAll(async () => {
  await server?.stop(5_000);
  if (mountPoint) {
    execFileSync('umount', [mountPoint]);
    rmdirSync(mountPoint);
  }
});

function mountTmpfs(): string {
  const dir = mkdtempSync(path.join(os.tmpdir(), 's2-disk-full-'));
  try {
    execFileSync('mount', ['-t', 'tmpfs', '-o', `size=${mountSizeMiB}m`, 'tmpfs', dir], { stdio: 'pipe' });
  } catch (error) {
    rmdirSync(dir);
    throw new Error(`this test mounts a tmpfs and needs root: ${(error as Error).message}`);
  }
  return dir;
}

function freeBytes(dir: string): number {
  const stats = statfsSync(dir);
  return stats.bavail * stats.bsize;
}

/**
 * Fills the filesystem of `dir` with `filler` until `leave` bytes are free. The server may be
 * zero-filling a spare log file meanwhile, so a try that finds less room than it measured is
 * repeated.
 */
async function fillUpTo(dir: string, filler: string, leave: number): Promise<void> {
  let last = '';
  for (let attempt = 0; attempt < 40; attempt++) {
    try {
      execFileSync('fallocate', ['-l', String(freeBytes(dir) - leave), filler], { stdio: 'pipe' });
      return;
    } catch (error) {
      last = (error as Error).message;
      try {
        unlinkSync(filler);
      } catch {
        // fallocate left no file
      }
      await new Promise((resolve) => setTimeout(resolve, 250));
    }
  }
  throw new Error(`could not fill ${dir}: ${last}`);
}

interface Ack {
  seqNum: number;
  body: string;
}

describe('a local disk that fills up', () => {
  it('fails appends with 500 storage and /health 503, loses nothing, and resumes once there is room', async () => {
    mountPoint = mountTmpfs();
    const root = path.join(mountPoint, 'root');
    server = await spawnServer(['--local-root', root]);
    const base = server.baseUrl;
    const basin = `full-${process.pid}-${Date.now().toString(36)}`;
    const created = await request(base, {
      method: 'POST',
      path: '/v1/basins',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ basin, config: { create_stream_on_append: true } }),
    });
    expect(created.status).toBe(201);

    const acks: Ack[] = [];
    let n = 0;
    const append = async (records: number) => {
      // Random bodies: zstd must not shrink the segments that checkpoints write.
      const bodies = Array.from({ length: records }, () => `r${n++}-${randomBytes(6_000).toString('base64')}`);
      const res = await request(base, {
        method: 'POST',
        path: '/v1/streams/events/records',
        headers: { 's2-basin': basin, 'content-type': 'application/json' },
        body: JSON.stringify({ records: bodies.map((body) => ({ body })) }),
      });
      if (res.status === 200) bodies.forEach((body, i) => acks.push({ seqNum: res.json().start.seq_num + i, body }));
      return res;
    };
    for (let i = 0; i < 10; i++) expect((await append(1)).status).toBe(200);

    // Leave 4 MiB: the log's current file still has room (it is preallocated), nothing else does.
    const filler = path.join(mountPoint, 'filler');
    await fillUpTo(mountPoint, filler, 4 * 2 ** 20);

    const failures: { status: number; code: string; message: string }[] = [];
    const producer = async () => {
      while (failures.length === 0 && n < 40_000) {
        const res = await append(32);
        if (res.status !== 200) failures.push({ status: res.status, ...res.json() });
      }
    };
    await Promise.all([producer(), producer(), producer(), producer()]);
    expect(failures.length).toBeGreaterThan(0);
    expect(failures.map((f) => f.status)).toContain(500);
    for (const failure of failures) {
      expect([500, 503]).toContain(failure.status);
      if (failure.status === 500) {
        expect(failure.code).toBe('storage');
        expect(failure.message).toMatch(/no space/i);
      }
    }
    const health = await request(base, { path: '/health' });
    expect(health.status).toBe(503);
    expect(health.text).toMatch(/no space/i);
    expect(acks.length).toBeGreaterThan(1_000); // the log's file held appends after the disk was full

    // While the disk stays full the server says why it does not resume yet.
    await until('the server says why it cannot resume', () => /storage still unusable/.test(server!.stderr()), {
      timeoutMs: 30_000,
      intervalMs: 250,
    });
    expect(server.stderr()).toMatch(/MiB free on the filesystem of .*; reopening needs 128 MiB/);

    unlinkSync(filler);
    await until('the server resumes', async () => (await request(base, { path: '/health' })).status === 200, {
      timeoutMs: 90_000,
      intervalMs: 250,
    });

    const records: { seq_num: number; body: string }[] = [];
    for (;;) {
      const page = await request(base, {
        path: `/v1/streams/events/records?seq_num=${records.length}&count=1000`,
        headers: { 's2-basin': basin },
      });
      if (page.status === 416) break;
      expect(page.status, `${page.text}\n${server.stderr().slice(-8000)}`).toBe(200);
      const batch = page.json().records;
      if (batch.length === 0) break;
      records.push(...batch);
    }
    records.forEach((record, i) => expect(record.seq_num).toBe(i));
    const bySeq = new Map(records.map((r) => [r.seq_num, r.body]));
    for (const ack of acks) expect(bySeq.get(ack.seqNum), `acknowledged seq_num ${ack.seqNum}`).toBe(ack.body);
    const after = await append(1);
    expect(after.status).toBe(200);
    expect(after.json().start.seq_num).toBe(records.length);
  }, 240_000);
});
