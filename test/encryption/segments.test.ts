/**
 * Encrypted records checkpointed into segment format 2 blocks (sealed bodies in the ReadBatch wire
 * layout, local disk) read back as the plaintext through the official SDK's unary protobuf, S2S
 * and SSE reads, from segments and across into the memory tail; byte limits count the plaintext's
 * metered sizes as they do for the memory tail (the block index reads them from the sealed
 * records); a wrong key is refused on segment data.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import os from 'node:os';
import path from 'node:path';
import { AppendInput, AppendRecord, S2, S2Error } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import type { ChunkLog } from '../../src/storage/chunk-log.js';
import { openStreamLog } from '../../src/storage/open.js';
import { uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';
import { seededBytes } from '../support/bytes.js';
import { sdkClient } from '../support/sdk.js';

const key = new Uint8Array(32).fill(0x5a);
const wrongKey = new Uint8Array(32).fill(0xa5);
const enc = (text: string) => new TextEncoder().encode(text);

const bytesOf = seededBytes;

interface Plain {
  headers: [Uint8Array, Uint8Array][];
  body: Uint8Array;
}

/** Metered size (api.md 6.4) of the plaintext. */
const metered = (r: Plain) =>
  8 + 2 * r.headers.length + r.headers.reduce((n, [k, v]) => n + k.length + v.length, 0) + r.body.length;

const records: Plain[] = [0, 1, 100, 5000, 9000, 70_000, 3, 0, 2000, 12_345].map((size, i) => ({
  headers: i % 3 === 0 ? [] : [[enc(`h${i}`), bytesOf(i, i)]],
  body: bytesOf(size, 100 + i),
}));
const checkpointedCount = 7;

let dir: string;
let log: ChunkLog;
let server: TestServer;
let s2: S2;
const basins: Record<string, string> = {};

beforeAll(async () => {
  dir = mkdtempSync(path.join(os.tmpdir(), 's2-enc-segments-'));
  log = await openStreamLog({ kind: 'local', root: dir }, { chunkLog: { blockBytes: 8 * 1024 } });
  server = await startServer({ log });
  s2 = sdkClient(server.baseUrl);
  for (const cipher of ['aegis-256', 'aes-256-gcm'] as const) {
    const basin = uniqueBasin(`seg-${cipher.slice(0, 3)}`);
    await s2.basins.create({
      basin,
      config: { createStreamOnAppend: true, createStreamOnRead: true, streamCipher: cipher },
    });
    basins[cipher] = basin;
    const stream = s2.basin(basin).stream('sealed', { encryptionKey: key });
    const input = (from: number, to: number) =>
      AppendInput.create(records.slice(from, to).map((r) => AppendRecord.bytes({ body: r.body, headers: r.headers })));
    await stream.append(input(0, 4));
    await stream.append(input(4, checkpointedCount));
  }
  await log.checkpoint();
  for (const basin of Object.values(basins)) {
    await s2
      .basin(basin)
      .stream('sealed', { encryptionKey: key })
      .append(
        AppendInput.create(
          records.slice(checkpointedCount).map((r) => AppendRecord.bytes({ body: r.body, headers: r.headers })),
        ),
      );
  }
}, 120_000);

afterAll(async () => {
  await server?.stop();
  rmSync(dir, { recursive: true, force: true });
});

const hex = (b: Uint8Array) => Buffer.from(b).toString('hex');
const shape = (r: { headers: readonly (readonly [Uint8Array, Uint8Array])[]; body: Uint8Array }) =>
  `${r.headers.map(([k, v]) => `${hex(k)}=${hex(v)}`).join(',')} ${hex(r.body)}`;

describe.each(['aegis-256', 'aes-256-gcm'] as const)('segment format 2 on an %s stream', (cipher) => {
  it('reads the plaintext back on every transport, from segments into the memory tail', async () => {
    for (const transport of ['fetch', 's2s'] as const) {
      const stream = s2.basin(basins[cipher]!).stream('sealed', { encryptionKey: key, forceTransport: transport });
      for (const start of [0, 5, checkpointedCount]) {
        const want = records.slice(start).map(shape);
        const batch = await stream.read({ start: { from: { seqNum: start } } }, { as: 'bytes' });
        expect(batch.records.map(shape), `unary from ${start}`).toEqual(want);
        const session = await stream.readSession(
          { start: { from: { seqNum: start } }, stop: { limits: { count: records.length - start } } },
          { as: 'bytes' },
        );
        const got: string[] = [];
        for await (const r of session) got.push(shape(r));
        expect(got, `${transport} session from ${start}`).toEqual(want);
      }
    }
  }, 60_000);

  it('limits reads by the plaintext metered bytes', async () => {
    const stream = s2.basin(basins[cipher]!).stream('sealed', { encryptionKey: key });
    for (const start of [0, 2, 4]) {
      for (let take = 1; start + take <= checkpointedCount; take++) {
        const bytes = records.slice(start, start + take).reduce((n, r) => n + metered(r), 0);
        const batch = await stream.read(
          { start: { from: { seqNum: start } }, stop: { limits: { bytes } } },
          { as: 'bytes' },
        );
        expect(batch.records.length, `from ${start}, ${bytes} bytes`).toBe(take);
      }
    }
  }, 60_000);

  it('refuses a wrong key on segment data', async () => {
    const stream = s2.basin(basins[cipher]!).stream('sealed', { encryptionKey: wrongKey });
    const error = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 2 } } }).then(
      () => null,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(S2Error);
    expect((error as S2Error).code).toBe('decryption_failed');
  });
});
