/**
 * What every client command shares: the S2 client configured like the official CLI
 * (S2_ACCOUNT_ENDPOINT, S2_BASIN_ENDPOINT, S2_ACCESS_TOKEN), `s2://basin/stream` URIs, and turning
 * any failure into one readable line on stderr with a non-zero exit code.
 */
import {
  FencingTokenMismatchError,
  RangeNotSatisfiableError,
  S2,
  S2Error,
  SeqNumMismatchError,
  type S2Basin,
} from '@s2-dev/streamstore';

/** Where the CLI goes when nothing is configured: a local `s2-lite serve` with its default port. */
export const defaultEndpoint = 'http://127.0.0.1:8080';

export interface ClientConfig {
  accountEndpoint: string;
  basinEndpoint: string;
  accessToken: string;
}

export function clientConfig(env: NodeJS.ProcessEnv = process.env): ClientConfig {
  const account = env.S2_ACCOUNT_ENDPOINT || undefined;
  const basin = env.S2_BASIN_ENDPOINT || undefined;
  return {
    // One endpoint set alone serves both roles, which is what a single lite server needs.
    accountEndpoint: account ?? basin ?? defaultEndpoint,
    basinEndpoint: basin ?? account ?? defaultEndpoint,
    // Lite does not authenticate, but the SDK insists on a token.
    accessToken: env.S2_ACCESS_TOKEN || 'ignored',
  };
}

let cached: S2 | undefined;

export function s2Client(): S2 {
  if (cached) return cached;
  const config = clientConfig();
  // `serve --tls-self` prints S2_SSL_NO_VERIFY=1 for its self-signed certificate; honour it the way
  // the official CLI does. Node reads this variable at every TLS connect (fetch and HTTP/2 alike).
  if (/^(1|true|yes)$/i.test(process.env.S2_SSL_NO_VERIFY ?? '')) process.env.NODE_TLS_REJECT_UNAUTHORIZED = '0';
  cached = new S2({
    accessToken: config.accessToken,
    endpoints: { account: config.accountEndpoint, basin: config.basinEndpoint },
    // Retry an append only when it provably had no effect, so a retry never duplicates records.
    retry: { appendRetryPolicy: 'noSideEffects' },
  });
  return cached;
}

export function basinClient(name: string): S2Basin {
  return s2Client().basin(name);
}

export interface StreamUri {
  basin: string;
  stream: string;
}

/** `s2://basin` (stream optional) or `s2://basin/stream`; the stream name may contain `/`. */
export function parseUri(text: string, what: 'basin' | 'stream' | 'either'): { basin: string; stream?: string } {
  const match = /^s2:\/\/([^/]+)(?:\/(.*))?$/.exec(text);
  if (!match) {
    throw new UsageError(`invalid S2 URI \`${text}\` (expected s2://basin${what === 'basin' ? '' : '/stream'})`);
  }
  const basin = match[1]!;
  const stream = match[2] || undefined;
  if (what === 'stream' && !stream) throw new UsageError(`\`${text}\` names no stream (expected s2://basin/stream)`);
  if (what === 'basin' && stream) throw new UsageError(`\`${text}\` names a stream; expected a basin (s2://basin)`);
  return { basin, stream };
}

export function parseStreamUri(text: string): StreamUri {
  const { basin, stream } = parseUri(text, 'stream');
  return { basin, stream: stream! };
}

/** A basin given either bare (`my-basin`) or as `s2://my-basin`, as the official CLI accepts. */
export function parseBasinArg(text: string): string {
  return text.startsWith('s2://') ? parseUri(text, 'basin').basin : text;
}

/** A mistake in how the command was called (as opposed to a failure of the operation). */
export class UsageError extends Error {}

function oneLine(text: string): string {
  return text.replace(/\s*\n\s*/g, ' ').trim();
}

/** One readable line for any failure, with the typed SDK errors spelled out. */
export function describeError(error: unknown): string {
  if (error instanceof FencingTokenMismatchError) {
    return `fencing token mismatch: the stream's current fencing token is ${JSON.stringify(error.expectedFencingToken)}`;
  }
  if (error instanceof SeqNumMismatchError) {
    return `sequence number mismatch: the stream's next sequence number is ${error.expectedSeqNum}`;
  }
  if (error instanceof RangeNotSatisfiableError) {
    const tail = error.tail ? ` (tail is at seq_num ${error.tail.seqNum})` : '';
    return `nothing to read: the start position is at or beyond the tail of the stream${tail}`;
  }
  if (error instanceof S2Error) {
    const unreachable = /ECONNREFUSED|ENOTFOUND|EHOSTUNREACH|ECONNRESET|ETIMEDOUT|NETWORK_ERROR|UND_ERR_CONNECT/;
    if (error.origin === 'sdk' && unreachable.test(`${error.code} ${error.message}`)) {
      const { accountEndpoint } = clientConfig();
      return `cannot reach the S2 endpoint ${accountEndpoint} (${error.code ?? error.message}); is the server running? set S2_ACCOUNT_ENDPOINT and S2_BASIN_ENDPOINT to point elsewhere`;
    }
    const code = error.code && !error.message.includes(error.code) ? ` [${error.code}]` : '';
    return `${oneLine(error.message)}${code}`;
  }
  if (error instanceof Error) return oneLine(error.message);
  return oneLine(String(error));
}

export function exitWithError(error: unknown): never {
  process.stderr.write(`error: ${describeError(error)}\n`);
  process.exit(error instanceof UsageError ? 2 : 1);
}

/**
 * Runs a command body and maps any failure to one line and exit code 1 (2 for usage errors).
 * Commander actions are wrapped with this so errors never surface as stack traces. On success the
 * process exits once stdout is flushed: pooled HTTP/2 connections of the SDK would otherwise keep
 * it alive.
 */
export function action<Args extends unknown[]>(fn: (...args: Args) => Promise<void>): (...args: Args) => Promise<void> {
  return async (...args: Args) => {
    try {
      await fn(...args);
    } catch (error) {
      exitWithError(error);
    }
    await new Promise<void>((resolve) => process.stdout.write('', () => resolve()));
    process.exit(process.exitCode ?? 0);
  };
}
