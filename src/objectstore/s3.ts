/**
 * S3 object store (`--bucket`), on @aws-sdk/client-s3 (pinned; see package.json).
 *
 * Client options are explicit rather than SDK defaults:
 * - maxAttempts 1: retries belong to the stream log (storage/store-ops.ts), which knows how to resolve
 *   an ambiguous conditional put (HEAD + put-id); SDK retries would hide those ambiguities from it.
 * - checksums only when an operation requires them: S3-compatible servers differ in support for the
 *   newer flexible checksums, and SigV4 already covers the payload.
 * - a per-request deadline (socket-level timeouts plus an abort timer on the injected clock) and
 *   keep-alive connections.
 */
import http from 'node:http';
import https from 'node:https';
import {
  DeleteObjectCommand,
  DeleteObjectsCommand,
  GetObjectCommand,
  HeadBucketCommand,
  HeadObjectCommand,
  ListObjectsV2Command,
  PutObjectCommand,
  S3Client,
} from '@aws-sdk/client-s3';
import { NodeHttpHandler } from '@smithy/node-http-handler';
import { systemClock, type Clock } from '../util/clock.js';
import { validateKey, validatePutId } from './keys.js';
import { httpStatus, mapS3Error } from './s3-errors.js';
import { ObjectStoreError, type ByteRange, type ObjectInfo, type ObjectStore, type PutOptions } from './types.js';

export interface S3ObjectStoreOptions {
  bucket: string;
  /** Key prefix inside the bucket; a '/' is appended if missing. '' = bucket root. */
  prefix: string;
  endpoint?: string;
  region?: string;
  forcePathStyle?: boolean;
  credentials?: { accessKeyId: string; secretAccessKey: string; sessionToken?: string };
  /** Deadline for one request, from send to the last byte of the response. */
  requestTimeoutMs: number;
  /** Deadline for establishing a connection (default: min(requestTimeoutMs, 5000)). */
  connectTimeoutMs?: number;
  /** Keep-alive sockets per host. */
  maxSockets?: number;
  clock?: Clock;
}

/** S3 caps DeleteObjects at 1000 keys. */
const DELETE_BATCH = 1000;
const LIST_PAGE = 1000;

export class S3ObjectStore implements ObjectStore {
  readonly bucket: string;
  readonly prefix: string;
  private readonly client: S3Client;
  private readonly clock: Clock;
  private readonly requestTimeoutMs: number;
  /** Set once the server rejects DeleteObjects; from then on keys are deleted one by one. */
  private batchDeleteUnsupported = false;

  constructor(options: S3ObjectStoreOptions) {
    this.bucket = options.bucket;
    this.prefix = options.prefix === '' || options.prefix.endsWith('/') ? options.prefix : `${options.prefix}/`;
    this.clock = options.clock ?? systemClock;
    this.requestTimeoutMs = options.requestTimeoutMs;
    const agentOptions = { keepAlive: true, maxSockets: options.maxSockets ?? 64 };
    this.client = new S3Client({
      region: options.region ?? 'us-east-1',
      endpoint: options.endpoint,
      forcePathStyle: options.forcePathStyle ?? options.endpoint !== undefined,
      credentials: options.credentials,
      maxAttempts: 1,
      requestChecksumCalculation: 'WHEN_REQUIRED',
      responseChecksumValidation: 'WHEN_REQUIRED',
      requestHandler: new NodeHttpHandler({
        connectionTimeout: options.connectTimeoutMs ?? Math.min(options.requestTimeoutMs, 5_000),
        requestTimeout: options.requestTimeoutMs,
        throwOnRequestTimeout: true,
        httpAgent: new http.Agent(agentOptions),
        httpsAgent: new https.Agent(agentOptions),
      }),
    });
  }

  /** Builds a store from the standard AWS environment variables (see `s3OptionsFromEnv`). */
  static fromEnv(
    bucket: string,
    prefix: string,
    overrides: Partial<S3ObjectStoreOptions> = {},
    env: NodeJS.ProcessEnv = process.env,
  ): S3ObjectStore {
    return new S3ObjectStore({ ...s3OptionsFromEnv(bucket, prefix, env), ...overrides });
  }

