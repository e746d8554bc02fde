/**
 * Proves encryption at rest survives a real crash on local disk, for both ciphers: a server
 * process (logging at trace level) takes pipelined appends with a key on an encrypted stream
 * and is killed with SIGKILL; after a restart every acknowledged record reads back with the
 * key, a wrong key is refused, the plaintext appears in no file under the root (raw or inside
 * any zstd frame), while a plain control stream's records do, and the key's value appears in no
 * log line of either process.
 */
import { mkdtempSync, readdirSync, readFileSync, rmSync, statSync } from 'node:fs';
import http from 'node:http';
import os from 'node:os';
import path from 'node:path';
import { decompress } from 'zstd-napi';
import { afterAll, describe, expect, it } from 'vitest';
import { spawnServer, type SpawnedServer } from '../support/server.js';

const agent = new http.Agent({ keepAlive: true, maxSockets: 32 });
const key = Buffer.alloc(32, 0x5a).toString('base64');
const wrongKey = Buffer.alloc(32, 0x24).toString('base64');

function call(
  baseUrl: string,
  method: string,
  urlPath: string,
  headers: Record<string, string>,
  body?: string,
): Promise<{ status: number; text: string }> {
  return new Promise((resolve, reject) => {
    const extra = body === undefined ? {} : { 'content-length': String(Buffer.byteLength(body)) };
    const req = http.request(new URL(urlPath, baseUrl), { method, agent, headers: { ...headers, ...extra } }, (res) => {
      let text = '';
      res.on('data', (chunk) => (text += chunk));
      res.on('end', () => resolve({ status: res.statusCode ?? 0, text }));
      res.on('error', reject);
    });
    req.on('error', reject);
    req.end(body);
  });
}

/** Every byte under `dir`, plus the decompressed content of every zstd frame found in a file. */
function storedBytes(dir: string): Buffer {
  const parts: Buffer[] = [];
  const visit = (p: string) => {
    if (statSync(p).isDirectory()) return readdirSync(p).forEach((name) => visit(path.join(p, name)));
    const data = readFileSync(p);
    parts.push(data);
    for (let at = data.indexOf(zstdMagic); at >= 0; at = data.indexOf(zstdMagic, at + 1)) {
      try {
        parts.push(decompress(data.subarray(at)));
      } catch {
        // not a frame start
      }
    }
  };
  visit(dir);
  return Buffer.concat(parts);
}
const zstdMagic = Buffer.from([0x28, 0xb5, 0x2f, 0xfd]);

async function appendUntilKilled(server: SpawnedServer, basin: string, stream: string) {
  const acks: { body: string; seqNum: number }[] = [];
  let next = 0;
  let dead = false;
  const headers = { 's2-basin': basin, 'content-type': 'application/json', 's2-encryption-key': key };
  const worker = async () => {
    while (!dead) {
      const body = `secret-record-${next++}`;
      try {
        const res = await call(
          server.baseUrl,
          'POST',
          `/v1/streams/${stream}/records`,
          headers,
          JSON.stringify({ records: [{ body }] }),
        );
        if (res.status !== 200) continue;
        acks.push({ body, seqNum: JSON.parse(res.text).start.seq_num });
        if (acks.length === 200) {
          dead = true;
          await server.kill9();
        }
      } catch {
        dead = true;
      }
    }
  };
  await Promise.all(Array.from({ length: 16 }, worker));
  return acks;
}

const dirs: string[] = [];
afterAll(() => {
  agent.destroy();
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

describe.each(['aegis-256', 'aes-256-gcm'] as const)('kill -9 on an %s stream on local disk', (cipher) => {
  it('every acknowledged record reads back with the key; no plaintext on disk; no key in logs', async () => {
    const dir = mkdtempSync(path.join(os.tmpdir(), 's2-enc-crash-'));
    dirs.push(dir);
    const args = ['--local-root', dir, '--log-level', 'trace'];
    const basin = `enc-crash-${cipher.slice(0, 3)}-${process.pid}`;
    const plainBasin = `${basin}-plain`;
    let server = await spawnServer(args);
    const json = { 'content-type': 'application/json' };
    const config = { create_stream_on_append: true, stream_cipher: cipher };
    expect((await call(server.baseUrl, 'POST', '/v1/basins', json, JSON.stringify({ basin, config }))).status).toBe(
      201,
    );
    const plainConfig = { create_stream_on_append: true };
    const plainCreated = await call(
      server.baseUrl,
      'POST',
      '/v1/basins',
      json,
      JSON.stringify({ basin: plainBasin, config: plainConfig }),
    );
    expect(plainCreated.status).toBe(201);
    const control = await call(
      server.baseUrl,
      'POST',
      '/v1/streams/control/records',
      { ...json, 's2-basin': plainBasin, 's2-encryption-key': key },
      JSON.stringify({ records: [{ body: 'visible-control-record' }] }),
    );
    expect(control.status).toBe(200);
    const acks = await appendUntilKilled(server, basin, 'acked');
    const firstLogs = server.stdout() + server.stderr();

    server = await spawnServer(args);
    try {
      const headers = { 's2-basin': basin, 's2-encryption-key': key };
      const records: { seq_num: number; body: string }[] = [];
      for (;;) {
        const res = await call(
          server.baseUrl,
          'GET',
          `/v1/streams/acked/records?seq_num=${records.length}&count=1000`,
          headers,
        );
        if (res.status === 416) break;
        expect(res.status).toBe(200);
        const batch = JSON.parse(res.text).records;
        if (batch.length === 0) break;
        records.push(...batch);
      }
      records.forEach((record, i) => expect(record.seq_num).toBe(i));
      const bySeq = new Map(records.map((r) => [r.seq_num, r.body]));
      for (const ack of acks) expect(bySeq.get(ack.seqNum), `acknowledged seq_num ${ack.seqNum}`).toBe(ack.body);

      const wrong = await call(server.baseUrl, 'GET', '/v1/streams/acked/records?seq_num=0', {
        ...headers,
        's2-encryption-key': wrongKey,
      });
      expect(wrong.status).toBe(400);
      expect(JSON.parse(wrong.text).code).toBe('decryption_failed');
    } finally {
      await server.stop();
    }
    const onDisk = storedBytes(dir);
    expect(onDisk.includes('visible-control-record')).toBe(true);
    expect(onDisk.includes('secret-record-')).toBe(false);
    const logs = firstLogs + server.stdout() + server.stderr();
    expect(logs).toContain('"msg":"request"'); // request lines were written (nothing logs below info yet)
    expect(logs).not.toContain(key);
    expect(logs).not.toContain(wrongKey);
  }, 120_000);
});
