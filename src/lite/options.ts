/**
 * The options of a server, shared by `s2-lite serve` (its flags) and `S2Lite.start` (an object):
 * one list, one set of checks, one clear error per mistake. Errors name the option the way the
 * caller wrote it (`localRoot` for the API, `--local-root` for the command line).
 */
import { readFileSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { generate as generateCert } from 'selfsigned';
import { tokenSyntaxProblem } from '../api/auth/token.js';
import { appendInflightBytesDefault, appendInflightBytesMin, rootTokenCharsMin } from '../limits.js';
import { parseDurationMs, parseSize } from '../util/units.js';
import { loadResourceSpec, parseResourceSpec, type ResourceSpec } from './spec.js';

export type LogLevel = 'trace' | 'debug' | 'info' | 'warn' | 'error' | 'fatal' | 'silent';

export interface S2LiteOptions {
  /** Address to bind. Default `127.0.0.1`; `0.0.0.0` accepts remote connections. */
  host?: string;
  /** Port to listen on. Default 0: a free port, see `S2Lite.port` / `S2Lite.endpoint`. */
  port?: number;
  /** Keep data on local disk under this directory (fsync before acknowledging). Default: in memory. */
  localRoot?: string;
  /** Keep data in this S3 bucket (the `AWS_*` environment variables configure the client). */
  bucket?: string;
  /** Key prefix inside the bucket. */
  path?: string;
  /** Serve HTTPS with a self-signed certificate for localhost. */
  tlsSelf?: boolean;
  /** TLS certificate file (PEM); requires `tlsKey`. */
  tlsCert?: string;
  /** TLS private key file (PEM); requires `tlsCert`. */
  tlsKey?: string;
  /** Send CORS headers. Default true. */
  cors?: boolean;
  /** Serve the web console at `/` and `/console/`. Default false (the command line: on, `--no-console`). */
  console?: boolean;
  /** Basins and streams to create or update at start and after every `reset()` (JSON file). */
  initFile?: string;
  /** The same resource spec inline, in the file's JSON shape (`{ basins: [...] }`). */
  init?: unknown;
  /** Budget of appended bytes awaiting durability: bytes, or a size such as `"128MiB"`. */
  appendInflightBytes?: number | string;
  /** Minimum time between storage flushes: milliseconds, or a duration such as `"50ms"`. */
  flushInterval?: number | string;
  /** Level of the JSON log lines written to stderr. Default `warn` (the command line: `info`). */
  logLevel?: LogLevel;
  /** A pino logger to use instead of one on stderr (`logLevel` is then ignored). */
  logger?: Logger;
  /**
   * Require an access token on every API request (docs/security.md). Default false: no
   * authentication, as in the reference s2-lite.
   */
  auth?: boolean;
  /** The root token (with `auth`). Default: generated at first start, its hash stored (`S2Lite.rootToken`). */
  rootToken?: string;
  /** A file holding the root token (with `auth`); surrounding whitespace is ignored. */
  rootTokenFile?: string;
  /** Generate a new root token, replacing the stored one (with `auth`, without `rootToken`/`rootTokenFile`). */
  rotateRootToken?: boolean;
  /** `/metrics` requires a token allowed `account-metrics` too (with `auth`). Default false: public. */
  metricsAuth?: boolean;
}

/** Authentication, resolved: where the root token comes from. */
export interface AuthSettings {
  /** The root token the operator gave, and how (the command line prints how, never the token). */
  given?: { token: string; source: 'option' | 'file'; file?: string };
  rotate: boolean;
  metricsAuth: boolean;
}

export type StorageMode =
  { kind: 'memory' } | { kind: 'local'; root: string } | { kind: 's3'; bucket: string; prefix: string };

/** Options after checking: what the server is built from. */
export interface ResolvedOptions {
  host: string;
  port: number;
  storage: StorageMode;
  tls?: { cert: string | Buffer; key: string | Buffer };
  /** The certificate is self-signed: clients must be told not to verify it. */
  tlsSelfSigned: boolean;
  cors: boolean;
  console: boolean;
  spec?: ResourceSpec;
  appendInflightBytes: number;
  flushIntervalMs?: number;
  logger: Logger;
  /** Absent: no authentication. */
  auth?: AuthSettings;
}

/** How errors name an option: `api` as in `S2LiteOptions`, `cli` as the `serve` flag. */
export type OptionNaming = 'api' | 'cli';

const optionKeys: ReadonlySet<string> = new Set<keyof S2LiteOptions>([
  'host',
  'port',
  'localRoot',
  'bucket',
  'path',
  'tlsSelf',
  'tlsCert',
  'tlsKey',
  'cors',
  'console',
  'initFile',
  'init',
  'appendInflightBytes',
  'flushInterval',
  'logLevel',
  'logger',
  'auth',
  'rootToken',
  'rootTokenFile',
  'rotateRootToken',
  'metricsAuth',
]);
const logLevels: readonly string[] = ['trace', 'debug', 'info', 'warn', 'error', 'fatal', 'silent'];

/** Log lines never carry secrets (docs/security.md; tokens travel in these headers and options). */
export const loggerRedaction = {
  paths: [
    'req.headers.authorization',
    'req.headers["s2-encryption-key"]',
    'headers.authorization',
    'rootToken',
    '*.rootToken',
    'access_token',
    '*.access_token',
  ],
  remove: true,
};

export class OptionError extends Error {
  override name = 'OptionError';
}

function nameOf(key: string, naming: OptionNaming): string {
  return naming === 'api' ? `\`${key}\`` : `--${key.replace(/[A-Z]/g, (c) => `-${c.toLowerCase()}`)}`;
}

export function storageMode(options: S2LiteOptions, naming: OptionNaming = 'api'): StorageMode {
  if (options.localRoot && options.bucket) {
    throw new OptionError(`${nameOf('localRoot', naming)} and ${nameOf('bucket', naming)} cannot be used together`);
  }
  if (options.bucket) return { kind: 's3', bucket: options.bucket, prefix: options.path ?? '' };
  if (options.localRoot) return { kind: 'local', root: options.localRoot };
  return { kind: 'memory' };
}

export function describeStorage(mode: StorageMode): string {
  switch (mode.kind) {
    case 'memory':
      return 'in-memory (data is lost when the process exits)';
    case 'local':
      return `local disk at ${mode.root} (fsync before acknowledging)`;
    case 's3':
      return `S3 bucket ${mode.bucket}${mode.prefix ? ` under ${mode.prefix}` : ''}`;
  }
}

/** Type checks for callers without TypeScript: a wrong type is an error, not a surprise later. */
function checkTypes(options: S2LiteOptions, naming: OptionNaming): void {
  const record = options as Record<string, unknown>;
  for (const key of Object.keys(record)) {
    if (!optionKeys.has(key)) throw new OptionError(`unknown option ${nameOf(key, naming)}`);
  }
  const expect = (key: keyof S2LiteOptions, ok: (v: unknown) => boolean, what: string) => {
    const value = record[key];
    if (value !== undefined && !ok(value)) throw new OptionError(`${nameOf(key, naming)}: expected ${what}`);
  };
  const string = (v: unknown) => typeof v === 'string';
  const boolean = (v: unknown) => typeof v === 'boolean';
  for (const key of [
    'host',
    'localRoot',
    'bucket',
    'path',
    'tlsCert',
    'tlsKey',
    'initFile',
    'rootTokenFile',
  ] as const) {
    expect(key, string, 'a string');
  }
  // Never echo the value: it may be a token.
  expect('rootToken', string, 'a string');
  for (const key of ['tlsSelf', 'cors', 'console', 'auth', 'rotateRootToken', 'metricsAuth'] as const) {
    expect(key, boolean, 'true or false');
  }
  expect(
    'port',
    (v) => Number.isInteger(v) && (v as number) >= 0 && (v as number) <= 65535,
    'an integer from 0 to 65535',
  );
  expect(
    'appendInflightBytes',
    (v) => string(v) || (Number.isSafeInteger(v) && (v as number) > 0),
    'a positive number of bytes or a size',
  );
  expect(
    'flushInterval',
    (v) => string(v) || (Number.isFinite(v) && (v as number) >= 0),
    'milliseconds (>= 0) or a duration',
  );
  if (record.logLevel !== undefined) checkLogLevel(record.logLevel, naming);
  expect(
    'logger',
    (v) => typeof v === 'object' && v !== null && typeof (v as Logger).info === 'function',
    'a pino logger',
  );
}

function readPem(file: string, option: string): Buffer {
  try {
    return readFileSync(file);
  } catch (error) {
    throw new OptionError(`${option}: cannot read ${file}: ${(error as Error).message}`);
  }
}

async function tlsMaterial(
  options: S2LiteOptions,
  naming: OptionNaming,
): Promise<{ cert: string | Buffer; key: string | Buffer } | undefined> {
  const [self, cert, key] = [nameOf('tlsSelf', naming), nameOf('tlsCert', naming), nameOf('tlsKey', naming)];
  if (options.tlsSelf && (options.tlsCert || options.tlsKey))
    throw new OptionError(`${self} cannot be combined with ${cert}/${key}`);
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey))
    throw new OptionError(`${cert} and ${key} require each other`);
  if (options.tlsCert && options.tlsKey) {
    return { cert: readPem(options.tlsCert, cert), key: readPem(options.tlsKey, key) };
  }
  if (!options.tlsSelf) return undefined;
  const pems = await generateCert([{ name: 'commonName', value: 'localhost' }], {
    keySize: 2048,
    algorithm: 'sha256',
    extensions: [
      {
        name: 'subjectAltName',
        altNames: [
          { type: 2, value: 'localhost' },
          { type: 7, ip: '127.0.0.1' },
          { type: 7, ip: '::1' },
        ],
      },
    ],
  });
  return { cert: pems.cert, key: pems.private };
}

