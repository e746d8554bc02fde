/**
 * One server per local root: a second server started on a root that a live server holds refuses
 * to start, with one line naming the root and the owner's pid, and changes nothing there (the
 * first keeps serving). Once the first is killed with SIGKILL, a new server takes the root over
 * without manual cleanup and serves every record the first acknowledged, and only those.
 */
import { mkdtempSync, readdirSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { request } from '../support/http.js';
import { spawnServer, type SpawnedServer } from '../support/server.js';

const dirs: string[] = [];
const servers: SpawnedServer[] = [];
afterAll(async () => {
  for (const server of servers) await server.stop(2_000);
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

function append(baseUrl: string, basin: string, body: string) {
  return request(baseUrl, {
    method: 'POST',
    path: '/v1/streams/events/records',
    headers: { 's2-basin': basin, 'content-type': 'application/json' },
    body: JSON.stringify({ records: [{ body }] }),
  });
}

async function bodies(baseUrl: string, basin: string): Promise<string[]> {
  const read = await request(baseUrl, { path: '/v1/streams/events/records?seq_num=0', headers: { 's2-basin': basin } });
  expect(read.status).toBe(200);
  return read.json().records.map((r: { body: string }) => r.body);
}

/** Every file under `dir`, relative, sorted: what a refused server must leave untouched. */
function listing(dir: string): string[] {
  return (readdirSync(dir, { recursive: true }) as string[]).sort();
}

/**
 * The listing once the live server's own background work is done: it prepares a spare log file
 * under a temporary name and renames it, at its own pace (slow on a loaded machine), and that
 * must not be mistaken for a change made by the refused server.
 */
async function settledListing(dir: string): Promise<string[]> {
  for (let i = 0; i < 300 && listing(dir).some((name) => name.includes('.s2tmp.')); i++) {
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return listing(dir);
}

describe('a second server on the same local root', () => {
  it('refuses to start while the first lives; after kill -9 it takes over with every acknowledged record', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's2-fence-'));
    dirs.push(dir);
    const basin = `fence-${process.pid}-${Date.now().toString(36)}`;
    const first = await spawnServer(['--local-root', dir]);
    servers.push(first);
    const created = await request(first.baseUrl, {
      method: 'POST',
      path: '/v1/basins',
      headers: { 'content-type': 'application/json' },
      body: JSON.stringify({ basin, config: { create_stream_on_append: true } }),
    });
    expect(created.status).toBe(201);
    const acked: string[] = [];
    for (let i = 0; i < 20; i++) {
      const res = await append(first.baseUrl, basin, `before-${i}`);
      expect(res.status).toBe(200);
      acked.push(`before-${i}`);
    }

    const files = await settledListing(dir);
    expect(files.some((name) => name.includes('.s2tmp.'))).toBe(false);
    const refused = spawnServer(['--local-root', dir]);
    await expect(refused).rejects.toThrow(/exited with 1 before listening/);
    const stderr = ((await refused.catch((error: Error) => error.message)) as string).split('\n');
    const errorLines = stderr.filter((line) => line.startsWith('error: '));
    expect(errorLines).toEqual([
      expect.stringMatching(
        new RegExp(`^error: root ${dir} is in use by another s2-lite server \\(pid ${first.process.pid} .*\\); stop it first$`),
      ),
    ]);
    expect(listing(dir)).toEqual(files);

    // The first one never noticed: it keeps acknowledging appends.
    const still = await append(first.baseUrl, basin, 'still-first');
    expect(still.status).toBe(200);
    acked.push('still-first');
    expect((await request(first.baseUrl, { path: '/health' })).status).toBe(200);

    await first.kill9();
    const second = await spawnServer(['--local-root', dir]);
    servers.push(second);
    expect(await bodies(second.baseUrl, basin)).toEqual(acked);
    const after = await append(second.baseUrl, basin, 'after');
    expect(after.status).toBe(200);
    expect(after.json().start.seq_num).toBe(acked.length);
  }, 90_000);
});
