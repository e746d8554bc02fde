/**
 * Reading and writing manifests (and the snapshot objects large manifests point to).
 */
import { isNotFound, type ObjectStore } from '../objectstore/types.js';
import type { Rand } from '../util/rand.js';
import {
  decodeManifest,
  decodeSnapshotObject,
  encodeManifest,
  encodeSnapshotObject,
  snapshotJson,
  type Manifest,
  type ManifestHeader,
  type Snapshot,
  type SnapshotRef,
} from './codec-manifest.js';
import { manifestKey, manifestPrefix, newPutId, parseNumberedKey, snapshotKey } from './names.js';
import { putIfAbsent, withRetry, type PutOutcome, type RetryPolicy } from './store-ops.js';

export interface ManifestIo {
  store: ObjectStore;
  policy: RetryPolicy;
  rand: Rand;
  compressMinBytes: number;
  /** Snapshots larger than this (JSON bytes) go to their own object. */
  manifestInlineBytesMax: number;
}

export interface LoadedManifest {
  manifest: Manifest;
  snapshot: Snapshot;
}

/** Ids of all manifests, ascending. */
export async function listManifestIds(io: ManifestIo): Promise<number[]> {
  const objects = await withRetry('list manifests', io.store, io.policy, () => io.store.list(manifestPrefix));
  return objects.map((o) => parseNumberedKey(manifestPrefix, o.key)).filter((id): id is number => id !== null);
}

/** Reads a manifest and its snapshot. Returns null if the manifest vanished (GC by a newer writer). */
export async function loadManifest(io: ManifestIo, id: number): Promise<LoadedManifest | null> {
  let data: Uint8Array;
  try {
    data = await withRetry(`get manifest ${id}`, io.store, io.policy, () => io.store.get(manifestKey(id)));
  } catch (error) {
    if (isNotFound(error)) return null;
    throw error;
  }
  const manifest = decodeManifest(data, id);
  if ('inline' in manifest.snapshot) return { manifest, snapshot: manifest.snapshot.inline };
  const ref = manifest.snapshot.ref;
  const bytes = await withRetry(`get snapshot ${ref.key}`, io.store, io.policy, () => io.store.get(ref.key));
  return { manifest, snapshot: decodeSnapshotObject(bytes, ref) };
}

/** Reads a manifest's fixed fields and snapshot reference, without loading a snapshot object. */
export async function loadManifestHeader(
  io: ManifestIo,
  id: number,
): Promise<{ header: ManifestHeader; ref: SnapshotRef | null }> {
  const data = await withRetry(`get manifest ${id}`, io.store, io.policy, () => io.store.get(manifestKey(id)));
  const { snapshot, ...header } = decodeManifest(data, id);
  return { header, ref: 'ref' in snapshot ? snapshot.ref : null };
}

export interface WrittenManifest {
  outcome: PutOutcome;
  /** The snapshot object the manifest references, if the snapshot is not inline. */
  ref: SnapshotRef | null;
}

/**
 * Creates manifest `header.manifestId` (create-if-absent). `content` is a snapshot to store (inline
 * or, when large, in a new snapshot object) or a reference to an existing snapshot object.
 * `onPutId` lets the caller recognise its own manifest while the put is in flight.
 */
export async function writeManifest(
  io: ManifestIo,
  header: ManifestHeader,
  content: { snapshot: Snapshot } | { ref: SnapshotRef },
  onPutId: (putId: string) => void = () => {},
): Promise<WrittenManifest> {
  let body: Uint8Array;
  let ref: SnapshotRef | null = null;
  if ('ref' in content) {
    ref = content.ref;
    body = encodeManifest(header, { ref }, io.compressMinBytes);
  } else {
    const json = snapshotJson(content.snapshot);
    if (json.length > io.manifestInlineBytesMax) {
      ref = {
        key: snapshotKey(header.manifestId, header.epoch, io.rand),
        manifestId: header.manifestId,
        epoch: header.epoch,
      };
      const object = encodeSnapshotObject(ref, json, io.compressMinBytes);
      const key = ref.key;
      // A fresh random key: a plain put is safe and idempotent under retries.
      await withRetry(`put snapshot ${key}`, io.store, io.policy, () => io.store.put(key, object));
      body = encodeManifest(header, { ref }, io.compressMinBytes);
    } else {
      body = encodeManifest(header, { json }, io.compressMinBytes);
    }
  }
  const putId = newPutId(header.epoch, io.rand);
  onPutId(putId);
  const outcome = await putIfAbsent(io.store, manifestKey(header.manifestId), body, putId, io.policy);
  return { outcome, ref };
}