function resourceSpec(options: S2LiteOptions, naming: OptionNaming): ResourceSpec | undefined {
  if (options.initFile !== undefined && options.init !== undefined) {
    throw new OptionError(`${nameOf('initFile', naming)} and ${nameOf('init', naming)} cannot be used together`);
  }
  try {
    if (options.initFile) return loadResourceSpec(options.initFile);
    return options.init === undefined ? undefined : parseResourceSpec(options.init);
  } catch (error) {
    throw new OptionError((error as Error).message, { cause: error });
  }
}

function sizeOption(value: number | string | undefined, key: string, naming: OptionNaming): number | undefined {
  if (typeof value !== 'string') return value;
  try {
    return parseSize(value);
  } catch (error) {
    throw new OptionError(`${nameOf(key, naming)}: ${(error as Error).message}`);
  }
}

function durationOption(value: number | string | undefined, key: string, naming: OptionNaming): number | undefined {
  if (typeof value !== 'string') return value;
  try {
    return parseDurationMs(value);
  } catch (error) {
    throw new OptionError(`${nameOf(key, naming)}: ${(error as Error).message}`);
  }
}

export function checkLogLevel(level: unknown, naming: OptionNaming): LogLevel {
  if (!logLevels.includes(level as string)) {
    throw new OptionError(`${nameOf('logLevel', naming)}: expected one of ${logLevels.join(', ')}`);
  }
  return level as LogLevel;
}

