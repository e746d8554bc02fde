/**
 * Proves the official TypeScript SDK (`@s2-dev/streamstore` 0.27), unchanged and pointed at the
 * server with its account and basin endpoints both set to the server's base URL, can drive every
 * basin and stream operation, and gets typed `S2Error`s with the right status and code for 404,
 * 409, 400 and 422.
 */
import { S2, S2Error } from '@s2-dev/streamstore';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { ManualClock } from '../../src/util/clock.js';
import { closeHttp2Sessions, request, uniqueBasin } from '../support/http.js';
import { startServer, type TestServer } from '../support/server.js';

let server: TestServer;
let s2: S2;
beforeAll(async () => {
  // Background tasks run only when a test asks (its clock never moves), so deletion-pending
  // states are observable without racing the triggered run.
  server = await startServer({ engine: { clock: new ManualClock(Date.now()) } });
  s2 = new S2({
    accessToken: 'ignored',
    endpoints: { account: server.baseUrl, basin: server.baseUrl },
    retry: { maxAttempts: 1 },
  });
});
afterAll(async () => {
  closeHttp2Sessions();
  await server.stop();
});

/** The S2Error a call fails with (fails the test if it succeeds or throws something else). */
async function s2Error(call: Promise<unknown>): Promise<S2Error> {
  const error = await call.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(S2Error);
  return error as S2Error;
}

/** Runs the background tasks (in-process) and waits until `check` holds. */
async function eventually(what: string, check: () => Promise<boolean>): Promise<void> {
  await server.engine?.background.runOnce();
  const deadline = Date.now() + 20_000;
  while (!(await check())) {
    if (Date.now() > deadline) throw new Error(`timed out waiting until ${what}`);
    await new Promise((resolve) => setTimeout(resolve, 100));
  }
}