  /** HEAD the bucket so a missing bucket or bad credentials fail at startup with a clear message. */
  async checkAccess(): Promise<void> {
    await this.send('head', '', (abortSignal) =>
      this.client.send(new HeadBucketCommand({ Bucket: this.bucket }), { abortSignal }),
    ).catch((error: ObjectStoreError) => {
      // HEAD responses carry no error body, so a 404 here can only mean the bucket.
      if (error.kind === 'NotFound' || httpStatus(error) === 404) {
        throw new ObjectStoreError('Fatal', `bucket ${this.bucket} does not exist (${this.describe()})`, {
          cause: error,
        });
      }
      throw error;
    });
  }

  async put(key: string, body: Uint8Array, options: PutOptions = {}): Promise<void> {
    validateKey(key);
    validatePutId(options.putId);
    await this.send('put', key, (abortSignal) =>
      this.client.send(
        new PutObjectCommand({
          Bucket: this.bucket,
          Key: this.prefix + key,
          Body: body,
          ContentLength: body.length,
          IfNoneMatch: options.ifNoneMatch,
          Metadata: options.putId === undefined ? undefined : { 'put-id': options.putId },
        }),
        { abortSignal },
      ),
    );
  }

  async get(key: string, range?: ByteRange): Promise<Uint8Array> {
    validateKey(key);
    const start = Math.max(range?.start ?? 0, 0);
    if (range?.end !== undefined && range.end <= start) {
      // 'bytes=5-4' is not a valid range and S3 would answer with the whole object; only existence matters.
      if (!(await this.head(key)))
        throw new ObjectStoreError('NotFound', `object ${key} not found in ${this.describe()}`);
      return new Uint8Array(0);
    }
    const header = range ? `bytes=${start}-${range.end === undefined ? '' : range.end - 1}` : undefined;
    try {
      return await this.send('get', key, async (abortSignal) => {
        const response = await this.client.send(
          new GetObjectCommand({ Bucket: this.bucket, Key: this.prefix + key, Range: header }),
          { abortSignal },
        );
        return response.Body ? await response.Body.transformToByteArray() : new Uint8Array(0);
      });
    } catch (error) {
      // 416: the range starts at or past the end (including any range of an empty object). The object
      // exists, and the contract clamps ranges, so this is zero bytes.
      if (httpStatus(error) === 416) return new Uint8Array(0);
      throw error;
    }
  }

  async head(key: string): Promise<ObjectInfo | null> {
    validateKey(key);
    try {
      return await this.send('head', key, async (abortSignal) => {
        const response = await this.client.send(
          new HeadObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }),
          {
            abortSignal,
          },
        );
        return { key, size: response.ContentLength ?? 0, putId: response.Metadata?.['put-id'] };
      });
    } catch (error) {
      if (error instanceof ObjectStoreError && error.kind === 'NotFound') return null;
      throw error;
    }
  }

  async list(prefix: string, options: { startAfter?: string; limit?: number } = {}): Promise<ObjectInfo[]> {
    const limit = options.limit ?? Infinity;
    const out: ObjectInfo[] = [];
    let continuationToken: string | undefined;
    while (out.length < limit) {
      const page = await this.send('list', prefix, (abortSignal) =>
        this.client.send(
          new ListObjectsV2Command({
            Bucket: this.bucket,
            Prefix: this.prefix + prefix,
            StartAfter: options.startAfter === undefined ? undefined : this.prefix + options.startAfter,
            ContinuationToken: continuationToken,
            MaxKeys: Math.min(LIST_PAGE, limit - out.length),
          }),
          { abortSignal },
        ),
      );
      for (const object of page.Contents ?? []) {
        if (object.Key === undefined || out.length >= limit) continue;
        out.push({ key: object.Key.slice(this.prefix.length), size: object.Size ?? 0 });
      }
      if (!page.IsTruncated || !page.NextContinuationToken) break;
      continuationToken = page.NextContinuationToken;
    }
    return out;
  }

  async delete(keys: string[]): Promise<void> {
    keys.forEach(validateKey);
    for (let i = 0; i < keys.length; i += DELETE_BATCH) {
      const batch = keys.slice(i, i + DELETE_BATCH);
      if (!this.batchDeleteUnsupported) {
        try {
          await this.deleteBatch(batch);
          continue;
        } catch (error) {
          if (!isBatchDeleteRejected(error)) throw error;
          this.batchDeleteUnsupported = true;
        }
      }
      await Promise.all(
        batch.map((key) =>
          this.send('delete', key, (abortSignal) =>
            this.client.send(new DeleteObjectCommand({ Bucket: this.bucket, Key: this.prefix + key }), {
              abortSignal,
            }),
          ),
        ),
      );
    }
  }

  describe(): string {
    return `s3://${this.bucket}/${this.prefix}`;
  }

  async close(): Promise<void> {
    this.client.destroy();
  }

  private async deleteBatch(keys: string[]): Promise<void> {
    const response = await this.send('delete', keys[0], (abortSignal) =>
      this.client.send(
        new DeleteObjectsCommand({
          Bucket: this.bucket,
          Delete: { Objects: keys.map((key) => ({ Key: this.prefix + key })), Quiet: true },
        }),
        { abortSignal },
      ),
    );
    // DeleteObjects answers 200 even when single keys fail; absent keys are not errors in S3.
    const failed = response.Errors ?? [];
    if (failed.length > 0) {
      const first = failed[0];
      const kind = first.Code === 'AccessDenied' ? 'Fatal' : 'Transient';
      throw new ObjectStoreError(
        kind,
        `delete of ${failed.length} object(s) in ${this.describe()} failed, e.g. ${first.Key}: ${first.Code} ${first.Message}`,
      );
    }
  }

  /** Runs one request with the per-request deadline and maps its errors. */
  private async send<T>(op: string, key: string, request: (abortSignal: AbortSignal) => Promise<T>): Promise<T> {
    const controller = new AbortController();
    const timer = this.clock.setTimer(this.requestTimeoutMs, () => controller.abort());
    try {
      return await request(controller.signal);
    } catch (error) {
      throw mapS3Error(error, { op, bucket: this.bucket, key: this.prefix + key, timedOut: controller.signal.aborted });
    } finally {
      timer.cancel();
    }
  }
}

