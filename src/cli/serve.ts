/**
 * `s2-lite serve`: open the store, recover, apply the init file, serve until SIGINT/SIGTERM.
 * Loaded only when `serve` runs (main.ts): it pulls in the whole server, which client commands
 * do not need.
 */
import { readFileSync } from 'node:fs';
import pino, { type Logger } from 'pino';
import { generate as generateCert } from 'selfsigned';
import { S2Server } from '../api/server.js';
import { Engine } from '../engine/engine.js';
import { appendInflightBytesMin, shutdownGraceMs } from '../limits.js';
import { openStreamLog } from '../storage/open.js';
import { describeStorage, storageMode, type ServeOptions } from './serve-options.js';
import { loadResourceSpec, type ResourceSpec } from './spec.js';
import { parseDurationMs, parseSize } from './units.js';

/**
 * After taking over a store, wait one manifest poll interval before serving so that a previous
 * instance still running on the same store notices it was fenced and stops serving reads.
 */
const takeoverSettleMs = 1_000;

async function tlsMaterial(
  options: ServeOptions,
): Promise<{ cert: string | Buffer; key: string | Buffer } | undefined> {
  if (options.tlsSelf && (options.tlsCert || options.tlsKey)) {
    throw new Error('--tls-self cannot be combined with --tls-cert/--tls-key');
  }
  if (Boolean(options.tlsCert) !== Boolean(options.tlsKey))
    throw new Error('--tls-cert and --tls-key require each other');
  if (options.tlsCert && options.tlsKey) {
    return { cert: readFileSync(options.tlsCert), key: readFileSync(options.tlsKey) };
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

async function applySpec(engine: Engine, spec: ResourceSpec, logger: Logger): Promise<void> {
  for (const basin of spec.basins) {
    const { outcome } = await engine.ensureBasin(basin.name, basin.config);
    logger.info({ basin: basin.name, outcome }, 'init file: basin');
    for (const stream of basin.streams) {
      const result = await engine.ensureStream(basin.name, stream.name, stream.config);
      logger.info({ basin: basin.name, stream: stream.name, outcome: result.outcome }, 'init file: stream');
    }
  }
}

export function makeLogger(level: string): Logger {
  const pretty = process.stderr.isTTY;
  return pino(
    { level, redact: { paths: ['req.headers.authorization', 'req.headers["s2-encryption-key"]'], remove: true } },
    pretty
      ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true } })
      : pino.destination(2),
  );
}

export async function serve(options: ServeOptions): Promise<void> {
  const logger = makeLogger(options.logLevel);
  const mode = storageMode(options);
  const tls = await tlsMaterial(options);
  const port = options.port ?? (tls ? 443 : 8080);
  const inflightBytes = Math.max(appendInflightBytesMin, parseSize(options.appendInflightBytes));
  const spec = options.initFile ? loadResourceSpec(options.initFile) : undefined;

  if (mode.kind === 's3') process.env.AWS_SDK_JS_NODE_VERSION_SUPPORT_WARNING_DISABLED ??= 'true';
  const flushIntervalMs = options.flushInterval === undefined ? undefined : parseDurationMs(options.flushInterval);
  const log = await openStreamLog(mode.kind === 'local' ? { kind: 'local', root: mode.root } : mode, {
    flushIntervalMs,
    logger: (event, fields) => logger.info(fields, `storage: ${event}`),
  });
  logger.info(log.stats(), 'storage recovered');
  if (mode.kind !== 'memory') await new Promise((resolve) => setTimeout(resolve, takeoverSettleMs));
  const engine = new Engine(log, {
    logEvent: (event, fields) => logger.info(fields, event),
    appendInflightBytes: inflightBytes,
  });
  if (spec) await applySpec(engine, spec, logger);
  engine.start();

  const server = new S2Server({ engine, host: options.host, port, tls, cors: options.cors, logger });
  // Handlers go in before the listening line is printed: a supervisor may signal as soon as it sees it.
  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    // Stop accepting, let sequenced appends become durable and be acknowledged, end sessions
    // cleanly, then wait (up to the grace period) for connections to finish.
    const closing = server.close(shutdownGraceMs);
    await engine.drain();
    await closing;
    await engine.close();
    logger.info('stopped');
    logger.flush?.();
    process.exit(0);
  };
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  await server.start();
  const scheme = tls ? 'https' : 'http';
  const shownHost = options.host === '0.0.0.0' || options.host === '::' ? 'localhost' : options.host;
  const endpoint = `${scheme}://${shownHost}:${server.port}`;
  logger.info({ endpoint, storage: mode.kind, appendInflightBytes: inflightBytes, cors: options.cors }, 'listening');
  process.stdout.write(
    `s2-lite listening on ${endpoint}\n` +
      `storage: ${describeStorage(mode)}\n` +
      `Point the S2 CLI and SDKs at it with:\n` +
      `export S2_ACCOUNT_ENDPOINT=${endpoint} S2_BASIN_ENDPOINT=${endpoint} S2_ACCESS_TOKEN=ignored` +
      (options.tlsSelf ? ' S2_SSL_NO_VERIFY=1' : '') +
      '\n',
  );
}
