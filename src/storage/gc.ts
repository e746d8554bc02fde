/**
 * Garbage collection. Deletes only objects that nothing live can need:
 * - segments entirely below their stream's durable trim point, or whose every record has expired
 *   (retention is fixed at write time, so expiry never un-happens);
 * - all segments of streams whose deletion is durable;
 * - chunks folded into the current manifest (ids <= its last applied chunk), including zombie
 *   and orphan chunks below that id, except fence chunks (a `fence/` marker names them): a
 *   superseded writer may still try to write their id (recovery.ts);
 * - manifests older than the newest `manifestsKept`, and snapshot objects none of those reference;
 * - orphan segments (a checkpoint died before its manifest) from this or older epochs.
 * Segment references are dropped from memory before the objects are deleted, and reads check
 * the metadata, so a deleted object is never read back; a read that already held a reference
 * and finds the object gone treats its records as trimmed.
 */
import { metrics } from '../metrics.js';
import { isNotFound } from '../objectstore/types.js';
import type { Clock } from '../util/clock.js';
import type { CurrentManifest } from './checkpoint.js';
import { loadManifestHeader, listManifestIds, type ManifestIo } from './manifest-io.js';
import {
  chunkPrefix,
  epochOfKey,
  fencePrefix,
  manifestKey,
  parseNumberedKey,
  segmentPrefix,
  segmentStreamPrefix,
  snapshotPrefix,
} from './names.js';
import type { LogState, Logger } from './state.js';
import { withRetry } from './store-ops.js';

/** Keys per delete request (S3 DeleteObjects accepts up to 1000). */
const deleteBatchMax = 1000;

export interface GcContext {
  io: ManifestIo;
  clock: Clock;
  state: LogState;
  epoch: number;
  manifestsKept: number;
  log: Logger;
  /** Told which segments were deleted, so that it drops what it cached of them. */
  segments?: { forget(segmentKeys: readonly string[]): void };
}

export interface GcStats {
  segments: number;
  chunks: number;
  manifests: number;
  snapshots: number;
}

async function deleteKeys(ctx: GcContext, keys: string[]): Promise<void> {
  for (let i = 0; i < keys.length; i += deleteBatchMax) {
    const batch = keys.slice(i, i + deleteBatchMax);
    await withRetry('delete objects', ctx.io.store, ctx.io.policy, () => ctx.io.store.delete(batch));
    metrics.gcDeletedObjects.inc(batch.length);
  }
}

/** Drops references to dead segments from memory and deletes them and purged streams' objects. */
export async function collectSegments(ctx: GcContext): Promise<number> {
  const { state } = ctx;
  const nowMs = ctx.clock.nowMs();
  for (const stream of state.streams.values()) {
    const dead = stream.segments.filter(
      (s) => s.lastSeqNum < stream.trimPoint || (s.maxExpiresAtMs !== null && s.maxExpiresAtMs <= nowMs),
    );
    if (dead.length === 0) continue;
    stream.segments = stream.segments.filter((s) => !dead.includes(s));
    state.unreachableSegments.push(...dead.map((s) => s.key));
  }
  state.trimmedStreams.clear();
  const keys = state.unreachableSegments.splice(0);
  const purged = [...state.purgedStreams];
  state.purgedStreams.clear();
  try {
    // A purged stream may also have orphan segments (a checkpoint that raced the purge).
    for (const stream of purged) {
      const objects = await withRetry('list segments', ctx.io.store, ctx.io.policy, () =>
        ctx.io.store.list(segmentStreamPrefix(stream)),
      );
      keys.push(...objects.map((o) => o.key).filter((key) => !keys.includes(key)));
    }
    await deleteKeys(ctx, keys);
    if (keys.length > 0) ctx.segments?.forget(keys);
  } catch (error) {
    // Try again next time; nothing references these objects any more.
    state.unreachableSegments.push(...keys);
    for (const stream of purged) state.purgedStreams.add(stream);
    throw error;
  }
  if (keys.length > 0) ctx.log('gc-segments', { deleted: keys.length });
  return keys.length;
}

