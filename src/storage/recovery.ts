/**
 * Opening the log (docs/formats.md "Recovery and fencing"):
 *
 * 1. Take the next writer epoch: read the latest manifest and create manifest id+1 with
 *    epoch+1 (create-if-absent; if another opener got there first, start over).
 * 2. Rebuild the state from that manifest's snapshot.
 * 3. Walk the chunks after the manifest's last applied chunk, in id order. A chunk is applied
 *    iff its epoch is not below the epoch of the last applied chunk (else a zombie wrote it
 *    after being fenced) and it names the last applied chunk as its predecessor (else it is an
 *    orphan of a broken chain: it followed a chunk that never became durable).
 * 4. At the first missing id, write an empty fence chunk (create-if-absent). A writer still
 *    trying to fill that id now fails and learns it is fenced. If the id was filled meanwhile,
 *    judge that chunk like the others and try the next id.
 *
 * A superseded writer's next chunk id is always the id of the fence chunk that superseded it, and
 * it may try that id at any later time (a paused process, a put retried after a 409). So the fence
 * chunk must outlive the checkpoint that folds it: a `fence/<id>` marker, written before the fence
 * chunk, tells GC to keep it (gc.ts). Without it, GC deleted the fence and the zombie's retried
 * put then succeeded: an acknowledged record no reader would ever see (simulation seed 655).
 */
import { isNotFound } from '../objectstore/types.js';
import { assert } from '../util/assert.js';
import { decodeChunk, decodeChunkHeader, encodeChunk } from './codec-chunk.js';
import { emptySnapshot, type ManifestHeader, type SnapshotRef } from './codec-manifest.js';
import { CorruptDataError, FencedError } from './errors.js';
import { listManifestIds, loadManifest, writeManifest, type ManifestIo } from './manifest-io.js';
import { chunkKey, chunkPrefix, fenceKey, newPutId, parseNumberedKey } from './names.js';
import { LogState, type Logger } from './state.js';
import { putIfAbsent, withRetry } from './store-ops.js';

export interface Opened {
  epoch: number;
  /** The manifest this writer created at open (the epoch bump). */
  manifest: ManifestHeader;
  snapshotRef: SnapshotRef | null;
  state: LogState;
  /** The fence chunk: the writer's chain continues after it. */
  fenceChunkId: number;
  /** Chunk ids seen during replay (applied, zombie, orphan, fence): GC may delete them once folded. */
  stats: { applied: number; zombies: number; orphans: number; ignoredAfterFence: number };
}

const bumpAttemptsMax = 20;

export async function openLog(io: ManifestIo, log: Logger): Promise<Opened> {
  const { header, ref, state } = await bumpEpoch(io, log);
  const stats = newStats();
  const fenceChunkId = await replayChunks(io, state, header.epoch, stats, log, { fence: true });
  return { epoch: header.epoch, manifest: header, snapshotRef: ref, state, fenceChunkId, stats };
}

export function newStats(): Opened['stats'] {
  return { applied: 0, zombies: 0, orphans: 0, ignoredAfterFence: 0 };
}

export async function bumpEpoch(io: ManifestIo, log: Logger) {
  for (let attempt = 0; attempt < bumpAttemptsMax; attempt++) {
    const ids = await listManifestIds(io);
    const latestId = ids.at(-1);
    const latest = latestId === undefined ? null : await loadManifest(io, latestId);
    if (latestId !== undefined && !latest) continue; // deleted under us by a newer writer's GC: re-list
    const previous = latest?.manifest;
    const header: ManifestHeader = {
      epoch: (previous?.epoch ?? 0) + 1,
      manifestId: (latestId ?? 0) + 1,
      lastAppliedChunkId: previous?.lastAppliedChunkId ?? 0,
      lastAppliedChunkEpoch: previous?.lastAppliedChunkEpoch ?? 0,
    };
    const snapshot = latest?.snapshot ?? emptySnapshot();
    // Reuse a large snapshot object as is: the bump only changes the header.
    const content = previous && 'ref' in previous.snapshot ? { ref: previous.snapshot.ref } : { snapshot };
    const written = await writeManifest(io, header, content);
    if (written.outcome.kind === 'ok') {
      log('epoch-bumped', { epoch: header.epoch, manifestId: header.manifestId });
      const state = new LogState(snapshot, header.lastAppliedChunkId, header.lastAppliedChunkEpoch, log);
      return { header, ref: written.ref, state };
    }
    log('epoch-bump-raced', { manifestId: header.manifestId, attempt });
  }
  throw new FencedError(
    `could not create a manifest after ${bumpAttemptsMax} attempts: other writers keep opening the log`,
  );
}

