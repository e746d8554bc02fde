/**
 * Proves that an `S2-Encryption-Key` carried by a unary read or append is wiped whatever ends
 * the request, including a refusal for a bad S2-Format header before the engine is reached.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S2Server } from '../../../src/api/server.js';
import { Engine } from '../../../src/engine/engine.js';
import { EncryptionKey } from '../../../src/engine/encryption/key.js';
import { openStreamLog } from '../../../src/storage/open.js';
import { request } from '../../support/http.js';

const key = Buffer.alloc(32, 0x61).toString('base64');
let server: S2Server;
let engine: Engine;
let baseUrl: string;

beforeAll(async () => {
  engine = new Engine(await openStreamLog({ kind: 'memory' }));
  engine.start();
  server = new S2Server({ engine, host: '127.0.0.1', port: 0, cors: false, logger: pino({ level: 'silent' }) });
  await server.start();
  baseUrl = `http://127.0.0.1:${server.port}`;
  const created = await request(baseUrl, {
    method: 'POST',
    path: '/v1/basins',
    headers: { 'content-type': 'application/json' },
    body: JSON.stringify({ basin: 'key-wipe', config: { create_stream_on_append: true, create_stream_on_read: true } }),
  });
  expect(created.status).toBe(201);
});

afterAll(async () => {
  await server.close(1000);
  await engine.close();
});

describe('unary records requests wipe the encryption key', () => {
  it.each([
    ['a read with a bad S2-Format', 'GET', 400],
    ['an append with a bad S2-Format', 'POST', 400],
    ['an append that succeeds', 'POST', 200],
    ['a read that succeeds', 'GET', 200],
  ] as const)('on %s', async (name, method, status) => {
    const wipe = vi.spyOn(EncryptionKey.prototype, 'wipe');
    try {
      const res = await request(baseUrl, {
        method,
        path: '/v1/streams/s/records?seq_num=0',
        headers: {
          's2-basin': 'key-wipe',
          's2-encryption-key': key,
          ...(status === 400 ? { 's2-format': 'nonsense' } : {}),
          ...(method === 'POST' ? { 'content-type': 'application/json' } : {}),
        },
        ...(method === 'POST' ? { body: JSON.stringify({ records: [{ body: 'x' }] }) } : {}),
      });
      expect(res.status, name).toBe(status);
      if (status === 400) expect(res.json().code).toBe('bad_header');
      expect(wipe).toHaveBeenCalledTimes(1);
    } finally {
      wipe.mockRestore();
    }
  });
});
