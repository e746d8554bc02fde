/**
 * Proves the programmatic API (`S2Lite` from src/index.ts, docs/embedding.md) with the official
 * SDK: a server starts in this process on a free port, in memory by default; `sdkOptions` and
 * `env` reach it; `reset()` empties it without a restart, ending live sessions with an error
 * instead of leaving them hanging, and re-applies the init spec; `stop()` is graceful or
 * immediate; options are checked; local-disk data survives a restart and a reset wipes it; on
 * S3 (radosgw) a reset deletes only s2-lite's objects, and refuses, changing nothing, beside others.
 */
import { mkdtempSync, rmSync } from 'node:fs';
import https from 'node:https';
import net from 'node:net';
import os from 'node:os';
import path from 'node:path';
import { AppendInput, AppendRecord, S2, S2Environment, type S2Stream } from '@s2-dev/streamstore';
import pino from 'pino';
import { PutObjectCommand } from '@aws-sdk/client-s3';
import { afterAll, afterEach, beforeAll, describe, expect, it } from 'vitest';
import { OptionError, S2Lite, type S2LiteOptions } from '../../src/index.js';
import { createTestBucket, testS3Client, type TestBucket } from '../setup/s3-env.js';

const running: S2Lite[] = [];
const dirs: string[] = [];
afterEach(async () => {
  await Promise.all(running.splice(0).map((lite) => lite.stop({ immediate: true })));
});
afterAll(() => {
  for (const dir of dirs) rmSync(dir, { recursive: true, force: true });
});

async function start(options: S2LiteOptions = {}): Promise<S2Lite> {
  const lite = await S2Lite.start({ logLevel: 'silent', ...options });
  running.push(lite);
  return lite;
}

function client(lite: S2Lite): S2 {
  return new S2({ ...lite.sdkOptions, retry: { maxAttempts: 1 } });
}

function batch(...bodies: string[]): AppendInput {
  return AppendInput.create(bodies.map((body) => AppendRecord.string({ body })));
}

async function bodies(stream: S2Stream, count: number): Promise<string[]> {
  const read = await stream.read({ start: { from: { seqNum: 0 } }, stop: { limits: { count } } });
  return read.records.map((r) => r.body);
}

async function basinNames(s2: S2): Promise<string[]> {
  return (await s2.basins.list()).basins.map((b) => b.name);
}

/** Settles to the error a promise rejects with, or 'resolved'. */
function outcome(promise: Promise<unknown>): Promise<unknown> {
  return promise.then(
    () => 'resolved',
    (error: unknown) => error,
  );
}

