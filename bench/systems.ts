/**
 * The systems under test: our server in each storage mode and the peers a user would otherwise pick,
 * with what each one's acknowledgement means (the report prints it next to the numbers).
 */
import { execFileSync } from 'node:child_process';
import path from 'node:path';
import { startDurableStreams } from './peers/durable-streams.js';
import { startNats } from './peers/nats.js';
import { startTrivial } from './peers/node-http-trivial.js';
import { startRedis } from './peers/redis.js';
import { startOurs, type OurServer, type S3Settings } from './ours/server.js';
import type { ServerHandle } from './lib/types.js';

export interface SystemContext {
  dataDir: string;
  logDir: string;
  basin: string;
  s3?: S3Settings;
}

export interface SystemDef {
  id: string;
  label: string;
  ours: boolean;
  /** What an ack means, in a few words. */
  ack: string;
  /** Data survives a process kill (W9 applies). */
  persistent: boolean;
  /** Needs a binary on PATH (peers installed from Debian). */
  binary?: string;
  /**
   * A ceiling rather than a store (the trivial node:http server): it runs only these workloads, as
   * writes alone (no live reader, no catch-up), and every other cell says why it did not run.
   */
  ceilingOf?: string[];
  /** Runs only these workloads (W9 follows W8); every other cell says so. */
  onlyWorkloads?: string[];
  start(ctx: SystemContext): Promise<ServerHandle | OurServer>;
}

export const systems: SystemDef[] = [
  {
    id: 'ours-memory',
    label: 's2-lite memory',
    ours: true,
    ack: 'in memory',
    persistent: false,
    start: (c) => startOurs('memory', c),
  },
  {
    id: 'ours-local',
    label: 's2-lite local',
    ours: true,
    ack: 'fsync before ack (--local-root)',
    persistent: true,
    start: (c) => startOurs('local', c),
  },
  // The cost of encryption at rest (issue 16): the local-disk server with a cipher on every stream.
  {
    id: 'ours-local-aegis',
    label: 's2-lite local aegis-256',
    ours: true,
    ack: 'fsync before ack (--local-root); records sealed with AEGIS-256',
    persistent: true,
    onlyWorkloads: ['W5', 'W5/large', 'W8', 'W8/64k'],
    start: (c) => startOurs('local', c, 'aegis-256'),
  },
  {
    id: 'ours-local-aes',
    label: 's2-lite local aes-256-gcm',
    ours: true,
    ack: 'fsync before ack (--local-root); records sealed with AES-256-GCM',
    persistent: true,
    onlyWorkloads: ['W5', 'W5/large', 'W8', 'W8/64k'],
    start: (c) => startOurs('local', c, 'aes-256-gcm'),
  },
  {
    id: 'ours-s3',
    label: 's2-lite s3',
    ours: true,
    ack: 'S3 PUT before ack (--bucket, radosgw)',
    persistent: true,
    start: (c) => startOurs('s3', c),
  },
  {
    id: 'redis-always',
    label: 'Redis AOF always',
    ours: false,
    ack: 'fsync before ack (group commit)',
    persistent: true,
    binary: 'redis-server',
    start: (c) => startRedis('always', c.dataDir, c.logDir),
  },
  {
    id: 'redis-everysec',
    label: 'Redis AOF everysec',
    ours: false,
    ack: 'written to the OS; fsync every second',
    persistent: true,
    binary: 'redis-server',
    start: (c) => startRedis('everysec', c.dataDir, c.logDir),
  },
  {
    id: 'nats-file',
    label: 'NATS JetStream file',
    ours: false,
    ack: 'written to the OS (2.9: no per-write fsync)',
    persistent: true,
    binary: 'nats-server',
    start: (c) => startNats(c.dataDir, c.logDir),
  },
  {
    id: 'ds-file',
    label: 'durable-streams file',
    ours: false,
    ack: 'fdatasync + LMDB commit per append',
    persistent: true,
    start: (c) => startDurableStreams(c.dataDir, c.logDir),
  },
  {
    id: 'ds-memory',
    label: 'durable-streams memory',
    ours: false,
    ack: 'in memory',
    persistent: false,
    start: (c) => startDurableStreams(undefined, c.logDir),
  },
  {
    id: 'node-http-trivial',
    label: 'node:http trivial',
    ours: false,
    ack: 'nothing stored: a fixed answer per POST (the unary HTTP/1.1 ceiling)',
    persistent: false,
    ceilingOf: ['W3', 'W4'],
    start: (c) => startTrivial(c.logDir),
  },
];

export function systemById(id: string): SystemDef {
  const s = systems.find((x) => x.id === id);
  if (!s) throw new Error(`unknown system ${id}; known: ${systems.map((x) => x.id).join(', ')}`);
  return s;
}

export function binaryVersion(binary: string): string | undefined {
  try {
    return execFileSync(binary, ['--version'], { encoding: 'utf8', timeout: 5000 }).trim().split('\n')[0];
  } catch {
    return undefined;
  }
}

export function dataDirFor(root: string, id: string, rep: number): string {
  return path.join(root, `${id}-r${rep}`);
}
