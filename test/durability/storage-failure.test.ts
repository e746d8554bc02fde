/**
 * Storage that fails while serving: a full disk (a fatal put error) or a store that stays
 * unreachable past the retry budget. The append in flight fails with a clear 500 `storage` error,
 * the server reports unhealthy (/health 503) and acknowledges nothing more, and every record it
 * did acknowledge is still there when the store is opened again. The server runs in this process
 * on the real local-disk store, wrapped by FaultyObjectStore to inject the failure.
 */
import { mkdtemp, rm } from 'node:fs/promises';
import os from 'node:os';
import path from 'node:path';
import { afterAll, afterEach, describe, expect, it } from 'vitest';
import { FaultyObjectStore } from '../../src/objectstore/faulty.js';
import { LocalFsObjectStore } from '../../src/objectstore/local-fs.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { systemRand } from '../../src/util/rand.js';
import { closeHttp2Sessions, request, uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';

const dirs: string[] = [];
const servers: TestServer[] = [];
afterEach(async () => {
  for (const server of servers.splice(0)) await server.stop();
});
afterAll(async () => {
  closeHttp2Sessions();
  for (const dir of dirs) await rm(dir, { recursive: true, force: true });
});

async function serveOnFaultyDisk(options: { storeRetryTimeoutMs?: number } = {}) {
  const dir = await mkdtemp(path.join(os.tmpdir(), 's2-storage-failure-'));
  dirs.push(dir);
  const disk = new LocalFsObjectStore(dir);
  await disk.init();
  const store = new FaultyObjectStore(disk, { rand: systemRand });
  const log = await ChunkLog.open(store, options);
  const server = await startServer({ log });
  servers.push(server);
  const basin = uniqueBasin('failing');
  const created = await request(server.baseUrl, {
    method: 'POST',
    path: '/v1/basins',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ basin, config: { create_stream_on_append: true } }),
  });
  expect(created.status).toBe(201);
  const append = (body: string) =>
    request(server.baseUrl, {
      method: 'POST',
      path: '/v1/streams/events/records',
      headers: { 's2-basin': basin, 'content-type': 'application/json' },
      body: JSON.stringify({ records: [{ body }] }),
    });
  const health = () => request(server.baseUrl, { path: '/health' });
  return { dir, store, basin, append, health };
}

/** Opens the directory afresh (as a restarted server would) and returns the stream's bodies. */
async function bodiesOnDisk(dir: string): Promise<string[]> {
  const log = await ChunkLog.open(new LocalFsObjectStore(dir));
  const server = await startServer({ log });
  servers.push(server);
  const basin = log.recovered().streams.find((s) => s.name === 'events')!.basin;
  const read = await request(server.baseUrl, {
    path: '/v1/streams/events/records?seq_num=0',
    headers: { 's2-basin': basin },
  });
  expect(read.status).toBe(200);
  return read.json().records.map((r: { body: string }) => r.body);
}

describe('storage failing under a running server', () => {
  it('a full disk fails the append with a 500 storage error and makes the server unhealthy', async () => {
    const { dir, store, append, health } = await serveOnFaultyDisk();
    for (const body of ['one', 'two']) expect((await append(body)).status).toBe(200);
    expect((await health()).status).toBe(200);

    const full = store.faults.add({ op: 'put', prefix: 'chunk/', mode: 'fatal' });
    const failed = await append('three');
    expect(full.fired).toBe(1);
    expect(failed.status).toBe(500);
    expect(failed.json()).toMatchObject({
      code: 'storage',
      message: /could not be made durable.*injected: fatal error/,
    });
    const unhealthy = await health();
    expect(unhealthy.status).toBe(503);
    expect(unhealthy.text).toMatch(/storage failure: chunk \d+ could not be written/);

    // Even once the disk has room again, this log acknowledges nothing more: a restart must fence.
    full.remove();
    expect((await append('four')).status).toBeGreaterThanOrEqual(500);
    expect(await bodiesOnDisk(dir)).toEqual(['one', 'two']);
  });

  it('a store that stays unreachable past the retry budget: 500 storage, unhealthy, nothing lost', async () => {
    const { dir, store, append, health } = await serveOnFaultyDisk({ storeRetryTimeoutMs: 300 });
    expect((await append('one')).status).toBe(200);
    store.faults.add({ op: ['put', 'head'], prefix: 'chunk/', mode: 'fail' });
    const failed = await append('two');
    expect(failed.status).toBe(500);
    expect(failed.json()).toMatchObject({ code: 'storage', message: /kept failing: injected: 503/ });
    expect((await health()).status).toBe(503);
    store.faults.clear();
    expect(await bodiesOnDisk(dir)).toEqual(['one']);
  });
});
