/**
 * `s2-lite serve`: the command-line face of `S2Lite` (src/lite/lite.ts), which does the work.
 * This file adds what only a process needs: a log on stderr (pretty on a terminal), the lines
 * telling the user where the server is, and SIGINT/SIGTERM handling. Loaded only when `serve`
 * runs (main.ts): it pulls in the whole server, which client commands do not need.
 */
import pino, { type Logger } from 'pino';
import { S2Lite } from '../lite/lite.js';
import { checkLogLevel, describeStorage, loggerRedaction, type LogLevel, type S2LiteOptions } from '../lite/options.js';
import { OptionError } from '../lite/options.js';
import { rootTokenEnv, type ServeOptions } from './serve-options.js';

export function makeLogger(level: LogLevel): Logger {
  const pretty = process.stderr.isTTY;
  return pino(
    { level, redact: loggerRedaction },
    pretty
      ? pino.transport({ target: 'pino-pretty', options: { destination: 2, colorize: true } })
      : pino.destination(2),
  );
}

/** The root token from the environment, if set; an error if set without `--auth` (it would be ignored). */
function rootTokenFromEnv(options: ServeOptions): string | undefined {
  const token = process.env[rootTokenEnv] || undefined;
  if (token === undefined) return undefined;
  if (!options.auth) throw new OptionError(`${rootTokenEnv} is set but --auth is not given`);
  if (options.rootTokenFile !== undefined)
    throw new OptionError(`${rootTokenEnv} and --root-token-file cannot be used together`);
  return token;
}

/**
 * The export line. The root token appears only when it was generated at this start (printed
 * once, here, and never logged); a given one is referred to by where it lives; one generated at
 * an earlier start is not known any more.
 */
function exportLine(lite: S2Lite, options: ServeOptions): string {
  const env: Record<string, string> = { ...lite.env };
  if (lite.rootTokenSource === 'given') {
    env.S2_ACCESS_TOKEN = options.rootTokenFile ? `"$(cat ${options.rootTokenFile})"` : `"$${rootTokenEnv}"`;
  }
  const line = `export ${Object.entries(env)
    .map(([name, value]) => `${name}=${value}`)
    .join(' ')}\n`;
  switch (lite.rootTokenSource) {
    case 'generated':
      return (
        `auth: on. A root token was generated and only its hash stored: this is the only time it is shown.\n` + line
      );
    case 'stored':
      return `auth: on; the root token is the one shown at the first start (new one: --rotate-root-token).\n${line}`;
    case 'given':
      return `auth: on; root token from ${options.rootTokenFile ?? rootTokenEnv}.\n${line}`;
    default:
      return line;
  }
}

export async function serve(options: ServeOptions): Promise<void> {
  const logger = makeLogger(checkLogLevel(options.logLevel, 'cli'));
  const tls = options.tlsSelf || Boolean(options.tlsCert);
  const rootToken = rootTokenFromEnv(options);
  const liteOptions: S2LiteOptions = {
    ...options,
    ...(rootToken !== undefined && { rootToken }),
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
  process.stdout.write(
    `s2-lite listening on ${lite.endpoint}\n` +
      `storage: ${describeStorage(lite.storage)}\n` +
      (lite.console ? `console: ${lite.endpoint}/\n` : '') +
      `Point the S2 CLI and SDKs at it with:\n` +
      exportLine(lite, options),
  );
}
