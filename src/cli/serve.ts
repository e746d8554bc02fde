/**
 * `s2-lite serve`: the command-line face of `S2Lite` (src/lite/lite.ts), which does the work.
 * This file adds what only a process needs: a log on stderr (pretty on a terminal), the lines
 * telling the user where the server is, and SIGINT/SIGTERM handling. Loaded only when `serve`
 * runs (main.ts): it pulls in the whole server, which client commands do not need.
 */
import pino, { type Logger } from 'pino';
import { S2Lite } from '../lite/lite.js';
import { checkLogLevel, describeStorage, loggerRedaction, type LogLevel, type S2LiteOptions } from '../lite/options.js';
import type { ServeOptions } from './serve-options.js';

export function makeLogger(level: LogLevel): Logger {
  const pretty = process.stderr.isTTY;
  return pino(
    { level, redact: loggerRedaction },
    pretty
      ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true } })
      : pino.destination(2),
  );
}

export async function serve(options: ServeOptions): Promise<void> {
  const logger = makeLogger(checkLogLevel(options.logLevel, 'cli'));
  const tls = options.tlsSelf || Boolean(options.tlsCert);
  const liteOptions: S2LiteOptions = {
    ...options,
    console: options.console !== false,
    port: options.port ?? (tls ? 443 : 8080),
    logger,
  };
  const lite = await S2Lite.startWith(liteOptions, 'cli');

  let stopping = false;
  const stop = async (signal: string) => {
    if (stopping) {
      logger.warn({ signal }, 'second signal: exiting now');
      process.exit(1);
    }
    stopping = true;
    logger.info({ signal }, 'shutting down');
    await lite.stop();
    logger.flush?.();
    process.exit(0);
  };
  // Handlers go in before the listening line is printed: a supervisor may signal as soon as it sees it.
  process.on('SIGINT', () => void stop('SIGINT'));
  process.on('SIGTERM', () => void stop('SIGTERM'));
  const exports = Object.entries(lite.env).map(([name, value]) => `${name}=${value}`);
  process.stdout.write(
    `s2-lite listening on ${lite.endpoint}\n` +
      `storage: ${describeStorage(lite.storage)}\n` +
      (lite.console ? `console: ${lite.endpoint}/\n` : '') +
      `Point the S2 CLI and SDKs at it with:\n` +
      `export ${exports.join(' ')}\n`,
  );
}
