/**
 * Linearizability of a real server under faults: the history collector (`s2-lite verify collect`'s
 * engine, raw HTTP, 6 concurrent clients) runs against a server process that is killed with
 * SIGKILL and restarted (on local disk and on S3), against a server whose store is taken over by a
 * second server, and against an in-process server whose object store injects latency, 5xx, 409s
 * and lost responses. Every history must check linearizable, and each run must have seen the
 * faults (failed or indefinite outcomes), so the check is not vacuous.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { afterAll, describe, expect, it } from 'vitest';
import { FaultyObjectStore } from '../../src/objectstore/faulty.js';
import { MemoryObjectStore } from '../../src/objectstore/memory.js';
import { ChunkLog } from '../../src/storage/chunk-log.js';
import { seededRand } from '../../src/util/rand.js';
import { checkHistory, type CheckResult } from '../../src/verify/checker.js';
import { collect } from '../../src/verify/collect.js';
import { parseHistory } from '../../src/verify/history.js';
import { createTestBucket, s3TestConfig } from '../setup/s3-env.js';
import { spawnServer, startServer, type SpawnedServer } from '../support/server.js';

const cleanups: (() => Promise<void> | void)[] = [];
afterAll(async () => {
  for (const cleanup of cleanups.reverse()) await cleanup();
});

function freePort(): Promise<number> {
  return new Promise((resolve, reject) => {
    const server = net.createServer();
    server.listen(0, '127.0.0.1', () => {
      const { port } = server.address() as net.AddressInfo;
      server.close(() => resolve(port));
    });
    server.on('error', reject);
  });
}

const sleep = (ms: number) => new Promise<void>((resolve) => setTimeout(resolve, ms));

/** Runs the collector against `endpoint()` until `faults` has run its course; returns the verdict. */
async function collectAndCheck(endpoint: () => string, faults: () => Promise<void>): Promise<CheckResult> {
  const lines: string[] = [];
  const stop = new AbortController();
  const run = collect({
    target: {
      basinEndpoint: endpoint,
      accessToken: 'ignored',
      basin: `verify-basin-${process.pid}`,
      stream: 'history',
    },
    create: true,
    clients: 6,
    seed: 1,
    requestTimeoutMs: 5_000,
    thinkMs: [0, 20],
    signal: stop.signal,
    sink: (line) => lines.push(line),
  });
  try {
    await faults();
  } finally {
    stop.abort();
  }
  await run;
  return checkHistory(parseHistory(lines.join('\n')), { maxSteps: 5_000_000 });
}

function expectLinearizableUnderFaults(result: CheckResult): void {
  expect(result.summary + '\n' + (result.report ?? '')).toMatch(/^linearizable/);
  expect(result.stats.appendSuccesses).toBeGreaterThan(20);
  expect(result.stats.reads).toBeGreaterThan(3);
  // The faults were felt: some operations failed or ended in doubt.
  expect(result.stats.definiteFailures + result.stats.indefiniteFailures + result.stats.failedReads).toBeGreaterThan(0);
}

/** kill -9 the server twice mid-run, restarting it on the same port and store each time. */
async function crashRun(args: string[], env: NodeJS.ProcessEnv = {}): Promise<CheckResult> {
  const port = await freePort();
  const serve = () => spawnServer(['--port', String(port), ...args], env);
  let server: SpawnedServer = await serve();
  cleanups.push(() => server.stop(2_000).then(() => {}));
  let kills = 0;
  const result = await collectAndCheck(
    () => `http://127.0.0.1:${port}`,
    async () => {
      for (let i = 0; i < 2; i++) {
        await sleep(1_500);
        await server.kill9();
        kills++;
        await sleep(100);
        server = await serve();
      }
      await sleep(1_500);
    },
  );
  expect(kills).toBe(2);
  return result;
}

describe('histories of a real server under faults are linearizable', () => {
  it('kill -9 and restart on local disk', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's2-verify-crash-'));
    cleanups.push(() => rmSync(dir, { recursive: true, force: true }));
    expectLinearizableUnderFaults(await crashRun(['--local-root', dir]));
  }, 180_000);

  it('kill -9 and restart on S3 (radosgw)', async () => {
    const s3 = s3TestConfig();
    const { bucket, cleanup } = await createTestBucket();
    cleanups.push(cleanup);
    const result = await crashRun(['--bucket', bucket, '--path', 'verify'], {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    });
    expectLinearizableUnderFaults(result);
  }, 240_000);

  // On S3: a local root admits one server at a time (its root lock refuses the second).
  it('a second server takes over the store (S3); traffic moves to it; the first is killed', async () => {
    const s3 = s3TestConfig();
    const { bucket, cleanup } = await createTestBucket();
    cleanups.push(cleanup);
    const args = ['--bucket', bucket, '--path', 'takeover'];
    const env = {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    };
    const first = await spawnServer(args, env);
    cleanups.push(() => first.stop(2_000).then(() => {}));
    let current = first.baseUrl;
    const result = await collectAndCheck(
      () => current,
      async () => {
        await sleep(1_500);
        const second = await spawnServer(args, env);
        cleanups.push(() => second.stop(2_000).then(() => {}));
        current = second.baseUrl;
        await sleep(300);
        await first.kill9();
        await sleep(1_500);
      },
    );
    expectLinearizableUnderFaults(result);
  }, 180_000);

  it('an object store with latency, 5xx, 409 conflicts and lost responses', async () => {
    const store = new FaultyObjectStore(new MemoryObjectStore(), { rand: seededRand(17) });
    const log = await ChunkLog.open(store, { rand: seededRand(18), checkpointBytes: 16 * 1024, checkpointChunks: 20 });
    store.faults.add({ mode: 'latency', latencyMs: 15, probability: 0.3 });
    const fail = store.faults.add({ mode: 'fail', op: ['put', 'get', 'head', 'list'], probability: 0.05 });
    const conflict = store.faults.add({ mode: 'conflict', op: 'put', prefix: 'chunk/', probability: 0.05 });
    const lost = store.faults.add({ mode: 'lost-response', op: 'put', probability: 0.05 });
    const server = await startServer({ log });
    cleanups.push(() => server.stop());
    const result = await collectAndCheck(
      () => server.baseUrl,
      () => sleep(4_000),
    );
    expect(result.summary + '\n' + (result.report ?? '')).toMatch(/^linearizable/);
    expect(result.stats.appendSuccesses).toBeGreaterThan(20);
    expect(fail.fired).toBeGreaterThan(0);
    expect(conflict.fired).toBeGreaterThan(0);
    expect(lost.fired).toBeGreaterThan(0);
  }, 120_000);
});
