/**
 * Opens the stream log for a storage mode: the same chunk log engine for every mode, over the
 * in-memory, local-filesystem or S3 object store. Object-store requests are reported to metrics.
 */
import { metrics } from '../metrics.js';
import { openObjectStore, type ObjectStoreConfig } from '../objectstore/index.js';
import type { Clock } from '../util/clock.js';
import type { Rand } from '../util/rand.js';
import { ChunkLog } from './chunk-log.js';
import type { ChunkLogOptions } from './options.js';
import type { Logger } from './state.js';

/** S3 flushes at most this often by default, to bound PUT cost (design.md, storage engine 1). */
export const s3FlushIntervalMsDefault = 50;

export interface OpenStreamLogOptions {
  /** Minimum time between chunk flushes; default 0 for memory and local disk, 50 ms for S3. */
  flushIntervalMs?: number;
  logger?: Logger;
  clock?: Clock;
  rand?: Rand;
  /** Further tuning of the chunk log (tests use small checkpoint thresholds). */
  chunkLog?: ChunkLogOptions;
}

export async function openStreamLog(config: ObjectStoreConfig, options: OpenStreamLogOptions = {}): Promise<ChunkLog> {
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
    ...options.chunkLog,
    clock: options.clock,
    rand: options.rand,
    logger: options.logger,
    flushIntervalMs,
  });
  return log;
}
