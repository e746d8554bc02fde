/**
 * The options of `s2-lite serve` and how they choose the storage mode. Apart from serve.ts so that
 * the command line can be built without loading the server.
 */
import { appendInflightBytesDefault } from '../limits.js';

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
  initFile?: string;
  appendInflightBytes: string;
  flushInterval?: string;
  logLevel: string;
}

export type StorageMode =
  { kind: 'memory' } | { kind: 'local'; root: string } | { kind: 's3'; bucket: string; prefix: string };

export function storageMode(options: ServeOptions): StorageMode {
  if (options.localRoot && options.bucket) throw new Error('--local-root and --bucket cannot be used together');
  if (options.bucket) return { kind: 's3', bucket: options.bucket, prefix: options.path };
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

export const serveDefaults = { appendInflightBytes: `${appendInflightBytesDefault / (1024 * 1024)}MiB` };