/** Deletes chunks folded into the current manifest, and manifests/snapshots beyond the kept few. */
export async function collectLogObjects(ctx: GcContext, current: CurrentManifest): Promise<Omit<GcStats, 'segments'>> {
  const folded = current.header.lastAppliedChunkId;
  const chunkObjects = await withRetry('list chunks', ctx.io.store, ctx.io.policy, () =>
    ctx.io.store.list(chunkPrefix),
  );
  const fences = await withRetry('list fences', ctx.io.store, ctx.io.policy, () => ctx.io.store.list(fencePrefix));
  const fenceIds = new Set(fences.map((o) => parseNumberedKey(fencePrefix, o.key)));
  const chunks = chunkObjects
    .map((o) => ({ key: o.key, id: parseNumberedKey(chunkPrefix, o.key) ?? Infinity }))
    .filter((o) => o.id <= folded && !fenceIds.has(o.id))
    .map((o) => o.key);
  await deleteKeys(ctx, chunks);

  const ids = (await listManifestIds(ctx.io)).filter((id) => id <= current.header.manifestId);
  const kept = ids.slice(-Math.max(1, ctx.manifestsKept));
  const oldManifests = ids.filter((id) => id < kept[0]);
  const snapshots = await collectSnapshots(ctx, kept, current);
  await deleteKeys(ctx, oldManifests.map(manifestKey));
  if (chunks.length + oldManifests.length + snapshots > 0) {
    ctx.log('gc-log-objects', { chunks: chunks.length, manifests: oldManifests.length, snapshots });
  }
  return { chunks: chunks.length, manifests: oldManifests.length, snapshots };
}

/** Snapshot objects referenced by no kept manifest and older than all of them. */
async function collectSnapshots(ctx: GcContext, kept: number[], current: CurrentManifest): Promise<number> {
  const objects = await withRetry('list snapshots', ctx.io.store, ctx.io.policy, () =>
    ctx.io.store.list(snapshotPrefix),
  );
  // The manifest id a snapshot was written for is in its name; newer ones may belong to a write in progress.
  const candidates = objects
    .map((o) => o.key)
    .filter((key) => {
      const id = Number(key.slice(snapshotPrefix.length, snapshotPrefix.length + 20));
      return Number.isSafeInteger(id) && id < kept[0];
    });
  if (candidates.length === 0) return 0;
  const referenced = new Set<string>();
  if (current.snapshotRef) referenced.add(current.snapshotRef.key);
  for (const id of kept) {
    try {
      const { ref } = await loadManifestHeader(ctx.io, id);
      if (ref) referenced.add(ref.key);
    } catch (error) {
      if (!isNotFound(error)) throw error;
    }
  }
  const dead = candidates.filter((key) => !referenced.has(key));
  await deleteKeys(ctx, dead);
  return dead.length;
}

/**
 * Deletes segment objects that no stream references and that this or an older writer epoch
 * wrote (leftovers of checkpoints that died before their manifest). Newer epochs' segments are
 * never touched: they belong to a writer that may have fenced us. Run once after open.
 */
export async function sweepOrphanSegments(ctx: GcContext): Promise<number> {
  const referenced = new Set<string>();
  for (const stream of ctx.state.streams.values()) for (const s of stream.segments) referenced.add(s.key);
  const objects = await withRetry('list segments', ctx.io.store, ctx.io.policy, () => ctx.io.store.list(segmentPrefix));
  const orphans = objects
    .map((o) => o.key)
    .filter((key) => !referenced.has(key) && (epochOfKey(key) ?? Infinity) <= ctx.epoch);
  await deleteKeys(ctx, orphans);
  if (orphans.length > 0) ctx.log('gc-orphan-segments', { deleted: orphans.length });
  return orphans.length;
}
