/**
 * Fencing: a second server started on the same store takes over. From then on the first one can
 * no longer append (its writes fail instead of being acknowledged) and reports unhealthy, and
 * every record the first one acknowledged is visible through the second.
 */
import { mkdtempSync, rmSync } from 'node:fs';
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

async function eventually(check: () => Promise<boolean>, timeoutMs: number): Promise<boolean> {
  const deadline = Date.now() + timeoutMs;
  while (Date.now() < deadline) {
    if (await check()) return true;
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
  return false;
}

describe('a second server on the same store', () => {
  it('fences the first: no more appends there, nothing acknowledged lost', async () => {
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

    const second = await spawnServer(['--local-root', dir]);
    servers.push(second);

    // The first server's next append must not be acknowledged.
    const late = await append(first.baseUrl, basin, 'from-the-zombie');
    expect(late.status).toBeGreaterThanOrEqual(500);
    expect(['unavailable', 'storage']).toContain(late.json().code);
    expect(await eventually(async () => (await request(first.baseUrl, { path: '/health' })).status === 503, 10_000)).toBe(
      true,
    );

    // The second sees everything the first acknowledged, and only that, then carries on.
    const read = await request(second.baseUrl, {
      path: '/v1/streams/events/records?seq_num=0',
      headers: { 's2-basin': basin },
    });
    expect(read.status).toBe(200);
    expect(read.json().records.map((r: { body: string }) => r.body)).toEqual(acked);
    const after = await append(second.baseUrl, basin, 'after');
    expect(after.status).toBe(200);
    expect(after.json().start.seq_num).toBe(acked.length);
  }, 60_000);
});
