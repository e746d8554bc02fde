/**
 * `S2Lite.reset()` on local disk or S3: deletes the stream log's objects so the next open starts
 * an empty store.
 *
 * Only objects under the log's own prefixes (docs/formats.md "Object names") are deleted, and a
 * reset is refused, before anything is retired or deleted, if the directory or bucket prefix
 * holds any other key: a reset must never remove data s2-lite did not write. On local disk the
 * root also holds the write-ahead log (`wal/`, deleted with the rest) and the root lock (`lock/`,
 * left alone: the next open takes it again); neither is an object, so they are not listed as such.
 */
import { readdir, rm } from 'node:fs/promises';
import path from 'node:path';
import { openObjectStore, type ObjectStore, type ObjectStoreConfig } from '../objectstore/index.js';
import { TEMP_MARKER } from '../objectstore/keys.js';
import { chunkPrefix, fencePrefix, manifestPrefix, segmentPrefix, snapshotPrefix } from '../storage/names.js';

const logPrefixes = [chunkPrefix, fencePrefix, manifestPrefix, segmentPrefix, snapshotPrefix];
/** Directories of a local root that are not objects: the write-ahead log and the root lock. */
const walDir = 'wal';
const lockDir = 'lock';
const pageSize = 1000;

async function withStore(config: ObjectStoreConfig, use: (store: ObjectStore) => Promise<void>): Promise<void> {
  const store = await openObjectStore(config);
  try {
    await use(store);
  } finally {
    await store.close?.();
  }
}

async function listAll(store: ObjectStore, prefix: string): Promise<string[]> {
  const keys: string[] = [];
  for (let page = await store.list(prefix, { limit: pageSize }); page.length > 0;) {
    keys.push(...page.map((object) => object.key));
    page = await store.list(prefix, { startAfter: page[page.length - 1]!.key, limit: pageSize });
  }
  return keys;
}

/** Keys the store holds, except the log's own directories of a local root that are not objects. */
async function allKeys(config: ObjectStoreConfig, store: ObjectStore): Promise<string[]> {
  if (config.kind !== 'local') return listAll(store, '');
  const keys: string[] = [];
  for (const entry of await readdir(path.resolve(config.root), { withFileTypes: true })) {
    if (entry.name.startsWith(TEMP_MARKER)) continue;
    if (entry.isDirectory() && (entry.name === walDir || entry.name === lockDir)) continue;
    if (entry.isDirectory()) keys.push(...(await listAll(store, `${entry.name}/`)));
    else keys.push(entry.name);
  }
  return keys;
}

/** Throws if the store holds a key outside the log's prefixes. */
export function refuseForeignObjects(config: ObjectStoreConfig): Promise<void> {
  return withStore(config, async (store) => {
    const foreign = (await allKeys(config, store)).find((key) => !logPrefixes.some((prefix) => key.startsWith(prefix)));
    if (foreign !== undefined) {
      throw new Error(`s2-lite: reset refused: ${store.describe()} holds \`${foreign}\`, which s2-lite did not write`);
    }
  });
}

/** Deletes every object of the log, and its write-ahead log. Call only after the log was closed. */
export function deleteLogObjects(config: ObjectStoreConfig): Promise<void> {
  return withStore(config, async (store) => {
    if (config.kind === 'local') await rm(path.join(path.resolve(config.root), walDir), { recursive: true, force: true });
    for (const prefix of logPrefixes) {
      const keys = await listAll(store, prefix);
      for (let i = 0; i < keys.length; i += pageSize) await store.delete(keys.slice(i, i + pageSize));
    }
  });
}