describe('S2Lite.start', () => {
  it('serves in memory on 127.0.0.1 and a free port; sdkOptions and env reach it', async () => {
    const lite = await start();
    expect(lite.endpoint).toBe(`http://127.0.0.1:${lite.port}`);
    expect(lite.port).toBeGreaterThan(0);
    expect(lite.storage).toEqual({ kind: 'memory' });
    expect(lite.env).toEqual({
      S2_ACCOUNT_ENDPOINT: lite.endpoint,
      S2_BASIN_ENDPOINT: lite.endpoint,
      S2_ACCESS_TOKEN: 'ignored',
    });
    const s2 = client(lite);
    await s2.basins.create({ basin: 'embed-basin-one', config: { createStreamOnAppend: true } });
    const stream = s2.basin('embed-basin-one').stream('orders');
    const ack = await stream.append(batch('a', 'b'));
    expect(ack.end.seqNum).toBe(2);
    expect(await bodies(stream, 2)).toEqual(['a', 'b']);

    // The environment form, as the S2 CLI and `S2Environment.parse()` read it.
    const saved = { ...process.env };
    try {
      Object.assign(process.env, lite.env);
      const fromEnv = new S2({ ...(S2Environment.parse() as { accessToken: string }), retry: { maxAttempts: 1 } });
      expect(await basinNames(fromEnv)).toEqual(['embed-basin-one']);
    } finally {
      for (const name of Object.keys(lite.env)) delete process.env[name];
      Object.assign(process.env, saved);
    }
  });

  it('runs several independent servers in one process', async () => {
    const [one, two] = await Promise.all([start(), start()]);
    expect(one.port).not.toBe(two.port);
    await client(one).basins.create({ basin: 'only-on-one' });
    expect(await basinNames(client(one))).toEqual(['only-on-one']);
    expect(await basinNames(client(two))).toEqual([]);
  });

  it('applies an inline init spec, and serves HTTPS with a self-signed certificate', async () => {
    const lite = await start({
      tlsSelf: true,
      init: { basins: [{ name: 'init-embed', streams: [{ name: 'events' }] }] },
    });
    expect(lite.endpoint).toBe(`https://127.0.0.1:${lite.port}`);
    expect(lite.env.S2_SSL_NO_VERIFY).toBe('1');
    const listed = await new Promise<string>((resolve, reject) => {
      const options = { headers: { 's2-basin': 'init-embed' }, rejectUnauthorized: false };
      https
        .get(`${lite.endpoint}/v1/streams`, options, (res) => {
          let body = '';
          res.on('data', (chunk) => (body += chunk));
          res.on('end', () => resolve(body));
        })
        .on('error', reject);
    });
    expect(JSON.parse(listed).streams.map((s: { name: string }) => s.name)).toEqual(['events']);
  });

  it('logs through a logger it is given', async () => {
    const lines: { msg: string }[] = [];
    const logger = pino({ level: 'info' }, { write: (line: string) => lines.push(JSON.parse(line)) });
    const lite = await S2Lite.start({ logger });
    running.push(lite);
    await client(lite).basins.list();
    expect(lines.map((l) => l.msg)).toContain('listening');
    expect(lines.map((l) => l.msg)).toContain('request');
  });

  it.each<[string, S2LiteOptions, RegExp]>([
    ['an unknown option', { localroot: '/tmp' } as S2LiteOptions, /unknown option `localroot`/],
    ['a port out of range', { port: 70_000 }, /`port`: expected an integer from 0 to 65535/],
    ['a port that is not a number', { port: '8080' as unknown as number }, /`port`: expected an integer/],
    [
      'local root and bucket together',
      { localRoot: 'data', bucket: 'b' },
      /`localRoot` and `bucket` cannot be used together/,
    ],
    ['a certificate without its key', { tlsCert: 'cert.pem' }, /`tlsCert` and `tlsKey` require each other/],
    ['an unknown log level', { logLevel: 'loud' as 'info' }, /`logLevel`: expected one of trace, /],
    ['a malformed size', { appendInflightBytes: 'lots' }, /`appendInflightBytes`: invalid size `lots`/],
    ['a negative flush interval', { flushInterval: -1 }, /`flushInterval`: expected milliseconds/],
    ['an init file and an inline spec', { initFile: 'x.json', init: { basins: [] } }, /cannot be used together/],
    ['a strict spec error', { init: { basins: [{ name: 'ok-basin', colour: 1 }] } }, /unknown field `colour`/],
  ])('refuses %s with a clear error', async (_what, options, message) => {
    const error = await outcome(S2Lite.start({ logLevel: 'silent', ...options }));
    expect(error).toBeInstanceOf(OptionError);
    expect((error as Error).message).toMatch(message);
  });

  it('refuses a port in use', async () => {
    const lite = await start();
    const error = await outcome(S2Lite.start({ logLevel: 'silent', port: lite.port }));
    expect((error as NodeJS.ErrnoException).code).toBe('EADDRINUSE');
  });
});

