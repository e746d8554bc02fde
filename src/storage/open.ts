/**
 * Opens the stream log for a storage mode: the same chunk log engine for every mode, over the
 * in-memory, local-filesystem or S3 object store. Object-store requests are reported to metrics.
 *
 * Where commits go differs (options.ts `Journal`): chunk objects on S3; the write-ahead log in
 * `<root>/wal` on local disk, behind the root lock (`<root>/lock`), which is taken before anything
 * is written to the root and released when the log closes; nowhere in memory mode (the store
 * dies with the process, so a chunk object would never be read).
 */
import { metrics } from '../metrics.js';
import { createLocalRoot, openObjectStore, type ObjectStoreConfig } from '../objectstore/index.js';
import type { Clock } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import { ChunkLog } from './chunk-log.js';
import type { ChunkLogOptions, Journal } from './options.js';
import type { Logger } from './state.js';
import { RootLock } from './wal/index.js';
import type { WalTuning } from './wal-open.js';
import path from 'node:path';

/** S3 flushes at most this often under load by default, to bound PUT cost (flush-budget.ts). */
export const s3FlushIntervalMsDefault = 50;

export interface OpenStreamLogOptions {
  /** One flush per this many ms under load (the flush budget); default 0 for memory and local disk, 50 ms for S3. */
  flushIntervalMs?: number;
  /** Sizes of the write-ahead log (local disk; tests use small files). */
  wal?: WalTuning;
  logger?: Logger;
  clock?: Clock;
  rand?: Rand;
  /** Further tuning of the chunk log (tests use small checkpoint thresholds). */
  chunkLog?: ChunkLogOptions;
}

export async function openStreamLog(config: ObjectStoreConfig, options: OpenStreamLogOptions = {}): Promise<ChunkLog> {
  if (config.kind !== 'local') return openOn(config, options);
  const lock = await RootLock.acquire(await createLocalRoot(config.root));
  try {
    const release = () => lock.release();
    return await openOn(config, options, { kind: 'wal', dir: path.join(lock.root, 'wal'), tuning: options.wal, release });
  } catch (error) {
    await lock.release().catch(() => undefined);
    throw error;
  }
}

async function openOn(config: ObjectStoreConfig, options: OpenStreamLogOptions, journal?: Journal): Promise<ChunkLog> {
  const store = await openObjectStore(config, {
    clock: options.clock,
    rand: options.rand,
    observer: {
      onRequest({ op, outcome, seconds }) {
        metrics.objectStoreRequests.inc({ op, outcome });
        metrics.objectStoreRequestDuration.observe({ op }, seconds);
      },
    },
  });
  const flushIntervalMs = options.flushIntervalMs ?? (config.kind === 's3' ? s3FlushIntervalMsDefault : 0);
  const log = await ChunkLog.open(store, {
    journal: journal ?? (config.kind === 'memory' ? { kind: 'memory' } : { kind: 'objects' }),
    ...options.chunkLog,
    clock: options.clock,
    rand: options.rand,
    logger: options.logger,
    flushIntervalMs,
  });
  return log;
}
