/**
 * How tests reach S3: the endpoint chosen by the vitest globalSetup (test/setup/s3.ts), passed through
 * the environment so forked workers inherit it.
 *
 *   S2_TEST_S3_ENDPOINT            endpoint URL (set by the globalSetup, or by you to use another server)
 *   S2_TEST_S3_ACCESS_KEY_ID       default TESTAK (the key scripts/s3-test-server.sh creates)
 *   S2_TEST_S3_SECRET_ACCESS_KEY   default TESTSK
 *   S2_TEST_S3_REGION              default us-east-1
 */
import { randomBytes } from 'node:crypto';
import {
  CreateBucketCommand,
  DeleteBucketCommand,
  DeleteObjectsCommand,
  ListObjectsV2Command,
  S3Client,
} from '@aws-sdk/client-s3';

export interface S3TestConfig {
  endpoint: string;
  accessKeyId: string;
  secretAccessKey: string;
  region: string;
}

/** Set by the globalSetup when it could not provide S3; S3 tests fail with this reason. */
export const UNAVAILABLE_ENV = 'S2_TEST_S3_UNAVAILABLE';

export function s3TestConfig(): S3TestConfig {
  const env = process.env;
  const endpoint = env.S2_TEST_S3_ENDPOINT;
  if (!endpoint) {
    throw new Error(
      env[UNAVAILABLE_ENV] ??
        'no S3 endpoint for tests: run through vitest (globalSetup test/setup/s3.ts) or set S2_TEST_S3_ENDPOINT',
    );
  }
  return {
    endpoint,
    accessKeyId: env.S2_TEST_S3_ACCESS_KEY_ID || 'TESTAK',
    secretAccessKey: env.S2_TEST_S3_SECRET_ACCESS_KEY || 'TESTSK',
    region: env.S2_TEST_S3_REGION || 'us-east-1',
  };
}

/** A raw SDK client for test plumbing (bucket setup), with the same explicit options as the store. */
export function testS3Client(config: S3TestConfig = s3TestConfig(), maxAttempts = 3): S3Client {
  return new S3Client({
    endpoint: config.endpoint,
    region: config.region,
    forcePathStyle: true,
    credentials: { accessKeyId: config.accessKeyId, secretAccessKey: config.secretAccessKey },
    maxAttempts,
    requestChecksumCalculation: 'WHEN_REQUIRED',
    responseChecksumValidation: 'WHEN_REQUIRED',
  });
}

export interface TestBucket {
  bucket: string;
  config: S3TestConfig;
  /** Deletes every object in the bucket, then the bucket. */
  cleanup(): Promise<void>;
}

/** Creates a bucket with a fresh random name (so runs never see each other's objects). */
export async function createTestBucket(): Promise<TestBucket> {
  const config = s3TestConfig();
  const client = testS3Client(config);
  const bucket = `s2t-${randomBytes(8).toString('hex')}`;
  await client.send(new CreateBucketCommand({ Bucket: bucket }));
  return {
    bucket,
    config,
    async cleanup() {
      try {
        await emptyBucket(client, bucket);
        await client.send(new DeleteBucketCommand({ Bucket: bucket }));
      } finally {
        client.destroy();
      }
    },
  };
}

async function emptyBucket(client: S3Client, bucket: string): Promise<void> {
  for (;;) {
    const page = await client.send(new ListObjectsV2Command({ Bucket: bucket, MaxKeys: 1000 }));
    const keys = (page.Contents ?? []).map((o) => ({ Key: o.Key! }));
    if (keys.length === 0) return;
    await client.send(new DeleteObjectsCommand({ Bucket: bucket, Delete: { Objects: keys, Quiet: true } }));
  }
}
