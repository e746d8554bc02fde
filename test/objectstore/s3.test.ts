/**
 * S3ObjectStore against a real S3 server (radosgw by default, see test/setup/s3.ts). Each run uses a
 * fresh random bucket; each test a fresh key prefix in it. Everything is deleted at the end.
 */
import { randomBytes } from 'node:crypto';
import http from 'node:http';
import type { AddressInfo } from 'node:net';
import { afterAll, beforeAll, describe, expect, it } from 'vitest';
import { openObjectStore } from '../../src/objectstore/index.js';
import { S3ObjectStore, s3OptionsFromEnv } from '../../src/objectstore/s3.js';
import { ObjectStoreError } from '../../src/objectstore/types.js';
import { createTestBucket, s3TestConfig, type TestBucket } from '../setup/s3-env.js';
import { runObjectStoreContract } from './contract.js';

let testBucket: TestBucket;
const stores: S3ObjectStore[] = [];

beforeAll(async () => {
  testBucket = await createTestBucket();
});

afterAll(async () => {
  await Promise.all(stores.map((s) => s.close()));
  await testBucket?.cleanup();
});

function makeS3Store(overrides: Partial<ConstructorParameters<typeof S3ObjectStore>[0]> = {}): S3ObjectStore {
  const config = s3TestConfig();
  const store = new S3ObjectStore({
    bucket: testBucket.bucket,
    prefix: `t-${randomBytes(4).toString('hex')}`,
    endpoint: config.endpoint,
    region: config.region,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    requestTimeoutMs: 20_000,
    ...overrides,
  });
  stores.push(store);
  return store;
}

runObjectStoreContract('s3', async () => {
  const store = makeS3Store();
  return {
    store,
    cleanup: async () => {
      const keys = (await store.list('')).map((o) => o.key);
      await store.delete(keys);
    },
  };
});

async function caught(promise: Promise<unknown>): Promise<ObjectStoreError> {
  const error = await promise.then(
    () => undefined,
    (e: unknown) => e,
  );
  expect(error).toBeInstanceOf(ObjectStoreError);
  return error as ObjectStoreError;
}

describe('S3ObjectStore specifics', () => {
  it('keeps prefixes apart in one bucket', async () => {
    const a = makeS3Store();
    const b = makeS3Store();
    await a.put('k', new Uint8Array([1]), { ifNoneMatch: '*' });
    await b.put('k', new Uint8Array([2]), { ifNoneMatch: '*' });
    expect(await a.get('k')).toEqual(new Uint8Array([1]));
    expect((await b.list('')).map((o) => o.key)).toEqual(['k']);
    expect(a.describe()).toBe(`s3://${testBucket.bucket}/${a.prefix}`);
    expect(a.prefix.endsWith('/')).toBe(true);
  });

  it('checkAccess passes for the test bucket', async () => {
    await makeS3Store().checkAccess();
  });

  it('checkAccess fails Fatal with a clear message for a missing bucket', async () => {
    const store = makeS3Store({ bucket: `missing-${randomBytes(6).toString('hex')}` });
    const error = await caught(store.checkAccess());
    expect(error.kind).toBe('Fatal');
    expect(error.message).toContain(`bucket ${store.bucket} does not exist`);
    // Data operations on a missing bucket are Fatal too (never retried as if the key were missing).
    expect((await caught(store.put('k', new Uint8Array(1)))).kind).toBe('Fatal');
  });

  it('checkAccess fails Fatal for bad credentials', async () => {
    const store = makeS3Store({ credentials: { accessKeyId: 'TESTAK', secretAccessKey: 'wrong-secret' } });
    const error = await caught(store.checkAccess());
    expect(error.kind).toBe('Fatal');
    expect(error.message).toMatch(/denied.*credentials/);
  });

  it('openObjectStore reads the AWS environment, checks access and wraps the store', async () => {
    const config = s3TestConfig();
    const env = {
      AWS_ENDPOINT_URL_S3: config.endpoint,
      AWS_ACCESS_KEY_ID: config.accessKeyId,
      AWS_SECRET_ACCESS_KEY: config.secretAccessKey,
      AWS_REGION: config.region,
    };
    const store = await openObjectStore({ kind: 's3', bucket: testBucket.bucket, prefix: 'via-env' }, { env });
    try {
      await store.put('x', new Uint8Array([7]), { ifNoneMatch: '*', putId: 'e' });
      expect(await store.head('x')).toEqual({ key: 'x', size: 1, putId: 'e' });
      await store.delete(['x']);
    } finally {
      await store.close?.();
    }
    await expect(openObjectStore({ kind: 's3', bucket: 'no-such-bucket-s2t', prefix: '' }, { env })).rejects.toThrow(
      /bucket no-such-bucket-s2t does not exist/,
    );
  });
});