describe('basins through the SDK', () => {
  it('creates a basin with a config and reads the config back in SDK form', async () => {
    const basin = uniqueBasin('sdk');
    const info = await s2.basins.create({
      basin,
      config: {
        createStreamOnAppend: true,
        streamCipher: 'aegis-256',
        defaultStreamConfig: {
          retentionPolicy: { ageSecs: 3600 },
          timestamping: { mode: 'arrival' },
          storageClass: 'standard',
        },
      },
    });
    expect(info.name).toBe(basin);
    expect(info.createdAt).toBeInstanceOf(Date);
    expect(info.deletedAt).toBeNull();
    const config = await s2.basins.getConfig({ basin });
    expect(config).toMatchObject({
      createStreamOnAppend: true,
      createStreamOnRead: false,
      streamCipher: 'aegis-256',
      defaultStreamConfig: {
        storageClass: 'standard',
        retentionPolicy: { ageSecs: 3600 },
        timestamping: { mode: 'arrival', uncapped: null },
        deleteOnEmpty: null,
      },
    });
  });

  it('lists basins by prefix with pagination, and listAll walks every page', async () => {
    const prefix = uniqueBasin('sdkl');
    const names = ['a', 'b', 'c', 'd', 'e'].map((s) => `${prefix}-${s}`);
    for (const basin of names) await s2.basins.create({ basin });
    const page = await s2.basins.list({ prefix, limit: 2 });
    expect(page.basins.map((b) => b.name)).toEqual(names.slice(0, 2));
    expect(page.hasMore).toBe(true);
    const next = await s2.basins.list({ prefix, startAfter: names[1], limit: 10 });
    expect(next.basins.map((b) => b.name)).toEqual(names.slice(2));
    expect(next.hasMore).toBe(false);
    const all: string[] = [];
    for await (const b of s2.basins.listAll({ prefix, limit: 2 })) all.push(b.name);
    expect(all).toEqual(names);
  });

  it('ensures a basin: created, noop for the same config, updated for another', async () => {
    const basin = uniqueBasin('sdke');
    expect((await s2.basins.ensure({ basin, config: { createStreamOnRead: true } })).result).toBe('created');
    expect((await s2.basins.ensure({ basin, config: { createStreamOnRead: true } })).result).toBe('noop');
    const updated = await s2.basins.ensure({ basin, config: { createStreamOnAppend: true } });
    expect(updated.result).toBe('updated');
    expect(updated.basin.name).toBe(basin);
    expect(await s2.basins.getConfig({ basin })).toMatchObject({
      createStreamOnAppend: true,
      createStreamOnRead: false,
    });
    expect((await s2.basins.ensure({ basin })).result).toBe('updated');
    expect(await s2.basins.getConfig({ basin })).toMatchObject({
      createStreamOnAppend: false,
      defaultStreamConfig: null,
    });
  });

  it('reconfigures a basin with absent, null and nested fields', async () => {
    const basin = uniqueBasin('sdkr');
    await s2.basins.create({
      basin,
      config: { streamCipher: 'aes-256-gcm', defaultStreamConfig: { storageClass: 'standard' } },
    });
    const config = await s2.basins.reconfigure({
      basin,
      streamCipher: null,
      createStreamOnRead: true,
      defaultStreamConfig: { retentionPolicy: { infinite: {} } },
    });
    expect(config).toMatchObject({
      streamCipher: null,
      createStreamOnRead: true,
      defaultStreamConfig: { storageClass: 'standard', retentionPolicy: { infinite: {} } },
    });
  });

  it('accepts a location on create and ensure, and reports location null', async () => {
    const basin = uniqueBasin('sdkloc');
    expect((await s2.basins.create({ basin, location: 'aws:us-east-1' })).location).toBeNull();
    const ensured = await s2.basins.ensure({ basin, location: 'aws:us-east-1' });
    expect(ensured.result).toBe('noop');
    expect(ensured.basin.location).toBeNull();
  });

  it('gets 400 bad_json for a null create_stream_on_* flag, which lite rejects although the SDK allows it', async () => {
    const basin = uniqueBasin('sdknull');
    await s2.basins.create({ basin });
    const error = await s2Error(s2.basins.reconfigure({ basin, createStreamOnAppend: null }));
    expect(error).toMatchObject({ status: 400, code: 'bad_json' });
  });

  it('surfaces 404, 409, 400 and 422 as S2Errors with status and code', async () => {
    const missing = uniqueBasin('sdkm');
    expect(await s2Error(s2.basins.getConfig({ basin: missing }))).toMatchObject({
      status: 404,
      code: 'basin_not_found',
    });
    expect(await s2Error(s2.basins.delete({ basin: missing }))).toMatchObject({ status: 404, code: 'basin_not_found' });
    const basin = uniqueBasin('sdkx');
    await s2.basins.create({ basin });
    // A second create carries a new request token: not a retry.
    expect(await s2Error(s2.basins.create({ basin }))).toMatchObject({ status: 409, code: 'resource_already_exists' });
    const zero = s2.basins.reconfigure({ basin, defaultStreamConfig: { retentionPolicy: { ageSecs: 0 } } });
    expect(await s2Error(zero)).toMatchObject({ status: 422, code: 'invalid' });
  });

  it('deletes a basin: listed as deleting, blocked with 409, then gone and reusable', async () => {
    const basin = uniqueBasin('sdkd');
    await s2.basins.create({ basin });
    await s2.basin(basin).streams.create({ stream: 'inside' });
    await s2.basins.delete({ basin });
    const listed = await s2.basins.list({ prefix: basin });
    expect(listed.basins).toHaveLength(1);
    expect(listed.basins[0]!.deletedAt).toBeInstanceOf(Date);
    // listAll hides basins pending deletion unless asked.
    const visible: string[] = [];
    for await (const b of s2.basins.listAll({ prefix: basin })) visible.push(b.name);
    expect(visible).toEqual([]);
    const withDeleted: string[] = [];
    for await (const b of s2.basins.listAll({ prefix: basin, includeDeleted: true })) withDeleted.push(b.name);
    expect(withDeleted).toEqual([basin]);
    expect(await s2Error(s2.basins.reconfigure({ basin, createStreamOnRead: true }))).toMatchObject({
      status: 409,
      code: 'basin_deletion_pending',
    });
    await eventually('the basin is gone', async () => (await s2.basins.list({ prefix: basin })).basins.length === 0);
    expect((await s2.basins.create({ basin })).name).toBe(basin);
  });
});

