/**
 * Durability under a real crash: a server process on local disk (ten times in a row on one root)
 * and on S3 receives sustained pipelined appends and is killed with SIGKILL mid-stream. After each
 * restart on the same store,
 * every acknowledged record must be present exactly once, in order, with the seq_num and
 * timestamp its acknowledgement reported. Records that were never acknowledged may or may not be
 * there, but nothing else may be.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import http from 'node:http';
import { afterAll, describe, expect, it } from 'vitest';
import { s3TestConfig, createTestBucket } from '../setup/s3-env.js';
import { spawnServer, type SpawnedServer } from '../support/server.js';

interface Ack {
  body: string;
  seqNum: number;
  timestamp: number;
}

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });

function post(baseUrl: string, path: string, headers: Record<string, string>, body: string): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const req = http.request(new URL(path, baseUrl), { method: 'POST', agent, headers: { ...headers, 'content-length': Buffer.byteLength(body) } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

function get(baseUrl: string, path: string, headers: Record<string, string>): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    http
      .get(new URL(path, baseUrl), { agent, headers }, (res) => {
        let text = '';
        res.on('data', (chunk) => (text += chunk));
        res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      })
      .on('error', reject);
  });
}

/** Appends one record per request with `inFlight` requests outstanding until the server dies. */
async function appendUntilKilled(
  server: SpawnedServer,
  basin: string,
  stream: string,
  inFlight: number,
  killAfterAcks: number,
  bodyPrefix: string,
) {
  const acks: Ack[] = [];
  let next = 0;
  let dead = false;
  const headers = { 's2-basin': basin, 'content-type': 'application/json' };
  const worker = async () => {
    while (!dead) {
      const body = `${bodyPrefix}-${next++}`;
      try {
        const res = await post(server.baseUrl, `/v1/streams/${stream}/records`, headers, JSON.stringify({ records: [{ body }] }));
        if (res.status !== 200) continue;
        const ack = JSON.parse(res.text);
        acks.push({ body, seqNum: ack.start.seq_num, timestamp: ack.start.timestamp });
        if (acks.length === killAfterAcks) {
          dead = true;
          await server.kill9();
        }
      } catch {
        dead = true; // connection refused or reset: the server is gone
      }
    }
  };
  await Promise.all(Array.from({ length: inFlight }, worker));
  return acks;
}

async function readAll(baseUrl: string, basin: string, stream: string) {
  const records: { seq_num: number; timestamp: number; body: string }[] = [];
  for (;;) {
    const res = await get(baseUrl, `/v1/streams/${stream}/records?seq_num=${records.length}&count=1000`, { 's2-basin': basin });
    if (res.status === 416) break;
    expect(res.status).toBe(200);
    const batch = JSON.parse(res.text).records;
    if (batch.length === 0) break;
    records.push(...batch);
  }
  return records;
}

/** Every acknowledged record is present exactly once, with its seq_num, timestamp and body. */
async function verify(baseUrl: string, basin: string, stream: string, acks: Ack[], round: number) {
  const records = await readAll(baseUrl, basin, stream);
  records.forEach((record, i) => expect(record.seq_num, `round ${round}`).toBe(i));
  const bodies = records.map((r) => r.body);
  expect(new Set(bodies).size, `round ${round}: a record is there twice`).toBe(bodies.length);
  const bySeq = new Map(records.map((r) => [r.seq_num, r]));
  for (const ack of acks) {
    const record = bySeq.get(ack.seqNum);
    expect(record, `round ${round}: acknowledged seq_num ${ack.seqNum} is missing`).toBeDefined();
    expect(record!.body, `round ${round}: seq_num ${ack.seqNum}`).toBe(ack.body);
    expect(record!.timestamp, `round ${round}: seq_num ${ack.seqNum}`).toBe(ack.timestamp);
  }
}

/**
 * `rounds` times: appends until the server is killed (after a different number of
 * acknowledgements each round), restarts it on the same store and checks every record
 * acknowledged in any round so far; the restarted server takes the next round's appends.
 */
async function crashAndVerify(args: string[], env: NodeJS.ProcessEnv = {}, rounds = 1) {
  const basin = `crash-${process.pid}-${Date.now().toString(36)}`;
  const stream = 'acked';
  let server = await spawnServer(args, env);
  const created = await post(server.baseUrl, '/v1/basins', { 'content-type': 'application/json' }, JSON.stringify({ basin, config: { create_stream_on_append: true } }));
  expect(created.status).toBe(201);
  const acks: Ack[] = [];
  for (let round = 0; round < rounds; round++) {
    const killAfter = 150 + ((round * 97) % 250);
    const acked = await appendUntilKilled(server, basin, stream, 24, killAfter, `round${round}`);
    expect(acked.length).toBeGreaterThanOrEqual(killAfter);
    acks.push(...acked);
    server = await spawnServer(args, env);
    try {
      await verify(server.baseUrl, basin, stream, acks, round);
    } catch (error) {
      await server.stop();
      throw error;
    }
  }
  await server.stop();
}

const dirs: string[] = [];
const cleanups: (() => Promise<void>)[] = [];
afterAll(async () => {
  agent.destroy();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
  for (const cleanup of cleanups) await cleanup();
});

describe('kill -9 under pipelined appends', () => {
  it('loses no acknowledged record on local disk, over ten crashes', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's2-crash-'));
    dirs.push(dir);
    await crashAndVerify(['--local-root', dir], {}, 10);
  }, 240_000);

  it('loses no acknowledged record on S3', async () => {
    const s3 = s3TestConfig();
    const { bucket, cleanup } = await createTestBucket();
    cleanups.push(cleanup);
    await crashAndVerify(['--bucket', bucket, '--path', 'crash'], {
      AWS_ENDPOINT_URL_S3: s3.endpoint,
      AWS_ACCESS_KEY_ID: s3.accessKeyId,
      AWS_SECRET_ACCESS_KEY: s3.secretAccessKey,
      AWS_REGION: s3.region,
    });
  }, 180_000);
});
