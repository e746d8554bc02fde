import { describe, expect, it } from 'vitest';
import { httpStatus, mapS3Error } from '../../src/objectstore/s3-errors.js';
import { ObjectStoreError } from '../../src/objectstore/types.js';

const ctx = { op: 'put', bucket: 'bkt', key: 'p/k' };
const sdkError = (name: string, status?: number, extra: object = {}) =>
  Object.assign(new Error(`${name} message`), {
    name,
    $fault: status === undefined ? undefined : status >= 500 ? 'server' : 'client',
    $metadata: status === undefined ? {} : { httpStatusCode: status },
    ...extra,
  });

describe('mapS3Error', () => {
  it.each([
    ['PreconditionFailed', 412, 'PreconditionFailed'],
    ['NoSuchKey', 404, 'NotFound'],
    ['NotFound', 404, 'NotFound'],
    ['NoSuchBucket', 404, 'Fatal'],
    ['AccessDenied', 403, 'Fatal'],
    ['InvalidAccessKeyId', 403, 'Fatal'],
    ['SignatureDoesNotMatch', 403, 'Fatal'],
    ['Unknown', 401, 'Fatal'],
    ['ConditionalRequestConflict', 409, 'Transient'],
    ['SlowDown', 503, 'Transient'],
    ['InternalError', 500, 'Transient'],
    ['ServiceUnavailable', 503, 'Transient'],
    ['TooManyRequests', 429, 'Transient'],
    ['InvalidArgument', 400, 'Fatal'],
    ['NotImplemented', 501, 'Fatal'],
  ] as const)('%s (%s) -> %s', (name, status, kind) => {
    const mapped = mapS3Error(sdkError(name, status), ctx);
    expect(mapped.kind).toBe(kind);
    expect(mapped.message).toContain('s3://bkt/p/k');
    expect(httpStatus(mapped)).toBe(status);
  });

  it('names the bucket and hints at credentials', () => {
    expect(mapS3Error(sdkError('NoSuchBucket', 404), ctx).message).toContain('bucket bkt does not exist');
    expect(mapS3Error(sdkError('AccessDenied', 403), ctx).message).toMatch(/bkt denied; check the credentials/);
  });

  it('treats socket errors and timeouts without a response as Transient', () => {
    for (const code of ['ECONNRESET', 'ECONNREFUSED', 'EPIPE', 'ETIMEDOUT']) {
      expect(mapS3Error(Object.assign(new Error(code), { code }), ctx).kind).toBe('Transient');
    }
    expect(mapS3Error(sdkError('TimeoutError'), ctx).kind).toBe('Transient');
    expect(mapS3Error(sdkError('AbortError'), { ...ctx, timedOut: true }).message).toContain('timed out');
  });

  it('treats programming errors as Fatal and passes ObjectStoreErrors through', () => {
    expect(mapS3Error(new TypeError('x is not a function'), ctx).kind).toBe('Fatal');
    const original = new ObjectStoreError('NotFound', 'gone');
    expect(mapS3Error(original, ctx)).toBe(original);
  });
});
