/**
 * Proves encrypted streams end to end through the official SDK (@s2-dev/streamstore 0.27,
 * `encryptionKey` per stream) and raw HTTP, for both ciphers: unary JSON and protobuf appends,
 * S2S append sessions, unary, SSE and S2S reads round trip; a missing key, an invalid key (bad
 * base64, wrong length, too long) are 400 bad_header; a wrong key is 400 decryption_failed on
 * every read transport (JSON body, SSE error event, S2S terminal frame); fence and trim commands
 * read back on an encrypted stream; check-tail needs no key; streams without a cipher ignore it.
 */
import { AppendInput, AppendRecord, EncryptionKey, S2, S2Error, type S2Stream } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { request, uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer;
let s2: S2;
const keyA = new Uint8Array(32).fill(0x42);
const keyB = new Uint8Array(32).fill(0x24);
const basins: Record<string, string> = {};

beforeAll(async () => {
  server = await startServer();
  s2 = new S2({
    accessToken: 'ignored',
    endpoints: { account: server.baseUrl, basin: server.baseUrl },
    retry: { maxAttempts: 1 },
  });
  for (const cipher of ['aegis-256', 'aes-256-gcm', 'none'] as const) {
    const basin = uniqueBasin(cipher === 'none' ? 'plain' : cipher.slice(0, 3));
    await s2.basins.create({
      basin,
      config: {
        createStreamOnAppend: true,
        createStreamOnRead: true,
        ...(cipher === 'none' ? {} : { streamCipher: cipher }),
      },
    });
    basins[cipher] = basin;
  }
});
afterAll(async () => {
  await server.stop();
});

let counter = 0;
function names(cipher: string): { basin: string; name: string } {
  counter += 1;
  return { basin: basins[cipher]!, name: `enc-${counter}` };
}

function open(
  at: { basin: string; name: string },
  key: Uint8Array | string | undefined,
  transport: 's2s' | 'fetch' = 'fetch',
): S2Stream {
  return s2
    .basin(at.basin)
    .stream(at.name, { forceTransport: transport, ...(key !== undefined ? { encryptionKey: key } : {}) });
}

async function failure(
  promise: Promise<unknown>,
): Promise<{ status: number; code: string | undefined; message: string }> {
  try {
    await promise;
  } catch (error) {
    if (error instanceof S2Error) return { status: error.status, code: error.code, message: error.message };
    throw error;
  }
  throw new Error('expected a failure');
}

async function drain<T>(iterable: Promise<AsyncIterable<T>>): Promise<T[]> {
  const out: T[] = [];
  for await (const item of await iterable) out.push(item);
  return out;
}

describe.each(['aegis-256', 'aes-256-gcm'] as const)('SDK on an %s stream', (cipher) => {
  it('unary JSON and protobuf appends round trip through unary reads, with commands', async () => {
    const at = names(cipher);
    const s = open(at, keyA);
    await s.append(AppendInput.create([AppendRecord.string({ body: 'hello', headers: [['k', 'v']] })]));
    const bytes = new Uint8Array([0, 0xff, 0x10, 0x80]);
    await s.append(
      AppendInput.create([AppendRecord.bytes({ body: bytes, headers: [[new Uint8Array([1]), new Uint8Array([2])]] })]),
    );
    await s.append(AppendInput.create([AppendRecord.fence('tok'), AppendRecord.trim(0)]));
    const json = await s.read({ start: { from: { seqNum: 0 } } });
    expect(json.records.map((r) => r.body)).toEqual(['hello', expect.any(String), 'tok', expect.any(String)]);
    expect(json.records[0]!.headers).toEqual([['k', 'v']]);
    expect(json.records[2]!.headers).toEqual([['', 'fence']]);
    const proto = await s.read({ start: { from: { seqNum: 1 } }, stop: { limits: { count: 1 } } }, { as: 'bytes' });
    expect([...proto.records[0]!.body]).toEqual([...bytes]);
    expect(proto.records[0]!.headers.map(([n, v]) => [[...n], [...v]])).toEqual([[[1], [2]]]);
    // The key as a base64 string works the same (EncryptionKey.from normalises both forms).
    const again = await open(at, EncryptionKey.from(keyA)).read({
      start: { from: { seqNum: 0 } },
      stop: { limits: { count: 1 } },
    });
    expect(again.records[0]!.body).toBe('hello');
    // Check-tail needs no key.
    expect((await open(at, undefined).checkTail()).tail.seqNum).toBe(4);
  });

  it.each(['s2s', 'fetch'] as const)(
    'sessions over %s round trip; a wrong key fails the read session',
    async (transport) => {
      const at = names(cipher);
      const s = open(at, keyA, transport);
      const session = await s.appendSession();
      const tickets = [];
      for (let i = 0; i < 10; i++)
        tickets.push(await session.submit(AppendInput.create([AppendRecord.string({ body: `r${i}` })])));
      await Promise.all(tickets.map((t) => t.ack()));
      await session.close();
      const records = await drain(s.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 10 } } }));
      expect(records.map((r) => r.body)).toEqual(Array.from({ length: 10 }, (_, i) => `r${i}`));
      const wrong = open(at, keyB, transport);
      const error = await failure(
        drain(wrong.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 10 } } })),
      );
      if (transport === 's2s') {
        expect(error).toMatchObject({ status: 400, code: 'decryption_failed' });
      } else {
        // The SDK turns every SSE error event into a retryable 503 carrying the event's data.
        expect(error.status).toBe(503);
        expect(JSON.parse(error.message)).toEqual({ code: 'decryption_failed', message: 'record decryption failed' });
      }
      const missing = open(at, undefined, transport);
      expect(await failure(drain(missing.readSession({ start: { from: { seqNum: 0 } } })))).toMatchObject({
        status: 400,
        code: 'bad_header',
      });
      expect(
        await failure(
          missing.appendSession().then(async (sess) => {
            const ticket = await sess.submit(AppendInput.create([AppendRecord.string({ body: 'x' })]));
            await ticket.ack();
          }),
        ),
      ).toMatchObject({ status: 400, code: 'bad_header' });
    },
  );

  it('a missing key on unary append and read is bad_header; a wrong key on a unary read is decryption_failed', async () => {
    const at = names(cipher);
    await open(at, keyA).append(AppendInput.create([AppendRecord.string({ body: 'x' })]));
    const missing = open(at, undefined);
    expect(await failure(missing.append(AppendInput.create([AppendRecord.string({ body: 'y' })])))).toMatchObject({
      status: 400,
      code: 'bad_header',
    });
    expect(await failure(missing.read({ start: { from: { seqNum: 0 } } }))).toMatchObject({
      status: 400,
      code: 'bad_header',
    });
    expect(await failure(open(at, keyB).read({ start: { from: { seqNum: 0 } } }))).toMatchObject({
      status: 400,
      code: 'decryption_failed',
    });
    expect((await open(at, undefined).checkTail()).tail.seqNum).toBe(1);
  });

  it('raw HTTP: invalid keys are bad_header naming the problem, never echoing the key', async () => {
    const at = names(cipher);
    const post = (key: string) =>
      request(server.baseUrl, {
        method: 'POST',
        path: `/v1/streams/${at.name}/records`,
        headers: { 's2-basin': at.basin, 'content-type': 'application/json', 's2-encryption-key': key },
        body: JSON.stringify({ records: [{ body: 'x' }] }),
      });
    const badBase64 = await post('not*base64!');
    expect(badBase64.status).toBe(400);
    expect(badBase64.json()).toEqual({
      code: 'bad_header',
      message: `invalid encryption key for stream cipher '${cipher}': invalid base64`,
    });
    const short = Buffer.alloc(31, 7).toString('base64');
    const shortResponse = await post(short);
    expect(shortResponse.json()).toEqual({
      code: 'bad_header',
      message: `invalid encryption key length for stream cipher '${cipher}': 31`,
    });
    const long = await post('A'.repeat(45));
    expect(long.status).toBe(400);
    expect(long.json().code).toBe('bad_header');
    expect(long.text).not.toContain('AAAA');
    const blank = await post('   ');
    expect(blank.json().code).toBe('bad_header');
    // Surrounding whitespace is trimmed.
    const padded = await post(`  ${Buffer.from(keyA).toString('base64')} `);
    expect(padded.status).toBe(200);
    expect(shortResponse.text).not.toContain(short);
  });

  it('raw HTTP: a wrong key in SSE is an error event', async () => {
    const at = names(cipher);
    await open(at, keyA).append(AppendInput.create([AppendRecord.string({ body: 'sse' })]));
    const sse = await request(server.baseUrl, {
      path: `/v1/streams/${at.name}/records?seq_num=0&count=1`,
      headers: {
        's2-basin': at.basin,
        accept: 'text/event-stream',
        's2-encryption-key': Buffer.from(keyB).toString('base64'),
      },
    });
    expect(sse.status).toBe(200);
    expect(sse.text).toMatch(/event: error\ndata: .*decryption_failed/);
    expect(sse.text).not.toContain('sse"');
  });
});

describe('SDK on a stream without a cipher', () => {
  it('ignores a key, even one that is not valid base64', async () => {
    const at = names('none');
    await open(at, keyA).append(AppendInput.create([AppendRecord.string({ body: 'plain' })]));
    const read = await open(at, keyB).read({ start: { from: { seqNum: 0 } } });
    expect(read.records.map((r) => r.body)).toEqual(['plain']);
    const raw = await request(server.baseUrl, {
      path: `/v1/streams/${at.name}/records?seq_num=0`,
      headers: { 's2-basin': at.basin, 's2-encryption-key': '!!!!' },
    });
    expect(raw.status).toBe(200);
    expect(raw.json().records[0].body).toBe('plain');
  });
});