async function listChunkIdsAfter(io: ManifestIo, afterId: number): Promise<number[]> {
  const objects = await withRetry('list chunks', io.store, io.policy, () =>
    io.store.list(chunkPrefix, { startAfter: chunkKey(afterId) }),
  );
  return objects.map((o) => parseNumberedKey(chunkPrefix, o.key)).filter((id): id is number => id !== null);
}

/** Replay reads chunks in order, but fetches a window of listed chunks ahead (latency-bound stores). */
const prefetchChunks = 16;

class ChunkFetcher {
  private readonly fetches = new Map<number, Promise<Uint8Array>>();
  private readonly positions: Map<number, number>;

  constructor(
    private readonly io: ManifestIo,
    /** Listed chunk ids, ascending. */
    readonly ids: number[],
  ) {
    this.positions = new Map(ids.map((id, i) => [id, i]));
  }

  has(id: number): boolean {
    return this.positions.has(id);
  }

  /** The chunk's bytes; also starts fetching the next listed chunks. */
  fetch(id: number): Promise<Uint8Array> {
    const from = this.positions.get(id)!;
    for (const next of this.ids.slice(from, from + prefetchChunks)) {
      if (this.fetches.has(next)) continue;
      const fetch = withRetry(`get chunk ${next}`, this.io.store, this.io.policy, () =>
        this.io.store.get(chunkKey(next)),
      );
      fetch.catch(() => {}); // awaited (and reported) when its turn comes, if ever
      this.fetches.set(next, fetch);
    }
    const fetch = this.fetches.get(id)!;
    this.fetches.delete(id);
    return fetch;
  }
}

/**
 * Replays the chunk objects after the state's last applied chunk (steps 3 and 4 above). With
 * `fence`, writes the fence chunk at the first missing id and returns its id; without (the
 * write-ahead log continues the chain, wal-open.ts), returns the last chunk applied.
 */
export async function replayChunks(
  io: ManifestIo,
  state: LogState,
  epoch: number,
  stats: Opened['stats'],
  log: Logger,
  options: { fence: boolean },
): Promise<number> {
  let chunks = new ChunkFetcher(io, await listChunkIdsAfter(io, state.appliedChunkId));
  for (let id = state.appliedChunkId + 1; ; id++) {
    if (!chunks.has(id)) {
      if (!options.fence) return state.appliedChunkId;
      const fence = encodeChunk({ epoch, chunkId: id, prevChunkId: state.appliedChunkId }, [], io.compressMinBytes);
      // The marker first: a fence chunk without one could be collected (a marker without a fence is harmless).
      await withRetry('put fence marker', io.store, io.policy, () => io.store.put(fenceKey(id), new Uint8Array(0)));
      const outcome = await putIfAbsent(io.store, chunkKey(id), fence, newPutId(epoch, io.rand), io.policy);
      if (outcome.kind === 'ok') {
        state.applyChunk(id, epoch, []);
        stats.ignoredAfterFence = chunks.ids.filter((other) => other > id).length;
        log('fenced-chunk-log', { fenceChunkId: id, epoch, ...stats });
        return id;
      }
      // Someone wrote this id since we listed: list again and judge the chunk now there.
      chunks = new ChunkFetcher(io, await listChunkIdsAfter(io, id - 1));
      assert(chunks.has(id), `chunk ${id} exists (create-if-absent failed) but is not listed`);
    }
    await replayChunk(chunks, state, epoch, id, stats, log);
  }
}

async function replayChunk(
  chunks: ChunkFetcher,
  state: LogState,
  epoch: number,
  id: number,
  stats: Opened['stats'],
  log: Logger,
): Promise<void> {
  let data: Uint8Array;
  try {
    data = await chunks.fetch(id);
  } catch (error) {
    // Only a writer that folded the chunk into a newer manifest deletes it.
    if (isNotFound(error)) throw new FencedError(`chunk ${id} vanished during recovery: a newer writer holds the log`);
    throw error;
  }
  const header = decodeChunkHeader(data, id);
  if (header.epoch > epoch) {
    throw new FencedError(`chunk ${id} was written by writer epoch ${header.epoch}, newer than ours (${epoch})`);
  }
  if (header.epoch === epoch)
    throw new CorruptDataError(`chunk ${id} claims our own epoch ${epoch} before we wrote it`);
  if (header.epoch < state.appliedChunkEpoch) {
    stats.zombies++;
    log('replay-skip-zombie', { chunkId: id, epoch: header.epoch, appliedEpoch: state.appliedChunkEpoch });
    return;
  }
  if (header.prevChunkId !== state.appliedChunkId) {
    stats.orphans++;
    log('replay-skip-orphan', { chunkId: id, prevChunkId: header.prevChunkId, appliedChunkId: state.appliedChunkId });
    return;
  }
  const chunk = decodeChunk(data, id);
  state.applyChunk(id, chunk.epoch, chunk.commits);
  stats.applied++;
}
