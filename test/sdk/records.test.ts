/**
 * The data plane through the official SDK (@s2-dev/streamstore 0.27), pointed at the server
 * with account and basin endpoints = the base URL (so it sends `s2-basin`). Only the unary
 * calls are used: `append`, `read` and `checkTail` go over fetch (JSON, or protobuf when the
 * batch has bytes records / `as: "bytes"` reads). `readSession`/`appendSession` need the S2S
 * transport and belong to the sessions issue.
 */
import {
  AppendInput,
  AppendRecord,
  FencingTokenMismatchError,
  RangeNotSatisfiableError,
  S2,
  S2Error,
  SeqNumMismatchError,
} from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer;
let s2: S2;
let basin: string;

beforeAll(async () => {
  server = await startServer();
  s2 = new S2({
    accessToken: 'ignored',
    endpoints: { account: server.baseUrl, basin: server.baseUrl },
    retry: { maxAttempts: 1 },
  });
  basin = uniqueBasin('sdk');
  await s2.basins.create({ basin, config: { createStreamOnAppend: true, createStreamOnRead: true } });
});
afterAll(async () => {
  await server.stop();
});

let counter = 0;
function stream() {
  counter += 1;
  return s2.basin(basin).stream(`sdk-stream-${counter}`);
}

describe('SDK unary data plane', () => {
  it('appends strings (JSON) and reads them back; check tail', async () => {
    const s = stream();
    const ack = await s.append(
      AppendInput.create([
        AppendRecord.string({ body: 'hello', headers: [['k', 'v']] }),
        AppendRecord.string({ body: 'world' }),
      ]),
    );
    expect(ack.start.seqNum).toBe(0);
    expect(ack.end.seqNum).toBe(2);
    expect(ack.tail.seqNum).toBe(2);
    const { tail } = await s.checkTail();
    expect(tail.seqNum).toBe(2);
    expect(tail.timestamp.getTime()).toBe(ack.end.timestamp.getTime());
    const batch = await s.read({ start: { from: { seqNum: 0 } } });
    expect(batch.records.map((r) => r.body)).toEqual(['hello', 'world']);
    expect(batch.records[0]!.headers).toEqual([['k', 'v']]);
    expect(batch.tail).toBeUndefined();
  });

  it('appends bytes (protobuf) and reads them back exactly with as: "bytes" (protobuf)', async () => {
    const s = stream();
    const body = new Uint8Array([0, 0xff, 0xfe, 1]);
    const ack = await s.append(
      AppendInput.create([AppendRecord.bytes({ body, headers: [[new Uint8Array([1]), new Uint8Array([0xc3])]] })]),
    );
    expect(ack.end.seqNum).toBe(1);
    const batch = await s.read({ start: { from: { seqNum: 0 } } }, { as: 'bytes' });
    expect(batch.records).toHaveLength(1);
    expect([...batch.records[0]!.body]).toEqual([...body]);
    expect(batch.records[0]!.headers.map(([n, v]) => [[...n], [...v]])).toEqual([[[1], [0xc3]]]);
  });

  it('surfaces match_seq_num and fencing failures as typed errors', async () => {
    const s = stream();
    await s.append(AppendInput.create([AppendRecord.string({ body: 'a' })], { matchSeqNum: 0 }));
    const mismatch = await s
      .append(AppendInput.create([AppendRecord.string({ body: 'b' })], { matchSeqNum: 0 }))
      .catch((e: unknown) => e);
    expect(mismatch).toBeInstanceOf(SeqNumMismatchError);
    expect((mismatch as SeqNumMismatchError).expectedSeqNum).toBe(1);
    await s.append(AppendInput.create([AppendRecord.fence('my-token')], { fencingToken: '' }));
    const fenced = await s
      .append(AppendInput.create([AppendRecord.string({ body: 'c' })], { fencingToken: 'other' }))
      .catch((e: unknown) => e);
    expect(fenced).toBeInstanceOf(FencingTokenMismatchError);
    expect((fenced as FencingTokenMismatchError).expectedFencingToken).toBe('my-token');
    const ok = await s.append(AppendInput.create([AppendRecord.string({ body: 'd' })], { fencingToken: 'my-token' }));
    expect(ok.start.seqNum).toBe(2);
  });

  it('trims through a command record; reads skip the trimmed range', async () => {
    const s = stream();
    await s.append(AppendInput.create(['0', '1', '2', '3'].map((body) => AppendRecord.string({ body }))));
    await s.append(AppendInput.create([AppendRecord.trim(2)]));
    const batch = await s.read({ start: { from: { seqNum: 0 } } });
    expect(batch.records.map((r) => r.seqNum)).toEqual([2, 3, 4]);
    const dataOnly = await s.read({ start: { from: { seqNum: 0 } }, ignoreCommandRecords: true });
    expect(dataOnly.records.map((r) => r.body)).toEqual(['2', '3']);
  });

  it('reads by timestamp, tail offset, limits and until', async () => {
    const s = stream();
    await s.append(
      AppendInput.create(
        [1000, 1000, 2000, 3000].map((timestamp, i) => AppendRecord.string({ body: `r${i}`, timestamp })),
      ),
    );
    const fromTs = await s.read({ start: { from: { timestamp: 1000 } }, stop: { untilTimestamp: 3000 } });
    expect(fromTs.records.map((r) => r.body)).toEqual(['r0', 'r1', 'r2']);
    const last = await s.read({ start: { from: { tailOffset: 1 } } });
    expect(last.records.map((r) => r.body)).toEqual(['r3']);
    const limited = await s.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count: 2 } } });
    expect(limited.records).toHaveLength(2);
  });

  it('surfaces 416 as RangeNotSatisfiableError with the tail; long-polls with waitSecs', async () => {
    const s = stream();
    await s.append(AppendInput.create([AppendRecord.string({ body: 'a' })]));
    const error = await s.read({ start: { from: { seqNum: 5 } } }).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(RangeNotSatisfiableError);
    expect((error as RangeNotSatisfiableError).tail?.seqNum).toBe(1);
    const pending = s.read({ start: { from: { seqNum: 1 } }, stop: { waitSecs: 30 } });
    await new Promise((resolve) => setTimeout(resolve, 50));
    await s.append(AppendInput.create([AppendRecord.string({ body: 'live' })]));
    const live = await pending;
    expect(live.records.map((r) => r.body)).toEqual(['live']);
    expect(live.tail?.seqNum).toBe(2);
  });

  it('auto-creates on append and on check-tail, honouring streamConfig', async () => {
    const s = stream();
    await s.append(
      AppendInput.create([AppendRecord.string({ body: 'a', timestamp: 5 })], {
        streamConfig: { timestamping: { mode: 'arrival' } },
      }),
    );
    const config = await s2.basin(basin).streams.getConfig({ stream: s.name });
    expect(config.timestamping?.mode).toBe('arrival');
    const t = stream();
    expect((await t.checkTail()).tail.seqNum).toBe(0);
  });

  it('surfaces server validation errors with their code and status', async () => {
    const s = stream();
    const created = await s.append(AppendInput.create([AppendRecord.string({ body: 'a' })]));
    expect(created.end.seqNum).toBe(1);
    await s2.basin(basin).streams.delete({ stream: s.name });
    const error = await s.append(AppendInput.create([AppendRecord.string({ body: 'b' })])).catch((e: unknown) => e);
    expect(error).toBeInstanceOf(S2Error);
    expect((error as S2Error).status).toBe(409);
    expect((error as S2Error).code).toBe('stream_deletion_pending');
  });
});