function isBatchDeleteRejected(error: unknown): boolean {
  if (!(error instanceof ObjectStoreError) || error.kind !== 'Fatal') return false;
  const name = (error.cause as { name?: string } | undefined)?.name;
  const status = httpStatus(error);
  // Not an auth or bucket problem (those would fail per key too), but the operation itself refused.
  return (
    status === 501 ||
    status === 405 ||
    name === 'NotImplemented' ||
    name === 'InvalidRequest' ||
    name === 'InvalidDigest'
  );
}

/**
 * Options from the standard AWS environment: AWS_ENDPOINT_URL_S3 (or AWS_ENDPOINT_URL), AWS_ACCESS_KEY_ID,
 * AWS_SECRET_ACCESS_KEY, AWS_SESSION_TOKEN, AWS_REGION / AWS_DEFAULT_REGION (default us-east-1), and
 * S2LITE_S3_PATH_STYLE=true|false (default: path-style iff a custom endpoint is set). Without keys in the
 * environment the SDK's default provider chain (profiles, SSO, instance metadata) applies.
 */
export function s3OptionsFromEnv(
  bucket: string,
  prefix: string,
  env: NodeJS.ProcessEnv = process.env,
): S3ObjectStoreOptions {
  const endpoint = env.AWS_ENDPOINT_URL_S3 || env.AWS_ENDPOINT_URL || undefined;
  const pathStyle = env.S2LITE_S3_PATH_STYLE;
  if (pathStyle !== undefined && pathStyle !== '' && pathStyle !== 'true' && pathStyle !== 'false') {
    throw new Error(`S2LITE_S3_PATH_STYLE must be 'true' or 'false', got ${JSON.stringify(pathStyle)}`);
  }
  const { AWS_ACCESS_KEY_ID: accessKeyId, AWS_SECRET_ACCESS_KEY: secretAccessKey } = env;
  if (Boolean(accessKeyId) !== Boolean(secretAccessKey)) {
    throw new Error('set both AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY, or neither');
  }
  return {
    bucket,
    prefix,
    endpoint,
    region: env.AWS_REGION || env.AWS_DEFAULT_REGION || 'us-east-1',
    forcePathStyle: pathStyle ? pathStyle === 'true' : endpoint !== undefined,
    credentials:
      accessKeyId && secretAccessKey
        ? { accessKeyId, secretAccessKey, sessionToken: env.AWS_SESSION_TOKEN || undefined }
        : undefined,
    requestTimeoutMs: 30_000,
  };
}