describe('S2Lite.reset', () => {
  it('empties the server without a restart and applies the init spec again', async () => {
    const lite = await start({ init: { basins: [{ name: 'kept-basin', config: { create_stream_on_append: true } }] } });
    const s2 = client(lite);
    await s2.basins.create({ basin: 'gone-basin', config: { createStreamOnAppend: true } });
    await s2.basin('kept-basin').stream('s').append(batch('old'));
    expect((await basinNames(s2)).sort()).toEqual(['gone-basin', 'kept-basin']);

    await lite.reset();
    expect(await basinNames(s2)).toEqual(['kept-basin']);
    expect((await s2.basin('kept-basin').streams.list()).streams).toEqual([]);
    // The same port, the same client, a clean slate: seq_nums start again at 0.
    const ack = await s2.basin('kept-basin').stream('s').append(batch('new'));
    expect(ack.start.seqNum).toBe(0);
    expect(await bodies(s2.basin('kept-basin').stream('s'), 1)).toEqual(['new']);
  });

  it.each(['s2s', 'fetch'] as const)(
    'ends live %s read sessions and fails open append sessions with 503, instead of leaving them hanging',
    async (transport) => {
      const lite = await start();
      const s2 = client(lite);
      await s2.basins.create({ basin: 'live-basin', config: { createStreamOnAppend: true } });
      const stream = s2.basin('live-basin').stream('live', { forceTransport: transport });
      await stream.append(batch('before'));
      const follower = await stream.readSession({ start: { from: { seqNum: 0 } }, stop: { waitSecs: 60 } });
      const seen: string[] = [];
      const following = outcome(
        (async () => {
          for await (const record of follower) seen.push(record.body);
        })(),
      );
      const appender = await stream.appendSession();
      await (await appender.submit(batch('acked'))).ack();
      await expect.poll(() => seen).toEqual(['before', 'acked']);

      await lite.reset();
      // The follower ends with an error (it does not wait out its 60 s).
      const ended = await following;
      expect(ended).toBeInstanceOf(Error);
      expect(String((ended as Error).message)).toMatch(/shutting down|unavailable|503/i);
      // The append session opened before the reset fails at its next append.
      const late = await outcome(appender.submit(batch('late')).then((ticket) => ticket.ack()));
      expect(late).toBeInstanceOf(Error);
      await appender.close().catch(() => {});
      // New sessions see the empty server.
      expect(await basinNames(s2)).toEqual([]);
    },
  );

  it('settles every append in flight during a reset: acknowledged or refused, none left hanging', async () => {
    const lite = await start();
    const s2 = client(lite);
    await s2.basins.create({ basin: 'busy-basin', config: { createStreamOnAppend: true } });
    let acked = 0;
    // Producers append back to back until an append fails: after the reset the basin is gone.
    const producers = Array.from({ length: 4 }, async (_, p) => {
      const stream = s2.basin('busy-basin').stream(`busy-${p}`, { forceTransport: p % 2 ? 's2s' : 'fetch' });
      for (;;) {
        try {
          await stream.append(batch(`p${p}`));
          acked += 1;
        } catch (error) {
          return error;
        }
      }
    });
    await expect.poll(() => acked, { timeout: 20_000 }).toBeGreaterThanOrEqual(8);
    await lite.reset();
    for (const error of await Promise.all(producers)) expect(error).toBeInstanceOf(Error);
    expect(await basinNames(s2)).toEqual([]);
  });

  it('runs resets one at a time and refuses one after stop()', async () => {
    const lite = await start();
    const s2 = client(lite);
    await s2.basins.create({ basin: 'twice-basin' });
    await Promise.all([lite.reset(), lite.reset()]);
    expect(await basinNames(s2)).toEqual([]);
    await lite.stop();
    await expect(lite.reset()).rejects.toThrow(/reset\(\) after stop\(\)/);
  });
});

