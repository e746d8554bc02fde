/**
 * Streaming sessions through the official SDK (@s2-dev/streamstore 0.27) over both of its
 * transports, chosen per stream with `forceTransport`:
 * - `s2s`: append and read sessions as S2S frames over HTTP/2 (h2c with prior knowledge for an
 *   http:// endpoint), with `Accept-Encoding` per the client's `compression`;
 * - `fetch`: read sessions over SSE (`Accept: text/event-stream`, `s2-format: base64` for bytes),
 *   append sessions as a single-flight sequence of unary appends.
 * Retries are off, so every server error surfaces as is.
 */
import {
  AppendInput,
  AppendRecord,
  RangeNotSatisfiableError,
  S2,
  S2Error,
  SeqNumMismatchError,
  type S2Stream,
} from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { streamingSessions } from '../../src/api/v1/sessions.js';
import type { Engine } from '../../src/engine/engine.js';
import { uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';
import { sdkClient } from '../support/sdk.js';

type Transport = 's2s' | 'fetch';

let server: TestServer;
let s2: S2;
let gzipS2: S2;
let basin: string;

const client = (compression: 'none' | 'gzip'): S2 => sdkClient(server.baseUrl, compression);

beforeAll(async () => {
  server = await startServer();
  s2 = client('none');
  gzipS2 = client('gzip');
  basin = uniqueBasin('sdk-sess');
  await s2.basins.create({ basin, config: { createStreamOnAppend: true, createStreamOnRead: true } });
});
afterAll(async () => {
  await server.stop();
});

let counter = 0;
function stream(transport: Transport, via: S2 = s2): S2Stream {
  counter += 1;
  return via.basin(basin).stream(`sdk-session-${counter}`, { forceTransport: transport });
}

function batch(...bodies: string[]): AppendInput {
  return AppendInput.create(bodies.map((body) => AppendRecord.string({ body })));
}

describe.each<Transport>(['s2s', 'fetch'])('SDK sessions over %s', (transport) => {
  it('an append session acks every batch in order; a bounded read session returns them all', async () => {
    const s = stream(transport);
    const session = await s.appendSession();
    const tickets = [];
    for (let i = 0; i < 20; i++) tickets.push(await session.submit(batch(`${i}a`, `${i}b`)));
    const acks = await Promise.all(tickets.map((t) => t.ack()));
    expect(acks.map((a) => [a.start.seqNum, a.end.seqNum])).toEqual(
      Array.from({ length: 20 }, (_, i) => [2 * i, 2 * i + 2]),
    );
    await session.close();
    const read = await s.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 40 } } });
    const bodies: string[] = [];
    for await (const record of read) bodies.push(record.body);
    expect(bodies).toEqual(Array.from({ length: 20 }, (_, i) => [`${i}a`, `${i}b`]).flat());
  });

  it('a producer and a concurrent follower: the follower sees every record exactly once, in order', async () => {
    const s = stream(transport);
    const total = 300;
    const follower = await s.readSession({
      start: { from: { seqNum: 0 } },
      stop: { limits: { count: total }, waitSecs: 30 },
    });
    const following = (async () => {
      const seen: [number, string][] = [];
      for await (const record of follower) seen.push([record.seqNum, record.body]);
      return seen;
    })();
    const session = await s.appendSession();
    const tickets = [];
    for (let i = 0; i < total / 3; i++)
      tickets.push(await session.submit(batch(`${3 * i}`, `${3 * i + 1}`, `${3 * i + 2}`)));
    await tickets[0]!.ack();
    // Both sessions are served as streaming sessions: the follower (S2S or SSE) and, over s2s, the appender.
    expect(streamingSessions(server.engine as Engine).slots.inUse).toBeGreaterThanOrEqual(transport === 's2s' ? 2 : 1);
    await Promise.all(tickets.map((t) => t.ack()));
    await session.close();
    const seen = await following;
    expect(seen).toEqual(Array.from({ length: total }, (_, i) => [i, `${i}`]));
  });

  it('many concurrent sessions on one stream: every reader sees the same complete order', async () => {
    const s = stream(transport);
    const writers = 4;
    const perWriter = 30;
    const total = writers * perWriter;
    const readers = await Promise.all(
      Array.from({ length: 10 }, () =>
        s.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: total }, waitSecs: 30 } }),
      ),
    );
    const reading = readers.map(async (reader) => {
      const bodies: string[] = [];
      for await (const record of reader) {
        expect(record.seqNum).toBe(bodies.length);
        bodies.push(record.body);
      }
      return bodies;
    });
    await Promise.all(
      Array.from({ length: writers }, async (_, w) => {
        const session = await s.appendSession();
        const tickets = [];
        for (let i = 0; i < perWriter; i++) tickets.push(await session.submit(batch(`w${w}-${i}`)));
        await Promise.all(tickets.map((t) => t.ack()));
        await session.close();
      }),
    );
    const seen = await Promise.all(reading);
    expect(seen[0]).toHaveLength(total);
    for (let w = 0; w < writers; w++) {
      expect(seen[0]!.filter((b) => b.startsWith(`w${w}-`))).toEqual(
        Array.from({ length: perWriter }, (_, i) => `w${w}-${i}`),
      );
    }
    for (const bodies of seen) expect(bodies).toEqual(seen[0]);
  });

  it('reads bytes exactly with as: "bytes"', async () => {
    const s = stream(transport);
    const body = new Uint8Array([0, 0xff, 0xfe, 0x80, 10, 13]);
    await s.append(
      AppendInput.create([AppendRecord.bytes({ body, headers: [[new Uint8Array([1]), new Uint8Array([0xc3])]] })]),
    );
    const read = await s.readSession(
      { start: { from: { seqNum: 0 } }, stop: { limits: { count: 1 } } },
      { as: 'bytes' },
    );
    const records = [];
    for await (const record of read) records.push(record);
    expect(records).toHaveLength(1);
    expect([...records[0]!.body]).toEqual([...body]);
    expect(records[0]!.headers.map(([n, v]) => [[...n], [...v]])).toEqual([[[1], [0xc3]]]);
  });

  it('surfaces a match_seq_num failure in a session as SeqNumMismatchError; later batches are not applied', async () => {
    const s = stream(transport);
    await s.append(batch('existing'));
    const session = await s.appendSession();
    const bad = await session.submit(AppendInput.create([AppendRecord.string({ body: 'x' })], { matchSeqNum: 0 }));
    const error = await bad.ack().then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(SeqNumMismatchError);
    expect((error as SeqNumMismatchError).expectedSeqNum).toBe(1);
    await session.close().catch(() => {});
    expect((await s.checkTail()).tail.seqNum).toBe(1);
  });

  it('rejects opening a read session beyond the tail with RangeNotSatisfiableError, and a missing basin with 404', async () => {
    const s = stream(transport);
    await s.append(batch('one'));
    const beyond = s.readSession({ start: { from: { seqNum: 5 } }, stop: { limits: { count: 1 } } });
    await expect(drain(beyond)).rejects.toBeInstanceOf(RangeNotSatisfiableError);
    const missing = s2.basin('no-such-basin-for-sdk').stream('x', { forceTransport: transport });
    const error = await drain(missing.readSession({ start: { from: { seqNum: 0 } } })).then(
      () => undefined,
      (e: unknown) => e,
    );
    expect(error).toBeInstanceOf(S2Error);
    expect((error as S2Error).status).toBe(404);
  });
});

describe('SDK s2s sessions with gzip compression', () => {
  it('round-trips large records compressed in both directions', async () => {
    const s = stream('s2s', gzipS2);
    const body = (i: number) => `${i}:`.padEnd(50_000, 'compressible ');
    const session = await s.appendSession();
    const tickets = [];
    for (let i = 0; i < 10; i++) tickets.push(await session.submit(batch(body(i))));
    await Promise.all(tickets.map((t) => t.ack()));
    await session.close();
    const read = await s.readSession({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 10 } } });
    const bodies: string[] = [];
    for await (const record of read) bodies.push(record.body);
    expect(bodies).toEqual(Array.from({ length: 10 }, (_, i) => body(i)));
  });
});

/** Opens (the SDK may open lazily) and reads a session to its end, rethrowing its error. */
async function drain(opening: Promise<AsyncIterable<unknown>>): Promise<void> {
  const session = await opening;
  for await (const _ of session) {
    // discard
  }
}
