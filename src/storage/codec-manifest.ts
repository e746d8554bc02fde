/**
 * Manifest objects (`manifest/<id>`) and metadata snapshots (`snapshot/<...>`).
 *
 * A manifest is a framed object whose fixed fields say who wrote it (writer epoch), its id, and
 * how far the chunk log is folded into it (last applied chunk id and that chunk's epoch). Its
 * body is JSON: either the metadata snapshot inline, or a reference to a snapshot object when
 * the snapshot is large (so an epoch bump at startup does not rewrite it). u64 timestamps are
 * decimal strings in JSON. Layout and versioning rules: docs/formats.md.
 */
import type { BasinMeta } from '../domain/types.js';
import { ByteReader, ByteWriter, CorruptDataError, utf8 } from './binary.js';
import { arr, int, obj, parseJson, str, u64 } from './codec-json.js';
import { persistBasinMeta, persistStreamMeta, readBasinMeta, readStreamMeta } from './codec-meta.js';
import type { SegmentSummary } from './codec-segment.js';
import { decodeFrame, encodeFrame } from './framing.js';
import type { DurableStream } from './types.js';

export const manifestMagic = 'S2LM';
export const snapshotMagic = 'S2LN';
export const manifestFormatVersion = 1;
export const snapshotFormatVersion = 1;

export interface SegmentRef extends SegmentSummary {
  key: string;
}

export interface StreamSnapshot extends DurableStream {
  /** Ascending by seq_num, non-overlapping. */
  segments: SegmentRef[];
}

export interface Snapshot {
  basins: Map<string, BasinMeta>;
  streams: StreamSnapshot[];
}

export interface SnapshotRef {
  key: string;
  /** Manifest id and epoch the snapshot object was written for (cross-checked when loading). */
  manifestId: number;
  epoch: number;
}

export interface ManifestHeader {
  epoch: number;
  manifestId: number;
  /** Chunks with ids <= this are folded into the snapshot and segments; 0 = none. */
  lastAppliedChunkId: number;
  /** Writer epoch of that chunk: replay treats later chunks of lower epochs as zombies. */
  lastAppliedChunkEpoch: number;
}

export interface Manifest extends ManifestHeader {
  snapshot: { inline: Snapshot } | { ref: SnapshotRef };
}

const manifestSpec = { magic: manifestMagic, versions: [manifestFormatVersion] };
const snapshotSpec = { magic: snapshotMagic, versions: [snapshotFormatVersion] };

export function emptySnapshot(): Snapshot {
  return { basins: new Map(), streams: [] };
}

/** The snapshot as JSON bytes; the caller decides whether it goes inline or into its own object. */
export function snapshotJson(snapshot: Snapshot): Uint8Array {
  const json = {
    basins: [...snapshot.basins].map(([name, meta]) => ({ name, meta: persistBasinMeta(meta) })),
    streams: snapshot.streams.map((s) => ({
      ...s,
      meta: persistStreamMeta(s.meta),
      tail: { seqNum: s.tail.seqNum, timestamp: s.tail.timestamp.toString() },
      segments: s.segments.map((g) => ({
        ...g,
        firstTimestamp: g.firstTimestamp.toString(),
        lastTimestamp: g.lastTimestamp.toString(),
      })),
    })),
  };
  return utf8(JSON.stringify(json));
}

export function encodeManifest(
  header: ManifestHeader,
  snapshot: { json: Uint8Array } | { ref: SnapshotRef },
  compressMinBytes: number,
): Uint8Array {
  const body =
    'json' in snapshot
      ? Buffer.concat([utf8('{"snapshot":'), snapshot.json, utf8('}')])
      : utf8(JSON.stringify({ snapshotRef: snapshot.ref }));
  return encodeFrame(
    { magic: manifestMagic, version: manifestFormatVersion, compressMinBytes },
    (w) => writeManifestHeader(w, header),
    body,
  );
}

function writeManifestHeader(writer: ByteWriter, header: ManifestHeader): void {
  writer.u64(header.epoch).u64(header.manifestId).u64(header.lastAppliedChunkId).u64(header.lastAppliedChunkEpoch);
}