/** The logger `S2Lite` uses when given none: JSON lines on stderr. */
export function stderrLogger(level: LogLevel): Logger {
  return pino({ level, redact: loggerRedaction }, pino.destination(2));
}

function checkRootToken(token: string, option: string): string {
  const problem = tokenSyntaxProblem(token);
  if (problem) throw new OptionError(`${option}: ${problem}`);
  if (token.length < rootTokenCharsMin)
    throw new OptionError(`${option}: must be at least ${rootTokenCharsMin} characters`);
  return token;
}

/** The authentication options, checked; the root token file read. Errors never include a token. */
function authSettings(options: S2LiteOptions, naming: OptionNaming): AuthSettings | undefined {
  const dependents = ['rootToken', 'rootTokenFile', 'rotateRootToken', 'metricsAuth'] as const;
  if (!options.auth) {
    const given = dependents.find((key) => options[key] !== undefined && options[key] !== false);
    if (given) throw new OptionError(`${nameOf(given, naming)} requires ${nameOf('auth', naming)}`);
    return undefined;
  }
  const [token, file, rotate] = [
    nameOf('rootToken', naming),
    nameOf('rootTokenFile', naming),
    nameOf('rotateRootToken', naming),
  ];
  if (options.rootToken !== undefined && options.rootTokenFile !== undefined) {
    throw new OptionError(`${token} and ${file} cannot be used together`);
  }
  const settings: AuthSettings = {
    rotate: options.rotateRootToken === true,
    metricsAuth: options.metricsAuth === true,
  };
  if (options.rootToken !== undefined) {
    settings.given = { token: checkRootToken(options.rootToken, token), source: 'option' };
  } else if (options.rootTokenFile !== undefined) {
    let text: string;
    try {
      text = readFileSync(options.rootTokenFile, 'utf8');
    } catch (error) {
      throw new OptionError(`${file}: cannot read ${options.rootTokenFile}: ${(error as Error).message}`);
    }
    const fromFile = checkRootToken(text.trim(), `${file} ${options.rootTokenFile}`);
    settings.given = { token: fromFile, source: 'file', file: options.rootTokenFile };
  }
  if (settings.rotate && settings.given) throw new OptionError(`${rotate} cannot be combined with a given root token`);
  return settings;
}

/** Checks `options` and loads what they name (TLS files, the init spec). Throws `OptionError`. */
export async function resolveOptions(options: S2LiteOptions, naming: OptionNaming = 'api'): Promise<ResolvedOptions> {
  checkTypes(options, naming);
  const storage = storageMode(options, naming);
  const tls = await tlsMaterial(options, naming);
  const spec = resourceSpec(options, naming);
  const budget = sizeOption(options.appendInflightBytes, 'appendInflightBytes', naming) ?? appendInflightBytesDefault;
  return {
    host: options.host ?? '127.0.0.1',
    port: options.port ?? 0,
    storage,
    tls,
    tlsSelfSigned: options.tlsSelf === true,
    cors: options.cors ?? true,
    console: options.console ?? false,
    spec,
    // Below the minimum, appends larger than the budget could never be admitted.
    appendInflightBytes: Math.max(appendInflightBytesMin, budget),
    flushIntervalMs: durationOption(options.flushInterval, 'flushInterval', naming),
    logger: options.logger ?? stderrLogger(options.logLevel ?? 'warn'),
    auth: authSettings(options, naming),
  };
}
