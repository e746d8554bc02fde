/**
 * Maps errors of @aws-sdk/client-s3 (service exceptions and Node socket errors) to ObjectStoreError kinds.
 * The retry layer acts only on the kind, so the mapping decides what is retried:
 * - 412 -> PreconditionFailed (create-if-absent lost);
 * - 404 / NoSuchKey -> NotFound, but NoSuchBucket -> Fatal (nothing will work until configuration changes);
 * - 401/403 and credential errors -> Fatal with a hint;
 * - 409 ConditionalRequestConflict, 5xx, throttling, timeouts and socket errors -> Transient: the request
 *   may or may not have been applied.
 */
import { ObjectStoreError } from './types.js';

interface SdkErrorShape {
  name?: string;
  code?: string;
  message?: string;
  $fault?: 'client' | 'server';
  $metadata?: { httpStatusCode?: number };
}

const TRANSIENT_NAMES = new Set([
  'ConditionalRequestConflict',
  'OperationAborted',
  'SlowDown',
  'Throttling',
  'ThrottlingException',
  'TooManyRequestsException',
  'RequestTimeout',
  'RequestTimeTooSkewed',
  'InternalError',
  'ServiceUnavailable',
  'TimeoutError',
  'AbortError',
]);

const FATAL_AUTH_NAMES = new Set([
  'AccessDenied',
  'InvalidAccessKeyId',
  'SignatureDoesNotMatch',
  'ExpiredToken',
  'InvalidToken',
  'TokenRefreshRequired',
  'CredentialsProviderError',
  'AllAccessDisabled',
]);

const SOCKET_CODES = new Set([
  'ECONNRESET',
  'ECONNREFUSED',
  'ECONNABORTED',
  'EPIPE',
  'ETIMEDOUT',
  'ENOTFOUND',
  'EAI_AGAIN',
  'EHOSTUNREACH',
  'ENETUNREACH',
  'ENETDOWN',
  'EADDRNOTAVAIL',
]);

export interface S3ErrorContext {
  op: string;
  bucket: string;
  key: string;
  /** Our own per-request deadline fired (the SDK then reports an AbortError). */
  timedOut?: boolean;
}

/** The HTTP status behind a mapped (or raw SDK) error, if there was a response. */
export function httpStatus(error: unknown): number | undefined {
  const shape = error instanceof ObjectStoreError ? error.cause : error;
  return (shape as SdkErrorShape | undefined)?.$metadata?.httpStatusCode;
}

export function mapS3Error(error: unknown, context: S3ErrorContext): ObjectStoreError {
  if (error instanceof ObjectStoreError) return error;
  const e = (error ?? {}) as SdkErrorShape;
  const status = e.$metadata?.httpStatusCode;
  const name = e.name ?? 'Error';
  const where = `${context.op} s3://${context.bucket}/${context.key}`;
  const detail = `${where}: ${name}${status ? ` (${status})` : ''}${e.message && e.message !== name && e.message !== 'UnknownError' ? `: ${e.message}` : ''}`;
  const make = (kind: ObjectStoreError['kind'], message = detail) =>
    new ObjectStoreError(kind, message, { cause: error });

  if (context.timedOut) return make('Transient', `${where}: request timed out`);
  if (status === 412 || name === 'PreconditionFailed') return make('PreconditionFailed');
  if (name === 'NoSuchBucket') return make('Fatal', `bucket ${context.bucket} does not exist (${detail})`);
  if (status === 404 || name === 'NoSuchKey' || name === 'NotFound') return make('NotFound');
  if (status === 401 || status === 403 || FATAL_AUTH_NAMES.has(name)) {
    return make(
      'Fatal',
      `access to bucket ${context.bucket} denied; check the credentials and permissions (${detail})`,
    );
  }
  // 501: the server lacks the feature; asking again will not add it.
  if (status === 501 || name === 'NotImplemented') return make('Fatal');
  if (status === 409 || status === 429 || (status !== undefined && status >= 500)) return make('Transient');
  if (TRANSIENT_NAMES.has(name)) return make('Transient');
  if (e.code !== undefined && SOCKET_CODES.has(e.code))
    return make('Transient', `${where}: ${e.code} ${e.message ?? ''}`);
  if (error instanceof TypeError || error instanceof RangeError || error instanceof SyntaxError) {
    return make('Fatal'); // a bug or bad configuration, not the network
  }
  // No HTTP response at all: a network-level failure the SDK surfaced under another name.
  if (status === undefined && e.$fault === undefined) return make('Transient');
  // Any other 4xx is a request we built wrong or a server that lacks a feature: retrying cannot help.
  return make('Fatal');
}
