/**
 * Proves a client's encryption key never reaches a log line, at trace level, whatever happens
 * to the request: success, a wrong key, an invalid, short or too long key, a missing key, and
 * an S2S append session.
 */
import { Writable } from 'node:stream';
import pino from 'pino';
import { AppendInput, AppendRecord, S2 } from '@s2-dev/streamstore';
import { describe, expect, it } from 'vitest';
import { S2Server } from '../../src/api/server.js';
import { Engine } from '../../src/engine/engine.js';
import { loggerRedaction } from '../../src/lite/options.js';
import { openStreamLog } from '../../src/storage/open.js';
import { request } from '../support/http.js';

describe('logs at trace level', () => {
  it('never contain the encryption key', async () => {
    const lines: string[] = [];
    const sink = new Writable({
      write(chunk, _encoding, done) {
        lines.push(String(chunk));
        done();
      },
    });
    const logger = pino({ level: 'trace', redact: loggerRedaction }, sink);
    const engine = new Engine(await openStreamLog({ kind: 'memory' }));
    engine.start();
    const server = new S2Server({ engine, host: '127.0.0.1', port: 0, cors: false, logger });
    await server.start();
    const baseUrl = `http://127.0.0.1:${server.port}`;
    const keyBytes = new Uint8Array(32).fill(0x61);
    const key = Buffer.from(keyBytes).toString('base64');
    const wrong = Buffer.alloc(32, 0x62).toString('base64');
    const short = Buffer.alloc(20, 0x63).toString('base64');
    const tooLong = `${key}QUFB`;
    try {
      const s2 = new S2({
        accessToken: 'ignored',
        endpoints: { account: baseUrl, basin: baseUrl },
        retry: { maxAttempts: 1 },
      });
      const basin = 'log-key-basin';
      await s2.basins.create({
        basin,
        config: { createStreamOnAppend: true, createStreamOnRead: true, streamCipher: 'aegis-256' },
      });
      const stream = s2.basin(basin).stream('s', { encryptionKey: keyBytes, forceTransport: 's2s' });
      await stream.append(AppendInput.create([AppendRecord.string({ body: 'logged?' })]));
      const session = await stream.appendSession();
      await (await session.submit(AppendInput.create([AppendRecord.string({ body: 'session' })]))).ack();
      await session.close();
      for (const header of [key, wrong, short, tooLong, ` ${key} `]) {
        const res = await request(baseUrl, {
          path: '/v1/streams/s/records?seq_num=0',
          headers: { 's2-basin': basin, 's2-encryption-key': header },
        });
        expect(res.status).toBe(header === key || header === ` ${key} ` ? 200 : 400);
        expect(res.text).not.toContain(header.trim());
      }
      const missing = await request(baseUrl, {
        path: '/v1/streams/s/records?seq_num=0',
        headers: { 's2-basin': basin },
      });
      expect(missing.status).toBe(400);
    } finally {
      await server.close(1000);
      await engine.close();
    }
    const all = lines.join('');
    expect(all).toContain('"level":30');
    for (const secret of [key, wrong, short, tooLong, Buffer.from(keyBytes).toString('hex')])
      expect(all).not.toContain(secret);
  });
});