function readManifestHeader(reader: ByteReader): ManifestHeader {
  return {
    epoch: reader.u64(),
    manifestId: reader.u64(),
    lastAppliedChunkId: reader.u64(),
    lastAppliedChunkEpoch: reader.u64(),
  };
}

export function decodeManifest(data: Uint8Array, expectedId: number): Manifest {
  const what = `manifest ${expectedId}`;
  const frame = decodeFrame(data, { ...manifestSpec, what }, readManifestHeader);
  if (frame.fields.manifestId !== expectedId) {
    throw new CorruptDataError(`${what}: header says manifest ${frame.fields.manifestId}`);
  }
  const body = obj(parseBody(frame.body, what), what);
  if (body.snapshot !== undefined) return { ...frame.fields, snapshot: { inline: readSnapshot(body.snapshot, what) } };
  const ref = body.snapshotRef as Record<string, unknown> | undefined;
  if (!ref || typeof ref.key !== 'string') throw new CorruptDataError(`${what}: no snapshot`);
  return {
    ...frame.fields,
    snapshot: { ref: { key: ref.key, manifestId: int(ref.manifestId, what), epoch: int(ref.epoch, what) } },
  };
}

export function encodeSnapshotObject(ref: SnapshotRef, json: Uint8Array, compressMinBytes: number): Uint8Array {
  return encodeFrame(
    { magic: snapshotMagic, version: snapshotFormatVersion, compressMinBytes },
    (w) => w.u64(ref.manifestId).u64(ref.epoch),
    json,
  );
}

export function decodeSnapshotObject(data: Uint8Array, ref: SnapshotRef): Snapshot {
  const what = `snapshot ${ref.key}`;
  const frame = decodeFrame(data, { ...snapshotSpec, what }, (r) => ({ manifestId: r.u64(), epoch: r.u64() }));
  if (frame.fields.manifestId !== ref.manifestId || frame.fields.epoch !== ref.epoch) {
    throw new CorruptDataError(`${what}: does not match its manifest reference`);
  }
  return readSnapshot(parseBody(frame.body, what), what);
}

function parseBody(body: Uint8Array, what: string): unknown {
  return parseJson(Buffer.from(body).toString('utf8'), `${what} body`);
}

function readSnapshot(value: unknown, what: string): Snapshot {
  const json = obj(value, what);
  const basins = new Map<string, BasinMeta>();
  for (const entry of arr(json.basins, `${what} basins`)) {
    const basin = obj(entry, `${what} basin`);
    basins.set(str(basin.name, `${what} basin name`), readBasinMeta(basin.meta, `${what} basin meta`));
  }
  const streams = arr(json.streams, `${what} streams`).map((entry) => readStream(obj(entry, `${what} stream`), what));
  return { basins, streams };
}

function readStream(s: Record<string, unknown>, what: string): StreamSnapshot {
  const tail = obj(s.tail, `${what} stream tail`);
  return {
    id: str(s.id, `${what} stream id`),
    basin: str(s.basin, `${what} stream basin`),
    name: str(s.name, `${what} stream name`),
    meta: readStreamMeta(s.meta, `${what} stream meta`),
    tail: { seqNum: int(tail.seqNum, what), timestamp: u64(tail.timestamp, what) },
    fencingToken: str(s.fencingToken, `${what} fencing token`),
    trimPoint: int(s.trimPoint, `${what} trim point`),
    lastWriteMs: int(s.lastWriteMs, `${what} last write`),
    segments: arr(s.segments, `${what} segments`).map((g) => readSegmentRef(obj(g, `${what} segment`), what)),
  };
}

function readSegmentRef(g: Record<string, unknown>, what: string): SegmentRef {
  return {
    key: str(g.key, `${what} segment key`),
    firstSeqNum: int(g.firstSeqNum, what),
    lastSeqNum: int(g.lastSeqNum, what),
    firstTimestamp: u64(g.firstTimestamp, what),
    lastTimestamp: u64(g.lastTimestamp, what),
    recordCount: int(g.recordCount, what),
    size: int(g.size, what),
    footerOffset: int(g.footerOffset, what),
    maxExpiresAtMs: g.maxExpiresAtMs === null ? null : int(g.maxExpiresAtMs, what),
  };
}