describe('streams through the SDK', () => {
  async function newBasin(config?: Parameters<S2['basins']['create']>[0]['config']): Promise<string> {
    const basin = uniqueBasin('sdks');
    await s2.basins.create({ basin, config });
    return basin;
  }

  it('sends S2-Basin for the direct basin endpoint, so streams land in the right basin', async () => {
    const basin = await newBasin();
    const other = await newBasin();
    await s2.basin(basin).streams.create({ stream: 'mine' });
    const raw = await request(server.baseUrl, { path: '/v1/streams', headers: { 's2-basin': basin } });
    expect(raw.json().streams.map((s: { name: string }) => s.name)).toEqual(['mine']);
    expect((await s2.basin(other).streams.list()).streams).toEqual([]);
  });

  it('creates streams inheriting basin defaults and the basin cipher, and reads resolved configs', async () => {
    const basin = await newBasin({
      streamCipher: 'aegis-256',
      defaultStreamConfig: { timestamping: { mode: 'arrival' } },
    });
    const streams = s2.basin(basin).streams;
    const info = await streams.create({ stream: 'orders', config: { retentionPolicy: { infinite: {} } } });
    expect(info).toMatchObject({ name: 'orders', cipher: 'aegis-256', deletedAt: null });
    expect(info.createdAt).toBeInstanceOf(Date);
    expect(await streams.getConfig({ stream: 'orders' })).toEqual({
      storageClass: 'express',
      retentionPolicy: { infinite: {} },
      timestamping: { mode: 'arrival', uncapped: false },
      deleteOnEmpty: { minAgeSecs: 0 },
    });
  });

  it('handles stream names that need percent-encoding', async () => {
    const basin = await newBasin();
    const streams = s2.basin(basin).streams;
    for (const stream of ['a/b', 'with space', 'ünï/cødé?#']) {
      await streams.create({ stream });
      expect((await streams.getConfig({ stream })).storageClass).toBe('express');
      await streams.reconfigure({ stream, storageClass: 'standard' });
      expect((await streams.getConfig({ stream })).storageClass).toBe('standard');
    }
    expect((await streams.list()).streams.map((s) => s.name)).toEqual(['a/b', 'with space', 'ünï/cødé?#']);
  });

  it('lists with prefix and pagination, and listAll walks every page', async () => {
    const basin = await newBasin();
    const streams = s2.basin(basin).streams;
    const names = Array.from({ length: 7 }, (_, i) => `logs/${i}`);
    for (const stream of names) await streams.create({ stream });
    await streams.create({ stream: 'other' });
    const page = await streams.list({ prefix: 'logs/', limit: 3 });
    expect(page.streams.map((s) => s.name)).toEqual(names.slice(0, 3));
    expect(page.hasMore).toBe(true);
    const all: string[] = [];
    for await (const s of streams.listAll({ prefix: 'logs/', limit: 3 })) all.push(s.name);
    expect(all).toEqual(names);
  });

  it('ensures and reconfigures streams, with null falling back to basin defaults', async () => {
    const basin = await newBasin({ defaultStreamConfig: { retentionPolicy: { ageSecs: 600 } } });
    const streams = s2.basin(basin).streams;
    expect((await streams.ensure({ stream: 's', config: { retentionPolicy: { ageSecs: 60 } } })).result).toBe(
      'created',
    );
    expect((await streams.ensure({ stream: 's', config: { retentionPolicy: { ageSecs: 60 } } })).result).toBe('noop');
    const reconfigured = await streams.reconfigure({
      stream: 's',
      retentionPolicy: null,
      timestamping: { uncapped: true },
    });
    expect(reconfigured).toMatchObject({
      retentionPolicy: { ageSecs: 600 },
      timestamping: { mode: 'client-prefer', uncapped: true },
    });
    const ensured = await streams.ensure({ stream: 's' });
    expect(ensured.result).toBe('updated');
    expect(await streams.getConfig({ stream: 's' })).toMatchObject({
      retentionPolicy: { ageSecs: 600 },
      timestamping: { uncapped: false },
    });
  });

  it('surfaces stream errors as typed S2Errors', async () => {
    const basin = await newBasin();
    const streams = s2.basin(basin).streams;
    expect(await s2Error(streams.getConfig({ stream: 'nope' }))).toMatchObject({
      status: 404,
      code: 'stream_not_found',
    });
    expect(await s2Error(streams.delete({ stream: 'nope' }))).toMatchObject({ status: 404, code: 'stream_not_found' });
    expect(await s2Error(s2.basin(uniqueBasin('sdkm')).streams.create({ stream: 'x' }))).toMatchObject({
      status: 404,
      code: 'basin_not_found',
    });
    await streams.create({ stream: 'dup' });
    expect(await s2Error(streams.create({ stream: 'dup' }))).toMatchObject({
      status: 409,
      code: 'resource_already_exists',
    });
    const zero = streams.create({ stream: 'zero', config: { retentionPolicy: { ageSecs: 0 } } });
    expect(await s2Error(zero)).toMatchObject({ status: 422, code: 'invalid' });
  });

  it('deletes a stream: pending with 409, listed with deletedAt, then purged and re-creatable', async () => {
    const basin = await newBasin();
    const streams = s2.basin(basin).streams;
    await streams.create({ stream: 'gone' });
    await streams.delete({ stream: 'gone' });
    expect(await s2Error(streams.getConfig({ stream: 'gone' }))).toMatchObject({
      status: 409,
      code: 'stream_deletion_pending',
    });
    expect(await s2Error(streams.create({ stream: 'gone' }))).toMatchObject({
      status: 409,
      code: 'stream_deletion_pending',
    });
    const listed = await streams.list({ prefix: 'gone' });
    expect(listed.streams.map((s) => s.name)).toEqual(['gone']);
    expect(listed.streams[0]!.deletedAt).toBeInstanceOf(Date);
    await eventually('the stream is purged', async () => (await streams.list({ prefix: 'gone' })).streams.length === 0);
    expect((await streams.create({ stream: 'gone' })).deletedAt).toBeNull();
  });
});
