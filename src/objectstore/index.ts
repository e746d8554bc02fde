/**
 * Opens the object store the server was configured with and checks at startup that it is usable,
 * so misconfiguration fails fast with a clear message. Stores make one attempt per call: the
 * stream log retries (storage/store-ops.ts), because it alone knows what a failure means.
 */
import { systemClock, type Clock } from '../util/clock.js';
import { systemRand, type Rand } from '../util/rand.js';
import { LocalFsObjectStore } from './local-fs.js';
import { MemoryObjectStore } from './memory.js';
import { S3ObjectStore, s3OptionsFromEnv, type S3ObjectStoreOptions } from './s3.js';
import type { ObjectStore } from './types.js';
import { InstrumentedObjectStore, type ObjectStoreObserver } from './instrumented.js';

export type ObjectStoreConfig =
  | { kind: 'memory' }
  | { kind: 'local'; root: string }
  | {
      kind: 's3';
      bucket: string;
      prefix?: string;
      /** Overrides of what the AWS environment variables give (endpoint, credentials, timeouts...). */
      s3?: Partial<Omit<S3ObjectStoreOptions, 'bucket' | 'prefix'>>;
    };

export interface OpenObjectStoreOptions {
  clock?: Clock;
  rand?: Rand;
  /** Environment for the S3 settings; default process.env. */
  env?: NodeJS.ProcessEnv;
  /** Sees every request the backend makes (each retry of the stream log is one more). */
  observer?: ObjectStoreObserver;
}

export async function openObjectStore(
  config: ObjectStoreConfig,
  options: OpenObjectStoreOptions = {},
): Promise<ObjectStore> {
  const clock = options.clock ?? systemClock;
  const rand = options.rand ?? systemRand;
  const observed = (inner: ObjectStore) =>
    options.observer ? new InstrumentedObjectStore(inner, options.observer, clock) : inner;
  switch (config.kind) {
    case 'memory':
      return observed(new MemoryObjectStore());
    case 'local': {
      const store = new LocalFsObjectStore(config.root, { rand });
      try {
        await store.init();
      } catch (error) {
        throw new Error(`local root ${store.root} is not usable: ${(error as Error).message}`, { cause: error });
      }
      return observed(store);
    }
    case 's3': {
      const store = new S3ObjectStore({
        ...s3OptionsFromEnv(config.bucket, config.prefix ?? '', options.env),
        ...config.s3,
        clock,
      });
      try {
        await store.checkAccess();
      } catch (error) {
        await store.close();
        throw new Error(`cannot use ${store.describe()}: ${(error as Error).message}`, { cause: error });
      }
      return observed(store);
    }
  }
}

export { FaultyObjectStore, type Fault, type FaultMode, type FaultRule } from './faulty.js';
export {
  InstrumentedObjectStore,
  type ObjectStoreObserver,
  type ObjectStoreRequest,
  type RequestOutcome,
} from './instrumented.js';
export { createLocalRoot, LocalFsObjectStore } from './local-fs.js';
export { MemoryObjectStore, compareKeys } from './memory.js';
export { S3ObjectStore, s3OptionsFromEnv, type S3ObjectStoreOptions } from './s3.js';
export * from './types.js';
