/**
 * The flags of `s2-lite serve` as commander hands them over, and their defaults. Apart from
 * serve.ts so that the command line can be built without loading the server; checking them and
 * choosing the storage mode is `S2Lite`'s job (src/lite/options.ts).
 */
import { appendInflightBytesDefault } from '../limits.js';
import type { LogLevel } from '../lite/options.js';

/** What commander hands over: the flags, named as in `S2LiteOptions`. */
export interface ServeOptions {
  host: string;
  port?: number;
  localRoot?: string;
  bucket?: string;
  path: string;
  tlsSelf: boolean;
  tlsCert?: string;
  tlsKey?: string;
  cors: boolean;
  /** Serve the web console at `/` (off with `--no-console`); absent means on. */
  console?: boolean;
  initFile?: string;
  appendInflightBytes: string;
  flushInterval?: string;
  logLevel: LogLevel;
  /** Access tokens (docs/security.md); the root token may also come from `S2LITE_ROOT_TOKEN`. */
  auth?: boolean;
  rootTokenFile?: string;
  rotateRootToken?: boolean;
  metricsAuth?: boolean;
}

/** The environment variable that may hold the root token (never a flag: flags show in `ps`). */
export const rootTokenEnv = 'S2LITE_ROOT_TOKEN';

export const serveDefaults = { appendInflightBytes: `${appendInflightBytesDefault / (1024 * 1024)}MiB` };
