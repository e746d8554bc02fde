/**
 * `S2Lite.reset()` on local disk or S3: deletes the stream log's objects so the next open starts
 * an empty store. Called only after the log was closed (one writer per store).
 *
 * It deletes only objects under the log's own prefixes (docs/formats.md "Object names"), and
 * refuses before deleting anything if the directory or bucket prefix holds any other key: a
 * reset must never remove data s2-lite did not write.
 */
import { openObjectStore, type ObjectStoreConfig } from '../objectstore/index.js';
import { chunkPrefix, manifestPrefix, segmentPrefix, snapshotPrefix } from '../storage/names.js';

const logPrefixes = [chunkPrefix, manifestPrefix, segmentPrefix, snapshotPrefix];
const pageSize = 1000;

export async function wipeStore(config: ObjectStoreConfig): Promise<void> {
  const store = await openObjectStore(config);
  try {
    const keys: string[] = [];
    for (let page = await store.list('', { limit: pageSize }); page.length > 0; ) {
      keys.push(...page.map((object) => object.key));
      page = await store.list('', { startAfter: page[page.length - 1]!.key, limit: pageSize });
    }
    const foreign = keys.find((key) => !logPrefixes.some((prefix) => key.startsWith(prefix)));
    if (foreign !== undefined) {
      throw new Error(`s2-lite: reset refused: ${store.describe()} holds \`${foreign}\`, which s2-lite did not write`);
    }
    for (let i = 0; i < keys.length; i += pageSize) await store.delete(keys.slice(i, i + pageSize));
  } finally {
    await store.close?.();
  }
}
