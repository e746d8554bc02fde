/**
 * The unary append path (api/v1/records.ts appendUnary, engine/append.ts with openForAppend and
 * admission inlined) wipes an `S2-Encryption-Key` exactly once whatever refuses the request:
 * malformed JSON, a missing basin or stream, a fencing token or match_seq_num mismatch, a body over
 * the limit; and unary reads alike for a missing stream and a bad query.
 */
import pino from 'pino';
import { afterAll, beforeAll, describe, expect, it, vi } from 'vitest';
import { S2Server } from '../../../src/api/server.js';
import { Engine } from '../../../src/engine/engine.js';
import { EncryptionKey } from '../../../src/engine/encryption/key.js';
import { openStreamLog } from '../../../src/storage/open.js';
import { request } from '../../support/http.js';

const key = Buffer.alloc(32, 0x62).toString('base64');
let server: S2Server;
let engine: Engine;
let baseUrl: string;

async function post(path: string, body: unknown, headers: Record<string, string> = {}) {
  return request(baseUrl, {
    method: 'POST',
    path,
    headers: { 'content-type': 'application/json', ...headers },
    body: typeof body === 'string' ? body : JSON.stringify(body),
  });
}

beforeAll(async () => {
  engine = new Engine(await openStreamLog({ kind: 'memory' }));
  engine.start();
  server = new S2Server({ engine, host: '127.0.0.1', port: 0, cors: false, logger: pino({ level: 'silent' }) });
  await server.start();
  baseUrl = `http://127.0.0.1:${server.port}`;
  expect((await post('/v1/basins', { basin: 'wipe-errors', config: {} })).status).toBe(201);
  const basin = { 's2-basin': 'wipe-errors' };
  expect((await post('/v1/streams', { stream: 'fenced' }, basin)).status).toBe(201);
  // A fence record (api.md: a command record, empty header name "fence") sets the token.
  const fence = { headers: [['', 'fence']], body: 'tok' };
  expect((await post('/v1/streams/fenced/records', { records: [fence] }, basin)).status).toBe(200);
});

afterAll(async () => {
  await server.close(1000);
  await engine.close();
});

const headers = { 's2-basin': 'wipe-errors', 's2-encryption-key': key };

describe('unary records requests refused after the key was read wipe it once', () => {
  it.each([
    ['malformed JSON', () => post('/v1/streams/fenced/records', '{"records": [', headers), 400],
    [
      'a missing basin',
      () => post('/v1/streams/s/records', { records: [{ body: 'x' }] }, { ...headers, 's2-basin': 'no-such-basin' }),
      404,
    ],
    [
      'a missing stream (no auto-creation)',
      () => post('/v1/streams/missing/records', { records: [{ body: 'x' }] }, headers),
      404,
    ],
    [
      'a fencing token mismatch',
      () => post('/v1/streams/fenced/records', { records: [{ body: 'x' }], fencing_token: 'other' }, headers),
      412,
    ],
    [
      'a match_seq_num mismatch',
      () => post('/v1/streams/fenced/records', { records: [{ body: 'x' }], match_seq_num: 99 }, headers),
      412,
    ],
    [
      'a body over the limit',
      () => post('/v1/streams/fenced/records', { records: [{ body: 'x'.repeat(2 * 1024 * 1024) }] }, headers),
      400,
    ], // bad_json: request body exceeds the limit
    [
      'a read of a missing stream',
      () => request(baseUrl, { method: 'GET', path: '/v1/streams/missing/records?seq_num=0', headers }),
      404,
    ],
  ] as const)('on %s', async (name, send, status) => {
    const wipe = vi.spyOn(EncryptionKey.prototype, 'wipe');
    try {
      const res = await send();
      expect(res.status, `${name}: ${res.text}`).toBe(status);
      expect(wipe).toHaveBeenCalledTimes(1);
    } finally {
      wipe.mockRestore();
    }
  });
});