describe('S3ObjectStore against a stub server', () => {
  let server: http.Server;
  let endpoint: string;
  const seen: string[] = [];
  let behaviour: 'hang' | 'no-batch-delete' = 'hang';

  beforeAll(async () => {
    server = http.createServer((req, res) => {
      seen.push(`${req.method} ${req.url?.split('?')[0]}${req.url?.includes('?delete') ? '?delete' : ''}`);
      req.resume();
      if (behaviour === 'hang') return; // never answer
      if (req.method === 'POST' && req.url?.includes('delete')) {
        res.writeHead(501, { 'content-type': 'application/xml' });
        res.end('<?xml version="1.0"?><Error><Code>NotImplemented</Code><Message>no</Message></Error>');
        return;
      }
      res.writeHead(204).end();
    });
    await new Promise<void>((resolve) => server.listen(0, '127.0.0.1', resolve));
    endpoint = `http://127.0.0.1:${(server.address() as AddressInfo).port}`;
  });

  afterAll(async () => {
    server.closeAllConnections();
    await new Promise((resolve) => server.close(resolve));
  });

  const stubStore = (requestTimeoutMs: number) =>
    new S3ObjectStore({
      bucket: 'b',
      prefix: 'p',
      endpoint,
      credentials: { accessKeyId: 'a', secretAccessKey: 's' },
      requestTimeoutMs,
    });

  it('turns a request that never answers into Transient', async () => {
    behaviour = 'hang';
    const store = stubStore(300);
    try {
      const error = await caught(store.put('k', new Uint8Array(3), { ifNoneMatch: '*' }));
      expect(error.kind).toBe('Transient');
      expect(error.message).toContain('timed out');
    } finally {
      await store.close();
    }
  });

  it('falls back to one DELETE per key when the server rejects DeleteObjects', async () => {
    behaviour = 'no-batch-delete';
    seen.length = 0;
    const store = stubStore(5_000);
    try {
      await store.delete(['a', 'b/c']);
      await store.delete(['d']);
    } finally {
      await store.close();
    }
    expect(seen.filter((r) => r.startsWith('POST'))).toEqual(['POST /b/?delete']); // tried once, then remembered
    expect(seen.filter((r) => r.startsWith('DELETE')).sort()).toEqual([
      'DELETE /b/p/a',
      'DELETE /b/p/b/c',
      'DELETE /b/p/d',
    ]);
  });
});

describe('s3OptionsFromEnv', () => {
  it('reads the standard AWS variables', () => {
    const options = s3OptionsFromEnv('bkt', 'pre', {
      AWS_ENDPOINT_URL: 'http://generic:1',
      AWS_ENDPOINT_URL_S3: 'http://s3-specific:2',
      AWS_ACCESS_KEY_ID: 'AK',
      AWS_SECRET_ACCESS_KEY: 'SK',
      AWS_SESSION_TOKEN: 'TOK',
      AWS_DEFAULT_REGION: 'eu-west-3',
    });
    expect(options).toMatchObject({
      bucket: 'bkt',
      prefix: 'pre',
      endpoint: 'http://s3-specific:2',
      region: 'eu-west-3',
      forcePathStyle: true,
      credentials: { accessKeyId: 'AK', secretAccessKey: 'SK', sessionToken: 'TOK' },
    });
  });

  it('defaults to AWS: no endpoint, virtual-host style, us-east-1, SDK credential chain', () => {
    const options = s3OptionsFromEnv('bkt', '', {});
    expect(options).toMatchObject({ region: 'us-east-1', forcePathStyle: false });
    expect(options.endpoint).toBeUndefined();
    expect(options.credentials).toBeUndefined();
  });

  it('honours S2LITE_S3_PATH_STYLE and AWS_REGION over AWS_DEFAULT_REGION', () => {
    const env = { AWS_ENDPOINT_URL: 'http://x', AWS_REGION: 'r1', AWS_DEFAULT_REGION: 'r2' };
    expect(s3OptionsFromEnv('b', '', { ...env, S2LITE_S3_PATH_STYLE: 'false' })).toMatchObject({
      forcePathStyle: false,
      region: 'r1',
    });
    expect(s3OptionsFromEnv('b', '', { S2LITE_S3_PATH_STYLE: 'true' }).forcePathStyle).toBe(true);
    expect(() => s3OptionsFromEnv('b', '', { S2LITE_S3_PATH_STYLE: 'yes' })).toThrow(/S2LITE_S3_PATH_STYLE/);
    expect(() => s3OptionsFromEnv('b', '', { AWS_ACCESS_KEY_ID: 'only-key' })).toThrow(/AWS_SECRET_ACCESS_KEY/);
  });
});