describe('S2Lite.stop', () => {
  function refused(port: number): Promise<boolean> {
    return new Promise((resolve) => {
      const socket = net.connect(port, '127.0.0.1');
      socket.once('connect', () => {
        socket.destroy();
        resolve(false);
      });
      socket.once('error', () => resolve(true));
    });
  }

  it('is graceful: an append in flight is acknowledged, then the port is closed; a second call is the same stop', async () => {
    const lite = await S2Lite.start({ logLevel: 'silent' });
    const s2 = client(lite);
    await s2.basins.create({ basin: 'stop-basin', config: { createStreamOnAppend: true } });
    // Observed at once: a refusal may come before the stop completes.
    const appending = outcome(s2.basin('stop-basin').stream('s').append(batch('last')));
    await new Promise((resolve) => setTimeout(resolve, 5));
    const stopping = lite.stop();
    expect(lite.stop()).toBe(stopping);
    await stopping;
    const ack = await appending;
    // Either it was acknowledged or it arrived after the server stopped accepting.
    if (ack !== 'resolved') expect(ack).toBeInstanceOf(Error);
    expect(await refused(lite.port)).toBe(true);
  });

  it('immediate: does not wait for a follower or an idle keep-alive connection', async () => {
    const lite = await S2Lite.start({ logLevel: 'silent' });
    const s2 = client(lite);
    await s2.basins.create({ basin: 'fast-stop', config: { createStreamOnAppend: true, createStreamOnRead: true } });
    const follower = await s2
      .basin('fast-stop')
      .stream('s')
      .readSession({ start: { from: { seqNum: 0 } }, stop: { waitSecs: 60 } });
    const following = outcome(
      (async () => {
        for await (const _record of follower);
      })(),
    );
    await lite.stop({ immediate: true });
    expect(await following).toBeInstanceOf(Error);
    expect(await refused(lite.port)).toBe(true);
  });
});

describe('S2Lite on local disk', () => {
  it('keeps data across a stop and a start on the same directory; reset deletes it', async () => {
    const root = mkdtempSync(path.join(os.tmpdir(), 's2-lite-embed-'));
    dirs.push(root);
    const first = await start({ localRoot: root });
    expect(first.storage).toEqual({ kind: 'local', root });
    await client(first).basins.create({ basin: 'disk-basin', config: { createStreamOnAppend: true } });
    await client(first).basin('disk-basin').stream('s').append(batch('durable'));
    await first.stop();

    const second = await start({ localRoot: root });
    const s2 = client(second);
    expect(await bodies(s2.basin('disk-basin').stream('s'), 1)).toEqual(['durable']);
    await second.reset();
    expect(await basinNames(s2)).toEqual([]);
    await second.stop();

    const third = await start({ localRoot: root });
    expect(await basinNames(client(third))).toEqual([]);
  });
});

describe('S2Lite on S3', () => {
  let bucket: TestBucket;
  const saved = { ...process.env };
  beforeAll(async () => {
    bucket = await createTestBucket();
    // The S3 client reads these, as `serve --bucket` does.
    Object.assign(process.env, {
      AWS_ENDPOINT_URL_S3: bucket.config.endpoint,
      AWS_ACCESS_KEY_ID: bucket.config.accessKeyId,
      AWS_SECRET_ACCESS_KEY: bucket.config.secretAccessKey,
      AWS_REGION: bucket.config.region,
    });
  });
  afterAll(async () => {
    for (const name of ['AWS_ENDPOINT_URL_S3', 'AWS_ACCESS_KEY_ID', 'AWS_SECRET_ACCESS_KEY', 'AWS_REGION'])
      delete process.env[name];
    Object.assign(process.env, saved);
    await bucket?.cleanup();
  });

  it('reset deletes the log under the prefix; with a foreign object there it refuses and changes nothing', async () => {
    const lite = await start({ bucket: bucket.bucket, path: 'embed/', flushInterval: 0 });
    expect(lite.storage).toEqual({ kind: 's3', bucket: bucket.bucket, prefix: 'embed/' });
    const s2 = client(lite);
    await s2.basins.create({ basin: 's3-basin', config: { createStreamOnAppend: true } });
    await s2.basin('s3-basin').stream('s').append(batch('in-s3'));
    await lite.reset();
    expect(await basinNames(s2)).toEqual([]);

    await s2.basins.create({ basin: 's3-basin-two', config: { createStreamOnAppend: true } });
    await s2.basin('s3-basin-two').stream('s').append(batch('kept'));
    const raw = testS3Client(bucket.config);
    try {
      await raw.send(new PutObjectCommand({ Bucket: bucket.bucket, Key: 'embed/notes.txt', Body: 'mine' }));
      await expect(lite.reset()).rejects.toThrow(/reset refused: .* holds `notes.txt`/);
    } finally {
      raw.destroy();
    }
    // Still serving the same data.
    expect(await bodies(s2.basin('s3-basin-two').stream('s'), 1)).toEqual(['kept']);
  });
});
